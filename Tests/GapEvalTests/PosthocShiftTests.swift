import GapEngine
import XCTest
@testable import GapEval

final class PosthocShiftTests: XCTestCase {
    let engine = EngineContext()
    /// Images in a noisy cone around e0 and texts their mirror images across the hyperplane orthogonal to
    /// u = (e0 − e1)/√2, so the centroid gap lies along u.
    func mirroredCones() throws -> (EmbeddingMatrix, EmbeddingMatrix) {
        let images = try cone(50, 6, axis: 0, noiseAxes: [1, 2, 3, 4, 5], spread: 0.4, seed: 11)
        var texts = images.values
        for i in 0..<images.rows {
            texts[i * 6] = images.values[i * 6 + 1]
            texts[i * 6 + 1] = images.values[i * 6]
        }
        return (images, try EmbeddingMatrix(values: texts, rows: images.rows, dim: 6))
    }

    func testZeroShiftChangesNothing() throws {
        let (images, texts) = try mirroredCones()
        let (shiftedImages, shiftedTexts) = try PosthocShift.shift(images: images, texts: texts, delta: 0)
        for (a, b) in zip(shiftedImages.values, images.values) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        for (a, b) in zip(shiftedTexts.values, texts.values) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        let weights = try EmbeddingMatrix(rows: [[1, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0]])
        let task = ZeroShotTask(images: images, labels: Array(repeating: 0, count: images.rows), classWeights: weights, ks: [1])
        let arms = try PosthocShift.sweep(engine: engine, images: images, texts: texts, deltas: [0], ks: [1], zeroShot: ["axis": task])
        XCTAssertEqual(arms[0].zeroShot["axis"], try task.evaluate(engine: engine))
        let plain = try GeometryMetrics.compute(engine: engine, images: images, texts: texts)
        XCTAssertEqual(arms[0].geometry.alignment, plain.alignment, accuracy: 1e-6)
        XCTAssertEqual(arms[0].geometry.centroidGap, plain.centroidGap, accuracy: 1e-6)
    }

    func testGapClosingShiftClosesTheGap() throws {
        let (images, texts) = try mirroredCones()
        let before = GeometryMetrics.centroidGap(images: images, texts: texts)
        XCTAssertGreaterThan(before, 0.5)
        let delta = try PosthocShift.gapClosingDelta(images: images, texts: texts)
        let (shiftedImages, shiftedTexts) = try PosthocShift.shift(images: images, texts: texts, delta: delta)
        XCTAssertLessThan(GeometryMetrics.centroidGap(images: shiftedImages, texts: shiftedTexts), 1e-3)
        for r in 0..<shiftedImages.rows {
            let norm = shiftedImages.row(r).reduce(Float(0)) { $0 + $1 * $1 }
            XCTAssertEqual(norm, 1, accuracy: 1e-5)
        }
        let arms = try PosthocShift.sweep(engine: engine, images: images, texts: texts, deltas: [0, delta / 2, delta], ks: [1, 5])
        XCTAssertEqual(arms.map(\.delta), [0, delta / 2, delta])
        XCTAssertGreaterThan(arms[2].geometry.alignment, arms[0].geometry.alignment)
        XCTAssertLessThan(arms[2].geometry.centroidGap, 1e-3)
    }

    /// v = cos α e0 + sin α w, t = cos α e1 + sin α w: the shifted pair coincides when δ/√2 = cos α.
    func testGapClosingDeltaMatchesHandValue() throws {
        let alpha = Double.pi / 3
        var imageRows = [[Float]](), textRows = [[Float]]()
        for (axis, sign) in [(2, 1.0), (2, -1.0), (3, 1.0), (3, -1.0)] {
            var v = [Float](repeating: 0, count: 4), t = v
            v[0] = Float(cos(alpha)); t[1] = Float(cos(alpha))
            v[axis] = Float(sign * sin(alpha)); t[axis] = Float(sign * sin(alpha))
            imageRows.append(v)
            textRows.append(t)
        }
        let delta = try PosthocShift.gapClosingDelta(images: EmbeddingMatrix(rows: imageRows), texts: EmbeddingMatrix(rows: textRows))
        XCTAssertEqual(delta, 2.0.squareRoot() * cos(alpha), accuracy: 1e-5)
    }

    func testOtherEmbeddingsMoveWithTheirModality() throws {
        let x = try EmbeddingMatrix(rows: [[0, 1]])
        let norm = Float(1.25).squareRoot()
        let image = try PosthocShift.shift(x, modality: .image, direction: [1, 0], delta: 1)
        let text = try PosthocShift.shift(x, modality: .text, direction: [1, 0], delta: 1)
        XCTAssertEqual(image.values[0], -0.5 / norm, accuracy: 1e-6)
        XCTAssertEqual(image.values[1], 1 / norm, accuracy: 1e-6)
        XCTAssertEqual(text.values[0], 0.5 / norm, accuracy: 1e-6)
        XCTAssertThrowsError(try PosthocShift.shift(x, modality: .text, direction: [1, 0, 0], delta: 1))
    }

    func testIdenticalCentroidsHaveNoDirection() throws {
        let images = try randomUnitRows(5, 3, seed: 1)
        XCTAssertThrowsError(try PosthocShift.shift(images: images, texts: images, delta: 0.5))
    }
}
