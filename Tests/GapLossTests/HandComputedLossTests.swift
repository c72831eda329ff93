import GapEngine
import XCTest
import GapLoss
import GapSpec

/// Two-pair batches small enough to work out by hand (values in the comments).
final class HandComputedLossTests: XCTestCase {
    let engine = EngineContext()
    // v1 = (1, 0), v2 = (0, 1); t1 = (0.8, 0.6), t2 = (0.6, 0.8).
    // S = V·Tᵀ = [[0.8, 0.6], [0.6, 0.8]], V·Vᵀ = I, T·Tᵀ = [[1, 0.96], [0.96, 1]].
    private let image: [Float] = [1, 0, 0, 1]
    private let text: [Float] = [0.8, 0.6, 0.6, 0.8]

    private func evaluate(_ settings: LossConfig, logitScale: Float = 0, image: [Float]? = nil, text: [Float]? = nil,
                          distance: [Float]? = nil) throws -> LossResult {
        var loss = try ContrastiveLoss(settings: settings, maxBatch: 2)
        var imageGrad = [Float](repeating: 0, count: 4), textGrad = [Float](repeating: 0, count: 4)
        return distance.withOptionalPointer { d in
            loss.forwardBackward(engine: engine, image: image ?? self.image, text: text ?? self.text, count: 2, dim: 2,
                                 logitScale: logitScale, semanticDistance: d, imageGrad: &imageGrad, textGrad: &textGrad)
        }
    }

    func testInfoNCESumAndMean() throws {
        // s = 1: every row in both directions is softmax over (0.8, 0.6) with the 0.8 as target,
        // CE = log(1 + e^−0.2), and there are two directions.
        let perRow = log(1 + exp(-0.2))
        let sum = try evaluate(LossConfig(crossReduction: .sum))
        XCTAssertEqual(Double(sum.total), 2 * perRow, accuracy: 1e-6)
        XCTAssertEqual(sum.terms.map(\.name), ["loss/cross"])
        // d/dlogit_scale of 2·log(1 + e^(−0.2·s)) at s = 1 is −0.4·e^−0.2 / (1 + e^−0.2).
        XCTAssertEqual(Double(sum.logitScaleGrad), -0.4 * exp(-0.2) / (1 + exp(-0.2)), accuracy: 1e-6)

        let mean = try evaluate(LossConfig(clipWeight: 2, crossReduction: .mean))
        XCTAssertEqual(Double(mean.cross!), perRow, accuracy: 1e-6)
        XCTAssertEqual(Double(mean.total), 2 * perRow, accuracy: 1e-6)
    }

    func testIMSepImageHollow() throws {
        // Row i: positive v_i·t_i = 0.8, negative v_1·v_2 = 0 → CE = log(1 + e^−0.8).
        let result = try evaluate(LossConfig(clipWeight: 0, imsepWeight: 0.5, imsepModality: .image, imsepRescale: .hollow))
        XCTAssertEqual(Double(result.imsep!), log(1 + exp(-0.8)), accuracy: 1e-6)
        XCTAssertEqual(Double(result.total), 0.5 * log(1 + exp(-0.8)), accuracy: 1e-6)
        XCTAssertEqual(result.terms.map(\.name), ["loss/imsep"])
    }

    func testIMSepTextSemantic() throws {
        // Negative t_1·t_2·D = 0.96·0.5 = 0.48 → CE = log(1 + e^(0.48 − 0.8)); the diagonal of D is never used.
        let distance: [Float] = [7, 0.5, 0.5, 7]
        let result = try evaluate(LossConfig(clipWeight: 0, imsepWeight: 1, imsepModality: .text, imsepRescale: .semantic),
                                  distance: distance)
        XCTAssertEqual(Double(result.imsep!), log(1 + exp(-0.32)), accuracy: 1e-6)
    }

    func testIMSepBothIsTheSumOfImageAndText() throws {
        // Hollow: image rows give log(1 + e^−0.8), text rows log(1 + e^(0.96 − 0.8)).
        let result = try evaluate(LossConfig(clipWeight: 0, imsepWeight: 1, imsepModality: .both, imsepRescale: .hollow))
        XCTAssertEqual(Double(result.imsep!), log(1 + exp(-0.8)) + log(1 + exp(0.16)), accuracy: 1e-6)
    }

    func testIMSepLogitScaleGradient() throws {
        // Image, hollow, s = e^0.5: CE = log(1 + e^(−0.8·s)), d/dlogit_scale = −0.8·s·σ(−0.8·s).
        let s = exp(0.5)
        let result = try evaluate(LossConfig(clipWeight: 0, imsepWeight: 1, imsepModality: .image, imsepRescale: .hollow),
                                  logitScale: 0.5)
        XCTAssertEqual(Double(result.imsep!), log(1 + exp(-0.8 * s)), accuracy: 1e-6)
        XCTAssertEqual(Double(result.logitScaleGrad), -0.8 * s / (1 + exp(0.8 * s)), accuracy: 1e-6)
    }

    func testCyCLIPInModal() throws {
        // V·Vᵀ − T·Tᵀ = [[0, −0.96], [−0.96, 0]] → mean of squares = 2·0.9216/4.
        let result = try evaluate(LossConfig(clipWeight: 0, cyclipLambda1: 0.25))
        XCTAssertEqual(Double(result.cyclipInModal!), 0.4608, accuracy: 1e-6)
        XCTAssertEqual(Double(result.total), 0.25 * 0.4608, accuracy: 1e-6)
        XCTAssertEqual(result.logitScaleGrad, 0)
    }

    func testCyCLIPCrossModal() throws {
        // t1 = (0.8, 0.6), t2 = (0, 1): S = [[0.8, 0], [0.6, 1]], S − Sᵀ has ±0.6 off the diagonal → 2·0.36/4.
        let result = try evaluate(LossConfig(clipWeight: 0, cyclipLambda2: 1), text: [0.8, 0.6, 0, 1])
        XCTAssertEqual(Double(result.cyclipCrossModal!), 0.18, accuracy: 1e-6)
        // With the symmetric S of the default batch the term vanishes.
        let symmetric = try evaluate(LossConfig(clipWeight: 0, cyclipLambda2: 1))
        XCTAssertEqual(Double(symmetric.cyclipCrossModal!), 0, accuracy: 1e-7)
    }

    func testInfoNCEGradientByHand() throws {
        // With p = σ(0.2) the target probability of every row: image→text row 1 gives ∂/∂S_11 = (p − 1)/2 and
        // ∂/∂S_12 = (1 − p)/2; text→image (logits Sᵀ) gives the same to S_11 again and, through its row 2,
        // (1 − p)/2 to S_12 again. With ∂S_1j/∂v_1 = t_j: dV_1 = (p − 1)·t_1 + (1 − p)·t_2.
        var loss = try ContrastiveLoss(settings: LossConfig(crossReduction: .sum), maxBatch: 2)
        var imageGrad = [Float](repeating: 0, count: 4), textGrad = [Float](repeating: 0, count: 4)
        _ = loss.forwardBackward(engine: engine, image: image, text: text, count: 2, dim: 2, logitScale: 0, semanticDistance: nil,
                                 imageGrad: &imageGrad, textGrad: &textGrad)
        let p = 1 / (1 + exp(-0.2))
        let expected = [(p - 1) * 0.8 + (1 - p) * 0.6, (p - 1) * 0.6 + (1 - p) * 0.8]
        XCTAssertEqual(Double(imageGrad[0]), expected[0], accuracy: 1e-6)
        XCTAssertEqual(Double(imageGrad[1]), expected[1], accuracy: 1e-6)
    }
}
