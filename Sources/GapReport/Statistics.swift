import Foundation

/// Mean, sample standard deviation and a t-based 95% interval of one metric over the runs of one arm.
public struct SampleSummary: Equatable, Sendable {
    public var values: [Double]
    public var n: Int { values.count }
    public var mean: Double
    /// Sample standard deviation (n − 1 in the denominator); NaN for fewer than two values.
    public var std: Double
    /// 95% confidence interval of the mean, t-based with n − 1 degrees of freedom; nil for fewer than two values.
    public var interval: ClosedRange<Double>?

    public init(_ values: [Double]) {
        self.values = values
        mean = Statistics.mean(values)
        std = Statistics.sampleStandardDeviation(values)
        if values.count >= 2, std.isFinite {
            let half = StudentT.quantile(0.975, degreesOfFreedom: Double(values.count - 1)) * std / Double(values.count).squareRoot()
            interval = (mean - half)...(mean + half)
        } else {
            interval = nil
        }
    }
}

/// The outcome of comparing one arm with the baseline on one metric.
public struct TestResult: Equatable, Sendable {
    public enum Kind: String, Sendable { case welch, paired }
    public var kind: Kind
    public var t: Double
    public var degreesOfFreedom: Double
    /// Two-sided p-value.
    public var p: Double
}

public enum Statistics {
    public static func mean(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        return values.reduce(0, +) / Double(values.count)
    }

    public static func sampleStandardDeviation(_ values: [Double]) -> Double {
        guard values.count >= 2 else { return .nan }
        let m = mean(values)
        let squares = values.reduce(0) { $0 + ($1 - m) * ($1 - m) }
        return (squares / Double(values.count - 1)).squareRoot()
    }

    /// Welch's unequal-variance t-test of mean(a) − mean(b); nil when a side has fewer than two values or
    /// both sides have no spread (the statistic is undefined, not infinitely significant).
    public static func welch(_ a: [Double], _ b: [Double]) -> TestResult? {
        guard a.count >= 2, b.count >= 2 else { return nil }
        let va = pow(sampleStandardDeviation(a), 2) / Double(a.count)
        let vb = pow(sampleStandardDeviation(b), 2) / Double(b.count)
        let se2 = va + vb
        guard se2 > 0, se2.isFinite else { return nil }
        let t = (mean(a) - mean(b)) / se2.squareRoot()
        let df = se2 * se2 / (va * va / Double(a.count - 1) + vb * vb / Double(b.count - 1))
        return TestResult(kind: .welch, t: t, degreesOfFreedom: df, p: StudentT.twoSidedP(t, degreesOfFreedom: df))
    }

    /// Paired t-test of the differences a[i] − b[i] (same seed in both arms); nil below two pairs or without spread.
    public static func paired(_ a: [Double], _ b: [Double]) -> TestResult? {
        guard a.count == b.count, a.count >= 2 else { return nil }
        let differences = zip(a, b).map { $0 - $1 }
        let sd = sampleStandardDeviation(differences)
        guard sd > 0, sd.isFinite else { return nil }
        let n = Double(differences.count)
        let t = mean(differences) / (sd / n.squareRoot())
        return TestResult(kind: .paired, t: t, degreesOfFreedom: n - 1, p: StudentT.twoSidedP(t, degreesOfFreedom: n - 1))
    }

    /// Holm's step-down adjustment; nil entries (no test) stay nil and do not count as comparisons.
    public static func holm(_ pValues: [Double?]) -> [Double?] {
        let tested = pValues.enumerated().compactMap { index, p in p.map { (index, $0) } }
        let m = tested.count
        // Stable order by p, then by position, so ties adjust deterministically.
        let ordered = tested.sorted { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }
        var adjusted = [Double?](repeating: nil, count: pValues.count)
        var running = 0.0
        for (rank, (index, p)) in ordered.enumerated() {
            running = max(running, min(1, Double(m - rank) * p))
            adjusted[index] = running
        }
        return adjusted
    }
}
