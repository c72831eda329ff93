import Foundation
import GapData
import GapEval
import GapModel
import GapSpec
import GapStore

/// The evaluation of any loadable checkpoint on a dataset split, whoever trained it: the same embedding and
/// metrics as a run's final evaluation. Captions are tokenised with `tokenizer` when given (a run's
/// `tokenizer.json`), else with the BPE trained on the dataset's training split, which equals the tokenizer of a
/// GapLab run on the same data and split seed.
public struct CheckpointEvaluation {
    public var model: ModelConfig
    public var checkpoint: URL
    public var data: DataConfig
    /// `test`, `val`, or an extra split the dataset offers.
    public var split: String
    public var tokenizer: URL?
    public var eval: EvalConfig
    /// Where the embedding pictures go; nil draws none.
    public var pictures: URL?
    /// Threads of the embedding and the metrics (the model's engine context).
    public var threads: Int

    public init(model: ModelConfig, checkpoint: URL, data: DataConfig, split: String, tokenizer: URL?, eval: EvalConfig,
                pictures: URL?, threads: Int = 1) {
        self.model = model
        self.checkpoint = checkpoint
        self.data = data
        self.split = split
        self.tokenizer = tokenizer
        self.eval = eval
        self.threads = threads
        self.pictures = pictures
    }

    /// A split the dataset does not have.
    public struct UnknownSplit: Error, CustomStringConvertible {
        public var split: String
        public var available: [String]
        public var description: String { "--split \(split): the dataset has the splits \(available.joined(separator: ", "))" }
    }

    public func run() throws -> [String: Double] {
        let clip = CLIPModel(config: model, maxBatch: 256, threads: threads)
        try clip.loadWeights(from: checkpoint.path)
        var loaded = try loadDataset(data, imageSize: model.vision.imageSize, contextLength: model.text.contextLength,
                                     vocabSize: model.text.vocabSize, cacheDirectory: nil)
        let tok = try tokenizer.map { try Tokenizer.load(from: $0) } ?? loaded.tokenizer
        guard var target = loaded.split(named: split) else {
            throw UnknownSplit(split: split, available: loaded.allSplits.map(\.name))
        }
        target.tokenize(with: tok, contextLength: model.text.contextLength)
        loaded.train.tokenize(with: tok, contextLength: model.text.contextLength)
        var evalConfig = eval
        evalConfig.pictures = pictures != nil
        let input = try SplitEmbedding.input(model: clip, split: target, tokenizer: tok,
                                             probeTrain: eval.linearProbe ? loaded.train : nil)
        return try Evaluation.run(engine: clip.engine, input, config: evalConfig, pictureFolder: pictures, runName: checkpoint.lastPathComponent).metrics
    }

    /// Records `metrics` with a run of the store, under `eval/<split>/`.
    public func log(_ metrics: [String: Double], to storage: Storage, runID: String) throws {
        try storage.logMetrics(runID: runID, metrics.keys.sorted().map { MetricPoint(key: "eval/\(split)/\($0)", step: 0, value: metrics[$0]!) })
    }
}
