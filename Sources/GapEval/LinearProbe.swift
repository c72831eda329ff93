import Foundation
import GapEngine

public struct LinearProbeResult: Sendable, Equatable {
    /// Accuracy on the test split.
    public var accuracy: Double
    public var trainAccuracy: Double
    public var classes: Int
}

/// Linear probe: multinomial logistic regression on frozen, L2-normalised image embeddings,
/// fitted on the downstream train split and scored on its test split.
public enum LinearProbe {
    public static func evaluate(engine: EngineContext, trainFeatures: EmbeddingMatrix, trainLabels: [Int],
                                testFeatures: EmbeddingMatrix, testLabels: [Int],
                                classes: Int? = nil,
                                config: LogisticRegressionConfig = LogisticRegressionConfig()) throws -> LinearProbeResult {
        guard trainFeatures.dim == testFeatures.dim else {
            throw EvalError.shape(what: "linear probe features", expected: "train and test of the same dim",
                                  got: "\(trainFeatures.dim) and \(testFeatures.dim)")
        }
        guard testLabels.count == testFeatures.rows else {
            throw EvalError.shape(what: "linear probe test labels", expected: "\(testFeatures.rows) labels", got: "\(testLabels.count)")
        }
        guard testFeatures.rows > 0 else {
            throw EvalError.shape(what: "linear probe test features", expected: "at least one row", got: "none")
        }
        let classCount = classes ?? ((trainLabels + testLabels).max() ?? 0) + 1
        for (i, label) in testLabels.enumerated() where label < 0 || label >= classCount {
            throw EvalError.invalidArgument(what: "linear probe test label \(i)", expected: "0..<\(classCount)", got: "\(label)")
        }
        let train = trainFeatures.normalisedRows()
        let test = testFeatures.normalisedRows()
        let model = try LogisticRegression.train(engine: engine, features: train, labels: trainLabels, classes: max(classCount, 2), config: config)
        return LinearProbeResult(accuracy: model.accuracy(engine: engine, test, labels: testLabels),
                                 trainAccuracy: model.accuracy(engine: engine, train, labels: trainLabels),
                                 classes: classCount)
    }
}
