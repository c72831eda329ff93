import GapEngine
import XCTest
import GapRandom
import GapLoss
import GapSpec

final class LossBehaviourTests: XCTestCase {
    let engine = EngineContext()
    private func batch(_ n: Int, _ e: Int, seed: UInt64) -> (image: [Float], text: [Float], distance: [Float]) {
        var rng = SeededRandom(seed: seed)
        let image = flat(randomUnitRows(n, e, &rng)), text = flat(randomUnitRows(n, e, &rng))
        let distance = (0..<(n * n)).map { _ in Float(rng.uniform(0, 1)) }
        return (image, text, distance)
    }

    private let everything = LossConfig(clipWeight: 1, crossReduction: .sum, imsepWeight: 0.5, imsepModality: .both,
                                          imsepRescale: .semantic, cyclipLambda1: 0.25, cyclipLambda2: 0.25)

    func testForwardOnlyMatchesForwardBackwardAndNamesEveryTerm() throws {
        let (image, text, distance) = batch(6, 8, seed: 21)
        var loss = try ContrastiveLoss(settings: everything, maxBatch: 16)
        var imageGrad = [Float](repeating: 0, count: 48), textGrad = [Float](repeating: 0, count: 48)
        let trained = loss.forwardBackward(engine: engine, image: image, text: text, count: 6, dim: 8, logitScale: 2.6,
                                           semanticDistance: distance, imageGrad: &imageGrad, textGrad: &textGrad)
        let evaluated = loss.forward(engine: engine, image: image, text: text, count: 6, dim: 8, logitScale: 2.6, semanticDistance: distance)
        XCTAssertEqual(evaluated.total, trained.total)
        XCTAssertEqual(evaluated.cross, trained.cross)
        XCTAssertEqual(evaluated.imsep, trained.imsep)
        XCTAssertEqual(evaluated.logitScaleGrad, 0)
        XCTAssertNotEqual(trained.logitScaleGrad, 0)
        XCTAssertEqual(trained.terms.map(\.name), ["loss/cross", "loss/imsep", "loss/cyclip_inmodal", "loss/cyclip_crossmodal"])
        let weighted = trained.cross! + 0.5 * trained.imsep! + 0.25 * trained.cyclipInModal! + 0.25 * trained.cyclipCrossModal!
        XCTAssertEqual(trained.total, weighted, accuracy: 1e-5)
    }

    func testRepeatedAndCopiedEvaluationsAreIdentical() throws {
        let (image, text, distance) = batch(7, 5, seed: 22)
        var first = try ContrastiveLoss(settings: everything, maxBatch: 7)
        var copy = first
        var gradA = [Float](repeating: 0, count: 35), gradB = [Float](repeating: 0, count: 35)
        var gradC = [Float](repeating: 0, count: 35), gradD = [Float](repeating: 0, count: 35)
        let a = first.forwardBackward(engine: engine, image: image, text: text, count: 7, dim: 5, logitScale: 1, semanticDistance: distance,
                                      imageGrad: &gradA, textGrad: &gradB)
        let b = copy.forwardBackward(engine: engine, image: image, text: text, count: 7, dim: 5, logitScale: 1, semanticDistance: distance,
                                     imageGrad: &gradC, textGrad: &gradD)
        XCTAssertEqual(a, b)
        XCTAssertEqual(gradA, gradC)
        XCTAssertEqual(gradB, gradD)
    }

    func testSmallerBatchThanCapacityReusesTheWorkspace() throws {
        // A batch of 6 after a batch of 3 must not see the earlier batch's scratch values.
        let (image, text, distance) = batch(6, 4, seed: 23)
        var shared = try ContrastiveLoss(settings: everything, maxBatch: 8)
        var fresh = try ContrastiveLoss(settings: everything, maxBatch: 6)
        let small = batch(3, 4, seed: 24)
        _ = shared.forward(engine: engine, image: small.image, text: small.text, count: 3, dim: 4, logitScale: 2, semanticDistance: small.distance)
        var g1 = [Float](repeating: 0, count: 24), g2 = [Float](repeating: 0, count: 24)
        var g3 = [Float](repeating: 0, count: 24), g4 = [Float](repeating: 0, count: 24)
        let a = shared.forwardBackward(engine: engine, image: image, text: text, count: 6, dim: 4, logitScale: 2, semanticDistance: distance,
                                       imageGrad: &g1, textGrad: &g2)
        let b = fresh.forwardBackward(engine: engine, image: image, text: text, count: 6, dim: 4, logitScale: 2, semanticDistance: distance,
                                      imageGrad: &g3, textGrad: &g4)
        XCTAssertEqual(a, b)
        XCTAssertEqual(g1, g3)
        XCTAssertEqual(g2, g4)
    }

    func testNonFiniteEmbeddingGivesNonFiniteLoss() throws {
        var (image, text, _) = batch(4, 3, seed: 25)
        image[5] = .nan
        var loss = try ContrastiveLoss(settings: LossConfig(), maxBatch: 4)
        let result = loss.forward(engine: engine, image: image, text: text, count: 4, dim: 3, logitScale: 2.6, semanticDistance: nil)
        XCTAssertFalse(result.total.isFinite)
        text[0] = .infinity
        image[5] = 0
        let infinite = loss.forward(engine: engine, image: image, text: text, count: 4, dim: 3, logitScale: 2.6, semanticDistance: nil)
        XCTAssertFalse(infinite.total.isFinite)
    }

    func testLargeLogitScaleStaysFinite() throws {
        // s = e^20 ≈ 4.9e8: without the max shift exp would overflow.
        let (image, text, _) = batch(5, 3, seed: 26)
        var loss = try ContrastiveLoss(settings: LossConfig(), maxBatch: 5)
        let result = loss.forward(engine: engine, image: image, text: text, count: 5, dim: 3, logitScale: 20, semanticDistance: nil)
        XCTAssertTrue(result.total.isFinite)
    }

    func testNegativeWeightsAreRejectedByKey() {
        XCTAssertThrowsError(try ContrastiveLoss(settings: LossConfig(cyclipLambda1: -1), maxBatch: 2)) { error in
            XCTAssertEqual((error as? ConfigIssues)?.issues.map(\.path), ["loss.cyclip_lambda1"])
        }
        XCTAssertThrowsError(try ContrastiveLoss(settings: LossConfig(imsepWeight: .nan), maxBatch: 2)) { error in
            XCTAssertEqual((error as? ConfigIssues)?.issues.map(\.path), ["loss.imsep_weight"])
        }
        XCTAssertTrue(LossConfig(imsepWeight: 0.5).needsSemanticDistance)
        XCTAssertFalse(LossConfig(imsepWeight: 0.5, imsepRescale: .hollow).needsSemanticDistance)
        XCTAssertFalse(LossConfig(imsepWeight: 0).needsSemanticDistance)
    }
}
