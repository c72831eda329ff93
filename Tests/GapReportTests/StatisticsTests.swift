import GapReport
import XCTest

/// Reference values were computed with SciPy 1.17 (`scipy.special.betainc`, `scipy.stats.t`,
/// `ttest_rel`, `ttest_ind(equal_var=False)`), an implementation independent of this one.
final class StatisticsTests: XCTestCase {
    func testIncompleteBetaMatchesKnownValues() {
        // I_0.5(2, 3) = Σ_{j=2}^{4} C(4, j) / 16 = 11/16 exactly.
        XCTAssertEqual(IncompleteBeta.regularized(x: 0.5, a: 2, b: 3), 0.6875, accuracy: 1e-13)
        XCTAssertEqual(IncompleteBeta.regularized(x: 0.2, a: 0.5, b: 0.5), 0.29516723530087, accuracy: 1e-12)
        XCTAssertEqual(IncompleteBeta.regularized(x: 0.9, a: 10, b: 2.5), 0.81218627430886, accuracy: 1e-12)
        XCTAssertEqual(IncompleteBeta.regularized(x: 0.01, a: 1.5, b: 40), 0.15269206115200, accuracy: 1e-12)
        // I_0.2(0.5, 0.5) = (2/π) asin(√0.2), the arcsine distribution.
        XCTAssertEqual(IncompleteBeta.regularized(x: 0.2, a: 0.5, b: 0.5), 2 / Double.pi * asin(0.2.squareRoot()), accuracy: 1e-13)
        XCTAssertEqual(IncompleteBeta.regularized(x: 0, a: 2, b: 3), 0)
        XCTAssertEqual(IncompleteBeta.regularized(x: 1, a: 2, b: 3), 1)
    }

    func testStudentTCDFMatchesKnownValues() {
        XCTAssertEqual(StudentT.cdf(2, degreesOfFreedom: 5), 0.949030260585, accuracy: 1e-11)
        XCTAssertEqual(StudentT.cdf(-1.5, degreesOfFreedom: 3.7), 0.106799084601, accuracy: 1e-11)
        // With one degree of freedom the t distribution is Cauchy: F(t) = 1/2 + atan(t)/π.
        XCTAssertEqual(StudentT.cdf(0.3, degreesOfFreedom: 1), 0.5 + atan(0.3) / Double.pi, accuracy: 1e-13)
        XCTAssertEqual(StudentT.cdf(0, degreesOfFreedom: 7), 0.5, accuracy: 1e-15)
    }

    func testStudentTQuantilesMatchTables() {
        let table: [(Double, Double)] = [(1, 12.7062047362), (2, 4.3026527297), (3, 3.1824463053), (4, 2.7764451052),
                                         (5, 2.5705818356), (10, 2.2281388520), (30, 2.0422724563), (100, 1.9839715185)]
        for (df, expected) in table {
            XCTAssertEqual(StudentT.quantile(0.975, degreesOfFreedom: df), expected, accuracy: 1e-9, "df \(df)")
            XCTAssertEqual(StudentT.quantile(0.025, degreesOfFreedom: df), -expected, accuracy: 1e-9, "df \(df)")
        }
        XCTAssertEqual(StudentT.quantile(0.5, degreesOfFreedom: 3), 0)
    }

    func testMeanStdAndInterval() {
        let s = SampleSummary([0.70, 0.74, 0.72])
        XCTAssertEqual(s.n, 3)
        XCTAssertEqual(s.mean, 0.72, accuracy: 1e-15)
        XCTAssertEqual(s.std, 0.02, accuracy: 1e-15)
        let half = 4.3026527297 * 0.02 / 3.0.squareRoot()
        XCTAssertEqual(s.interval!.lowerBound, 0.72 - half, accuracy: 1e-10)
        XCTAssertEqual(s.interval!.upperBound, 0.72 + half, accuracy: 1e-10)
        let single = SampleSummary([0.5])
        XCTAssertNil(single.interval)
        XCTAssertTrue(single.std.isNaN)
    }

    func testWelchMatchesReference() throws {
        let a = [0.93, 0.96], b = [0.70, 0.74, 0.72]
        let r = try XCTUnwrap(Statistics.welch(a, b))
        XCTAssertEqual(r.kind, .welch)
        XCTAssertEqual(r.t, 11.886087235395937, accuracy: 1e-10)
        XCTAssertEqual(r.degreesOfFreedom, 2.1575262543757368, accuracy: 1e-10)
        XCTAssertEqual(r.p, 0.0052670967166088892, accuracy: 1e-11)
        // Equal spread and sizes: Welch's df is 2(n − 1) and t follows from the pooled formula.
        let x = [1.0, 2, 3], y = [2.0, 3, 4]
        let e = try XCTUnwrap(Statistics.welch(x, y))
        XCTAssertEqual(e.degreesOfFreedom, 4, accuracy: 1e-12)
        XCTAssertEqual(e.t, -1 / (2.0 / 3).squareRoot(), accuracy: 1e-12)
        XCTAssertNil(Statistics.welch([1], [1, 2]))
        XCTAssertNil(Statistics.welch([1, 1], [2, 2]))
    }

    func testPairedMatchesReference() throws {
        let r = try XCTUnwrap(Statistics.paired([0.90, 0.91, 0.95], [0.70, 0.74, 0.72]))
        XCTAssertEqual(r.kind, .paired)
        XCTAssertEqual(r.t, 11.547005383792529, accuracy: 1e-9)
        XCTAssertEqual(r.degreesOfFreedom, 2)
        XCTAssertEqual(r.p, 0.0074166660290697151, accuracy: 1e-11)
    }

    func testHolmMatchesStepDownByHand() {
        let p: [Double?] = [0.01, 0.04, nil, 0.03, 0.005]
        // Four tests: sorted 0.005, 0.01, 0.03, 0.04 → ×4, ×3, ×2, ×1 with running maximum.
        let adjusted = Statistics.holm(p)
        XCTAssertEqual(adjusted[4]!, 0.02, accuracy: 1e-15)
        XCTAssertEqual(adjusted[0]!, 0.03, accuracy: 1e-15)
        XCTAssertEqual(adjusted[3]!, 0.06, accuracy: 1e-15)
        XCTAssertEqual(adjusted[1]!, 0.06, accuracy: 1e-15)
        XCTAssertNil(adjusted[2])
        XCTAssertEqual(Statistics.holm([0.6, 0.7])[0], 1)
    }
}
