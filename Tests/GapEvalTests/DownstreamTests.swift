import GapEngine
import XCTest
import GapRandom
@testable import GapEval

final class DownstreamTests: XCTestCase {
    let engine = EngineContext()
    func testZeroShotWithHandMadeWeights() throws {
        let weights = try EmbeddingMatrix(rows: [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
        let images = try EmbeddingMatrix(rows: [[0.9, 0.1, 0], [0.2, 0.5, 0.3], [0, 0, 1], [0.5, 0.5, 0]])
        // Ranks of the true class: 1; 2 (0.3 under 0.5); 1; 2 (tied with class 0, ties count against).
        let result = try ZeroShot.evaluate(engine: engine, images: images, labels: [0, 2, 2, 1], classWeights: weights, ks: [1, 2, 5])
        XCTAssertEqual(result.top1, 0.5)
        XCTAssertEqual(result.topK[2], 1)
        XCTAssertEqual(result.top5, 1, "k is capped at the 3 classes")
        let logits = ZeroShot.logits(engine: engine, images: images, classWeights: weights)
        XCTAssertEqual(logits[3 + 1], 50, accuracy: 1e-4)
    }

    func testClassWeightsAverageNormalisedPrompts() throws {
        // Class 0: prompts along x and y → (1, 1)/√2. Class 1: prompts of lengths 3 and 1 along y → (0, 1).
        let prompts = try EmbeddingMatrix(rows: [[2, 0], [0, 5], [0, 3], [0, 1]])
        let weights = try ZeroShot.classWeights(promptEmbeddings: prompts, classes: 2, templates: 2)
        let r = Float(0.5).squareRoot()
        XCTAssertEqual(Array(weights.row(0))[0], r, accuracy: 1e-6)
        XCTAssertEqual(Array(weights.row(0))[1], r, accuracy: 1e-6)
        XCTAssertEqual(Array(weights.row(1)), [0, 1])
        XCTAssertThrowsError(try ZeroShot.classWeights(promptEmbeddings: prompts, classes: 3, templates: 2))
    }

    func testLinearProbeSeparatesClusters() throws {
        func clusters(_ perClass: Int, seed: UInt64) throws -> (EmbeddingMatrix, [Int]) {
            var generator = SeededRandom(seed: seed)
            var values = [Float](), labels = [Int]()
            for label in 0..<3 {
                for _ in 0..<perClass {
                    var row = (0..<8).map { _ in Float(0.1 * generator.gaussian()) }
                    row[label] += 1
                    values += row
                    labels.append(label)
                }
            }
            return (try EmbeddingMatrix(values: values, rows: 3 * perClass, dim: 8), labels)
        }
        let (train, trainLabels) = try clusters(60, seed: 1)
        let (test, testLabels) = try clusters(30, seed: 2)
        let config = LogisticRegressionConfig(batchSize: 32, seed: 4)
        let result = try LinearProbe.evaluate(engine: engine, trainFeatures: train, trainLabels: trainLabels,
                                              testFeatures: test, testLabels: testLabels, config: config)
        XCTAssertEqual(result.accuracy, 1)
        XCTAssertEqual(result.trainAccuracy, 1)
        XCTAssertEqual(result.classes, 3)
        let again = try LinearProbe.evaluate(engine: engine, trainFeatures: train, trainLabels: trainLabels,
                                             testFeatures: test, testLabels: testLabels, config: config)
        XCTAssertEqual(result, again)
        let model1 = try LogisticRegression.train(engine: engine, features: train, labels: trainLabels, classes: 3, config: config)
        let model2 = try LogisticRegression.train(engine: engine, features: train, labels: trainLabels, classes: 3, config: config)
        XCTAssertEqual(model1, model2, "same seed, same weights")
    }
}
