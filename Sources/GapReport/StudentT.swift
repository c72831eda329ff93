import Foundation

/// Student's t distribution from the regularized incomplete beta function.
public enum StudentT {
    /// P(T ≤ t) with `degreesOfFreedom` ν > 0.
    public static func cdf(_ t: Double, degreesOfFreedom nu: Double) -> Double {
        if t.isNaN || nu.isNaN || nu <= 0 { return .nan }
        if t.isInfinite { return t > 0 ? 1 : 0 }
        // P(|T| > |t|) = I_{ν/(ν+t²)}(ν/2, 1/2).
        let tail = IncompleteBeta.regularized(x: nu / (nu + t * t), a: nu / 2, b: 0.5)
        return t >= 0 ? 1 - tail / 2 : tail / 2
    }

    /// Two-sided p-value P(|T| ≥ |t|).
    public static func twoSidedP(_ t: Double, degreesOfFreedom nu: Double) -> Double {
        if t.isNaN || nu.isNaN || nu <= 0 { return .nan }
        if t.isInfinite { return 0 }
        return min(1, IncompleteBeta.regularized(x: nu / (nu + t * t), a: nu / 2, b: 0.5))
    }

    /// The p-quantile, found by bisection on the CDF (monotone, so this always converges to full precision).
    public static func quantile(_ p: Double, degreesOfFreedom nu: Double) -> Double {
        if p.isNaN || nu.isNaN || nu <= 0 || p <= 0 || p >= 1 {
            if p == 0 { return -.infinity }
            if p == 1 { return .infinity }
            return .nan
        }
        if p == 0.5 { return 0 }
        if p < 0.5 { return -quantile(1 - p, degreesOfFreedom: nu) }
        var low = 0.0, high = 1.0
        while cdf(high, degreesOfFreedom: nu) < p { low = high; high *= 2 }
        for _ in 0..<200 {
            let middle = (low + high) / 2
            if middle == low || middle == high { break }
            if cdf(middle, degreesOfFreedom: nu) < p { low = middle } else { high = middle }
        }
        return (low + high) / 2
    }
}

/// I_x(a, b), the regularized incomplete beta function.
public enum IncompleteBeta {
    public static func regularized(x: Double, a: Double, b: Double) -> Double {
        if x.isNaN || a <= 0 || b <= 0 { return .nan }
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logFront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x)
        let front = exp(logFront)
        // The continued fraction converges fast only on this side of the mean; use the symmetry otherwise.
        if x < (a + 1) / (a + b + 2) {
            return front * continuedFraction(x: x, a: a, b: b) / a
        }
        return 1 - front * continuedFraction(x: 1 - x, a: b, b: a) / b
    }

    /// The continued fraction for I_x(a, b), evaluated with the modified Lentz method.
    private static func continuedFraction(x: Double, a: Double, b: Double) -> Double {
        let tiny = 1e-300, epsilon = 1e-16
        var c = 1.0
        var d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var result = d
        for m in 1...10_000 {
            let m = Double(m)
            // Even step.
            var numerator = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            d = 1 + numerator * d
            if abs(d) < tiny { d = tiny }
            c = 1 + numerator / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            result *= d * c
            // Odd step.
            numerator = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            d = 1 + numerator * d
            if abs(d) < tiny { d = tiny }
            c = 1 + numerator / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            result *= delta
            if abs(delta - 1) < epsilon { break }
        }
        return result
    }
}
