import GapEngine
import XCTest
import GapRandom
@testable import GapLoss
import GapSpec

/// Analytic gradients of every loss term against central differences of the Double reference.
final class GradientCheckTests: XCTestCase {
    let engine = EngineContext()
    private let count = 5
    private let dim = 4

    private func check(_ settings: LossConfig, semantic: Bool, logitScale: Double = log(1 / 0.07), seed: UInt64,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        var rng = SeededRandom(seed: seed)
        // The loss is defined for any V and T; rows off the unit sphere also exercise the Gram-matrix
        // diagonals, whose in-modal differences vanish for unit rows.
        func rows() -> [[Double]] {
            randomUnitRows(count, dim, &rng).map { row in
                let length = rng.uniform(0.6, 1.4)
                return row.map { $0 * length }
            }
        }
        let image = roundedToFloat(rows())
        let text = roundedToFloat(rows())
        // Asymmetric and with a non-zero diagonal: the diagonal must be ignored and no symmetry assumed.
        let distance: [[Double]]? = semantic
            ? roundedToFloat((0..<count).map { _ in (0..<count).map { _ in rng.uniform(0, 1.5) } }) : nil
        let reference = ReferenceLoss(settings: settings)

        var loss = try ContrastiveLoss(settings: settings, maxBatch: 8)
        let imageFlat = flat(image), textFlat = flat(text)
        let distanceFlat = distance.map(flat)
        var imageGrad = [Float](repeating: .nan, count: count * dim)
        var textGrad = [Float](repeating: .nan, count: count * dim)
        let result = distanceFlat.withOptionalPointer { d in
            loss.forwardBackward(engine: engine, image: imageFlat, text: textFlat, count: count, dim: dim, logitScale: Float(logitScale),
                                 semanticDistance: d, imageGrad: &imageGrad, textGrad: &textGrad)
        }

        let expected = reference.total(image: image, text: text, logitScale: Double(Float(logitScale)), distance: distance)
        XCTAssertEqual(Double(result.total), expected, accuracy: 1e-5 * max(1, abs(expected)), "total", file: file, line: line)

        let h = 1e-6
        func numeric(_ perturb: (Double) -> Double) -> Double { (perturb(h) - perturb(-h)) / (2 * h) }
        func assertClose(_ analytic: Float, _ numerical: Double, _ what: String) {
            XCTAssertEqual(Double(analytic), numerical, accuracy: 1e-4 + 1e-3 * abs(numerical), what, file: file, line: line)
        }
        for i in 0..<count {
            for k in 0..<dim {
                let dv = numeric { delta in
                    var shifted = image
                    shifted[i][k] += delta
                    return reference.total(image: shifted, text: text, logitScale: Double(Float(logitScale)), distance: distance)
                }
                assertClose(imageGrad[i * dim + k], dv, "dV[\(i),\(k)]")
                let dt = numeric { delta in
                    var shifted = text
                    shifted[i][k] += delta
                    return reference.total(image: image, text: shifted, logitScale: Double(Float(logitScale)), distance: distance)
                }
                assertClose(textGrad[i * dim + k], dt, "dT[\(i),\(k)]")
            }
        }
        let dScale = numeric { delta in
            reference.total(image: image, text: text, logitScale: Double(Float(logitScale)) + delta, distance: distance)
        }
        assertClose(result.logitScaleGrad, dScale, "dLogitScale")
        XCTAssertNotEqual(imageGrad.map(abs).max(), 0, "the gradient check needs a non-zero gradient", file: file, line: line)
    }

    func testInfoNCESum() throws {
        try check(LossConfig(crossReduction: .sum), semantic: false, seed: 1)
    }

    func testInfoNCEMean() throws {
        try check(LossConfig(clipWeight: 0.7, crossReduction: .mean), semantic: false, logitScale: 1.3, seed: 2)
    }

    func testIMSepImageSemantic() throws {
        try check(LossConfig(clipWeight: 0, imsepWeight: 0.5, imsepModality: .image, imsepRescale: .semantic),
                  semantic: true, seed: 3)
    }

    func testIMSepTextSemantic() throws {
        try check(LossConfig(clipWeight: 0, imsepWeight: 0.5, imsepModality: .text, imsepRescale: .semantic),
                  semantic: true, seed: 4)
    }

    func testIMSepBothSemantic() throws {
        try check(LossConfig(clipWeight: 0, imsepWeight: 0.25, imsepModality: .both, imsepRescale: .semantic),
                  semantic: true, seed: 5)
    }

    func testIMSepImageHollow() throws {
        try check(LossConfig(clipWeight: 0, imsepWeight: 0.5, imsepModality: .image, imsepRescale: .hollow),
                  semantic: false, seed: 6)
    }

    func testIMSepTextHollow() throws {
        try check(LossConfig(clipWeight: 0, imsepWeight: 0.5, imsepModality: .text, imsepRescale: .hollow),
                  semantic: false, seed: 7)
    }

    func testIMSepBothHollow() throws {
        try check(LossConfig(clipWeight: 0, imsepWeight: 0.5, imsepModality: .both, imsepRescale: .hollow),
                  semantic: false, seed: 8)
    }

    func testCyCLIPInModal() throws {
        try check(LossConfig(clipWeight: 0, cyclipLambda1: 0.25), semantic: false, seed: 9)
    }

    func testCyCLIPCrossModal() throws {
        try check(LossConfig(clipWeight: 0, cyclipLambda2: 0.25), semantic: false, seed: 10)
    }

    func testAlignCLIPObjective() throws {
        try check(LossConfig(clipWeight: 1, crossReduction: .sum, imsepWeight: 0.5, imsepModality: .image,
                               imsepRescale: .semantic), semantic: true, seed: 11)
    }

    func testEveryTermTogether() throws {
        try check(LossConfig(clipWeight: 1, crossReduction: .mean, imsepWeight: 0.5, imsepModality: .both,
                               imsepRescale: .semantic, cyclipLambda1: 0.25, cyclipLambda2: 0.25),
                  semantic: true, logitScale: 0.5, seed: 12)
    }
}

extension Optional where Wrapped == [Float] {
    func withOptionalPointer<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        switch self {
        case .some(let array): return array.withUnsafeBufferPointer { body($0.baseAddress) }
        case .none: return body(nil)
        }
    }
}
