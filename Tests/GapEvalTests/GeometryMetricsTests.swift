import GapEngine
import XCTest
@testable import GapEval

final class GeometryMetricsTests: XCTestCase {
    let engine = EngineContext()
    func testIdenticalModalitiesHaveNoGap() throws {
        let images = try randomUnitRows(200, 16, seed: 3)
        let metrics = try GeometryMetrics.compute(engine: engine, images: images, texts: images, seed: 1)
        XCTAssertEqual(metrics.alignment, 1, accuracy: 1e-5)
        XCTAssertEqual(metrics.pairedAngleDegrees, 0, accuracy: 0.1)
        XCTAssertEqual(metrics.centroidGap, 0, accuracy: 1e-7)
        XCTAssertEqual(metrics.separability, 0.5, accuracy: 0.1)
        XCTAssertEqual(metrics.uniformityImage, metrics.uniformityText, accuracy: 1e-9)
        XCTAssertEqual(metrics.sortedPairedCosines.count, 200)
        XCTAssertEqual(metrics.pairedCosineQuantiles.count, GeometryMetrics.quantileLevels.count)
    }

    /// v_i = cos α e1 + sin α w_i and t_i = cos α e2 + sin α w_i with w = e3, −e3, e4, −e4 and α = 60°:
    /// paired cosine sin²α = 0.75; gap ‖cos α (e1 − e2)‖ = √2/2; V Tᵀ sums to 0 with diagonal 4·0.75, so
    /// separation = 1 + 3/16; within a modality the 12 ordered pairs are 4 opposite (‖·‖² = 4 sin²α = 3)
    /// and 8 orthogonal (2 sin²α = 1.5).
    func testOrthogonalConesMatchHandComputedGeometry() throws {
        let alpha = Double.pi / 3
        let c = Float(cos(alpha)), s = Float(sin(alpha))
        let noise: [(Int, Float)] = [(2, 1), (2, -1), (3, 1), (3, -1)]
        var imageRows = [[Float]](), textRows = [[Float]]()
        for (axis, sign) in noise {
            var v = [Float](repeating: 0, count: 6), t = v
            v[0] = c; t[1] = c
            v[axis] = sign * s; t[axis] = sign * s
            imageRows.append(v)
            textRows.append(t)
        }
        let images = try EmbeddingMatrix(rows: imageRows), texts = try EmbeddingMatrix(rows: textRows)
        let metrics = try GeometryMetrics.compute(engine: engine, images: images, texts: texts)
        XCTAssertEqual(metrics.alignment, 0.75, accuracy: 1e-6)
        XCTAssertEqual(metrics.pairedAngleDegrees, acos(0.75) * 180 / .pi, accuracy: 1e-4)
        XCTAssertEqual(metrics.centroidGap, 2.0.squareRoot() / 2, accuracy: 1e-6)
        XCTAssertEqual(metrics.separation, 1 + 0.75 / 4, accuracy: 1e-6)
        let expectedUniformity = log((4 * exp(-2 * 3.0) + 8 * exp(-2 * 1.5)) / 12)
        XCTAssertEqual(metrics.uniformityImage, expectedUniformity, accuracy: 1e-5)
        XCTAssertEqual(metrics.uniformityText, expectedUniformity, accuracy: 1e-5)
        for q in metrics.pairedCosineQuantiles { XCTAssertEqual(q, 0.75, accuracy: 1e-6) }
    }

    func testSeparateConesAreFullySeparable() throws {
        let images = try cone(100, 8, axis: 0, noiseAxes: [2, 3, 4, 5], spread: 0.3, seed: 1)
        let texts = try cone(100, 8, axis: 1, noiseAxes: [2, 3, 4, 5], spread: 0.3, seed: 2)
        XCTAssertEqual(try GeometryMetrics.modalitySeparability(engine: engine, images: images, texts: texts, seed: 0), 1)
    }

    func testQuantilesInterpolateBetweenOrderStatistics() {
        let sorted: [Float] = [0, 1, 2, 3, 4]
        XCTAssertEqual(GeometryMetrics.quantile(sorted: sorted, level: 0), 0)
        XCTAssertEqual(GeometryMetrics.quantile(sorted: sorted, level: 0.5), 2)
        XCTAssertEqual(GeometryMetrics.quantile(sorted: sorted, level: 0.1), 0.4, accuracy: 1e-12)
        XCTAssertEqual(GeometryMetrics.quantile(sorted: sorted, level: 1), 4)
    }

    func testUniformityIsStableForFarApartPoints() throws {
        // Unnormalised rows 10 apart: exp(−200) underflows Float, the log-sum-exp keeps it.
        let x = try EmbeddingMatrix(rows: [[0, 0], [10, 0]])
        XCTAssertEqual(GeometryMetrics.uniformity(engine: engine, x), -200, accuracy: 1e-9)
    }

    func testMismatchedPairsAreRejectedWithTheReason() throws {
        let images = try randomUnitRows(4, 3, seed: 1), texts = try randomUnitRows(5, 3, seed: 2)
        XCTAssertThrowsError(try GeometryMetrics.compute(engine: engine, images: images, texts: texts)) { error in
            XCTAssertTrue("\(error.localizedDescription)".contains("4 images, 5 texts"), error.localizedDescription)
        }
        XCTAssertThrowsError(try EmbeddingMatrix(values: [1, 2, 3], rows: 2, dim: 2))
    }
}
