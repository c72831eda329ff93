import Foundation
import GapEngine
import GapSpec

/// A downstream set for the linear probe, already embedded.
public struct LinearProbeTask: Sendable, Equatable {
    public var trainFeatures: EmbeddingMatrix
    public var trainLabels: [Int]
    public var testFeatures: EmbeddingMatrix
    public var testLabels: [Int]
    /// nil: one more than the largest label seen.
    public var classes: Int?

    public init(trainFeatures: EmbeddingMatrix, trainLabels: [Int], testFeatures: EmbeddingMatrix, testLabels: [Int], classes: Int? = nil) {
        self.trainFeatures = trainFeatures
        self.trainLabels = trainLabels
        self.testFeatures = testFeatures
        self.testLabels = testLabels
        self.classes = classes
    }
}

/// Everything one evaluation reads, as embeddings.
public struct EvaluationInput: Sendable {
    /// Unique held-out images, [nImages, d], unit rows.
    public var images: EmbeddingMatrix
    /// Their captions, [nCaptions, d], unit rows.
    public var texts: EmbeddingMatrix
    /// Image index of each caption; nil means one caption per image, caption i for image i.
    public var captionImage: [Int]?
    /// Zero-shot sets per label axis.
    public var zeroShot: [String: ZeroShotTask]
    /// Linear-probe sets per label axis.
    public var linearProbe: [String: LinearProbeTask]

    public init(images: EmbeddingMatrix, texts: EmbeddingMatrix, captionImage: [Int]? = nil,
                zeroShot: [String: ZeroShotTask] = [:], linearProbe: [String: LinearProbeTask] = [:]) {
        self.images = images
        self.texts = texts
        self.captionImage = captionImage
        self.zeroShot = zeroShot
        self.linearProbe = linearProbe
    }
}

public enum Evaluation {
    /// Runs what `config` asks for: geometry (over image-of-caption / caption pairs) and retrieval always;
    /// zero-shot and the linear probe when switched on and given sets; the post-hoc shift over
    /// `config.posthocShift`; and, when `pictureFolder` is given and `config.pictures` is on, the projection
    /// and CDF pictures of `config.pictureSample` pairs. `cheap` (the per-epoch evaluation) skips the probe,
    /// the shift sweep and the pictures.
    public static func run(engine: EngineContext, _ input: EvaluationInput, config: EvalConfig, seed: UInt64 = 0, cheap: Bool = false,
                           pictureFolder: URL? = nil, runName: String = "run") throws -> EvaluationReport {
        let mapping = input.captionImage ?? Array(0..<input.texts.rows)
        if input.captionImage == nil, input.images.rows != input.texts.rows {
            throw EvalError.shape(what: "evaluation input", expected: "captionImage, or as many captions as images",
                                  got: "\(input.images.rows) images, \(input.texts.rows) captions and no captionImage")
        }
        let pairedImages = try input.images.expandedToCaptions(mapping)
        var report = EvaluationReport()
        report.geometry = try GeometryMetrics.compute(engine: engine, images: pairedImages, texts: input.texts, seed: seed)
        report.retrieval = try Retrieval.evaluate(engine: engine, images: input.images, texts: input.texts, captionImage: mapping, ks: config.retrievalK)
        if config.zeroshot {
            for (axis, task) in input.zeroShot { report.zeroShot[axis] = try task.evaluate(engine: engine) }
        }
        guard !cheap else { return report }
        if config.linearProbe {
            for (axis, task) in input.linearProbe {
                report.linearProbe[axis] = try LinearProbe.evaluate(engine: engine, 
                    trainFeatures: task.trainFeatures, trainLabels: task.trainLabels,
                    testFeatures: task.testFeatures, testLabels: task.testLabels, classes: task.classes,
                    config: LogisticRegressionConfig(seed: seed))
            }
        }
        if !config.posthocShift.isEmpty {
            report.shift = try PosthocShift.sweep(engine: engine, images: input.images, texts: input.texts, captionImage: mapping,
                                                  deltas: config.posthocShift, ks: config.retrievalK,
                                                  zeroShot: config.zeroshot ? input.zeroShot : [:], seed: seed)
        }
        if config.pictures, let pictureFolder {
            try EmbeddingPictures.writeRunPictures(engine: engine, images: pairedImages, texts: input.texts, folder: pictureFolder,
                                                   sample: config.pictureSample, seed: seed, runName: runName)
        }
        return report
    }
}
