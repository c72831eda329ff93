import Foundation
import GapData
import GapEval
import GapModel
import GapRunner
import GapSpec
import GapStore

/// One run from its start (or its last checkpoint) to its last metric: load the data, pre-train through the
/// configuration's engine with per-epoch evaluation and checkpoints, evaluate in full with pictures, then the
/// optional fine-tuning stage. Every number goes to the store as it is produced, keyed by step, so a resumed run
/// rewrites identical values.
public final class RunSession {
    public let storage: Storage
    public let runID: String
    public let config: RunConfig
    /// The run's artifact folder: checkpoints, tokenizer, pictures.
    public let artifacts: URL
    /// Decoded datasets and caption embeddings; nil caches nothing.
    public let cacheDirectory: URL?
    /// Where progress lines go (the runner reads them from the run's standard output).
    public var output: (String) -> Void = { line in
        print(line)
        fflush(stdout)
    }
    /// Stops the run once, right after an epoch's checkpoint, to test resuming.
    public var fault: InjectedFault?
    /// Threads of training and evaluation (`gaplab train-run --threads`, else the configuration's
    /// `runtime.threads`), handed to every model the session makes.
    public let threads: Int

    private let engine: TrainingEngine
    private var directionsRecorded: Set<String> = []

    public init(storage: Storage, runID: String, config: RunConfig, artifacts: URL, cacheDirectory: URL?,
                engine: TrainingEngine? = nil, threads: Int? = nil) throws {
        self.storage = storage
        self.runID = runID
        self.config = config
        self.artifacts = artifacts
        self.cacheDirectory = cacheDirectory
        self.threads = threads ?? config.runtime.threads
        self.engine = try engine ?? TrainingEngines.engine(for: config, runID: runID, artifacts: artifacts)
    }

    public var checkpointURL: URL { artifacts.appendingPathComponent("checkpoint.safetensors") }

    public func execute() throws {
        try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        let m = config.model
        let data = try loadDataset(config.data, imageSize: m.vision.imageSize, contextLength: m.text.contextLength,
                                   vocabSize: m.text.vocabSize, cacheDirectory: cacheDirectory)
        let tokenizerURL = artifacts.appendingPathComponent("tokenizer.json")
        try data.tokenizer.save(to: tokenizerURL)
        try addArtifact(tokenizerURL)
        let captionEmbeddings = try recordDataInfo(data)

        let job = TrainingJob(model: m, train: config.train, loss: config.loss, seed: UInt64(config.seed), split: data.train,
                              captionEmbeddings: captionEmbeddings, augment: config.data.augment, checkpoint: checkpointURL,
                              threads: threads, workDirectory: artifacts.appendingPathComponent("engine/pretrain"))
        let pretraining = PretrainingObserver(session: self, data: data)
        guard let model = try engine.train(job, observer: pretraining) else {
            output("the engine left no weights to evaluate (train.command_checkpoint is empty): training metrics only")
            return
        }
        try evaluateInFull(model, data: data, step: pretraining.step, epoch: config.train.epochs)
        if config.finetune.epochs > 0 {
            try finetune(tokenizer: data.tokenizer, pretrainSteps: pretraining.step)
        }
    }

    /// The data's parameters (split sizes and digests, tokenizer, skipped files) and, when IMSep needs them, the
    /// frozen caption embeddings.
    func recordDataInfo(_ data: LoadedDataset) throws -> CaptionEmbeddings? {
        var info: [String: ParamValue] = [
            "data_info.train_images": .int(data.train.imageCount), "data_info.val_images": .int(data.val.imageCount),
            "data_info.test_images": .int(data.test.imageCount), "data_info.skipped_files": .int(data.report.skippedCount),
            "data_info.tokenizer": .string(data.report.tokenizer),
        ]
        // The split is recorded by a digest of each split's members, so two runs can be checked to share it.
        for (split, digest) in data.report.splitDigests { info["data_info.split_digest.\(split)"] = .string(digest) }
        if !data.report.skippedExamples.isEmpty {
            info["data_info.skipped_examples"] = .string(data.report.skippedExamples.joined(separator: "; "))
        }
        var captionEmbeddings: CaptionEmbeddings?
        if config.loss.needsSemanticDistance {
            let computed = try CaptionEmbeddings.compute(encoder: config.loss.semanticEncoder.rawValue, split: data.train,
                                                         cacheDirectory: cacheDirectory)
            info["data_info.semantic_encoder"] = .string(computed.encoder)
            captionEmbeddings = computed
        }
        try storage.logParams(runID: runID, info)
        return captionEmbeddings
    }

    /// Every metric on the configured split, the pictures, and the cheap metrics of the extra splits a dataset offers.
    func evaluateInFull(_ model: CLIPModel, data: LoadedDataset, step: Int, epoch: Int) throws {
        let split = config.eval.split == .val ? data.val : data.test
        let input = try SplitEmbedding.input(model: model, split: split, tokenizer: data.tokenizer,
                                             probeTrain: config.eval.linearProbe ? data.train : nil)
        let pictures = artifacts.appendingPathComponent("pictures")
        let report = try Evaluation.run(engine: model.engine, input, config: config.eval, seed: UInt64(config.seed),
                                        pictureFolder: pictures, runName: runID)
        try log(try points(report.metrics, prefix: config.eval.split.rawValue, step: step, epoch: Double(epoch)))
        if config.eval.pictures, let files = try? FileManager.default.contentsOfDirectory(at: pictures, includingPropertiesForKeys: nil) {
            for file in files.sorted(by: { $0.path < $1.path }) { try addArtifact(file) }
        }
        for extra in data.extraSplits {
            let extraInput = try SplitEmbedding.input(model: model, split: extra, tokenizer: data.tokenizer)
            let extraReport = try Evaluation.run(engine: model.engine, extraInput, config: config.eval, seed: UInt64(config.seed), cheap: true)
            try log(try points(extraReport.metrics, prefix: extra.name, step: step, epoch: Double(epoch)))
        }
    }

    /// The paper's Table 5 protocol: zero-shot on the downstream test split, contrastive fine-tuning on its
    /// train split from the pre-trained checkpoint, and the same evaluation again. The downstream captions use the
    /// pre-training tokenizer; fine-tuning keeps no checkpoint of its own and runs again in full after a resume.
    func finetune(tokenizer: Tokenizer, pretrainSteps: Int) throws {
        let f = config.finetune, m = config.model
        var downstream = try loadDataset(f.data, imageSize: m.vision.imageSize, contextLength: m.text.contextLength,
                                         vocabSize: m.text.vocabSize, cacheDirectory: cacheDirectory)
        downstream.train.tokenize(with: tokenizer, contextLength: m.text.contextLength)
        downstream.test.tokenize(with: tokenizer, contextLength: m.text.contextLength)
        var evalConfig = config.eval
        evalConfig.posthocShift = []
        let pretrained = CLIPModel(config: m, maxBatch: config.train.batchSize, threads: threads)
        try pretrained.loadWeights(from: checkpointURL.path)
        let before = try SplitEmbedding.input(model: pretrained, split: downstream.test, tokenizer: tokenizer,
                                              probeTrain: config.eval.linearProbe ? downstream.train : nil)
        try log(try points(try Evaluation.run(engine: pretrained.engine, before, config: evalConfig, seed: UInt64(config.seed)).metrics,
                           prefix: "zeroshot", step: pretrainSteps, epoch: 0))

        let job = TrainingJob(model: m, train: config.finetuneTrainConfig(imageCount: downstream.train.imageCount),
                              loss: config.loss.withoutIMSep, seed: UInt64(config.seed) &+ 1, split: downstream.train,
                              captionEmbeddings: nil, augment: config.data.augment, checkpoint: nil, initialWeights: checkpointURL,
                              threads: threads, workDirectory: artifacts.appendingPathComponent("engine/finetune"))
        let finetuning = FinetuningObserver(session: self)
        guard let model = try engine.train(job, observer: finetuning) else { return }
        let after = try SplitEmbedding.input(model: model, split: downstream.test, tokenizer: tokenizer,
                                             probeTrain: config.eval.linearProbe ? downstream.train : nil)
        try log(try points(try Evaluation.run(engine: model.engine, after, config: evalConfig, seed: UInt64(config.seed)).metrics,
                           prefix: "finetuned", step: pretrainSteps + finetuning.step, epoch: Double(f.epochs)))
    }

    func log(_ points: [MetricPoint]) throws {
        if !points.isEmpty { try storage.logMetrics(runID: runID, points) }
    }

    /// Evaluation metrics under `prefix/`, with each key's better direction recorded once for summaries.
    func points(_ metrics: [String: Double], prefix: String, step: Int, epoch: Double) throws -> [MetricPoint] {
        for key in metrics.keys where !directionsRecorded.contains("\(prefix)/\(key)") {
            let direction = MetricCatalog.direction(of: key) ?? MetricDirection.defaultDirection(forKey: key)
            // Only a direction the store would not infer from the key's name needs a write (a round trip each).
            if direction != MetricDirection.defaultDirection(forKey: "\(prefix)/\(key)") {
                try storage.setMetricDirection(direction, forKey: "\(prefix)/\(key)")
            }
            directionsRecorded.insert("\(prefix)/\(key)")
        }
        return metrics.keys.sorted().map { MetricPoint(key: "\(prefix)/\($0)", step: step, value: metrics[$0]!, epoch: epoch) }
    }

    func addArtifact(_ url: URL) throws {
        try storage.addArtifact(runID: runID, name: url.lastPathComponent, file: url)
    }

    /// The pre-training stage's records: training metrics every `runtime.log_every` steps and at each epoch's end,
    /// progress lines, the cheap validation metrics and the checkpoint of every epoch.
    final class PretrainingObserver: TrainingObserver {
        let session: RunSession
        let data: LoadedDataset
        private(set) var step = 0

        init(session: RunSession, data: LoadedDataset) {
            self.session = session
            self.data = data
        }

        func resumed(epoch: Int, step: Int) {
            self.step = step
            session.output("resumed from \(session.checkpointURL.lastPathComponent) at epoch \(epoch), step \(step)")
        }

        func stepped(_ s: TrainingStep) throws {
            step = s.step + 1
            let config = session.config
            guard s.step % max(1, config.runtime.logEvery) == 0 || s.endsEpoch else { return }
            let epoch = s.epochProgress
            var points = [MetricPoint(key: "train/loss", step: s.step, value: s.loss, epoch: epoch)]
            for term in s.terms { points.append(MetricPoint(key: "train/\(term.name)", step: s.step, value: term.value, epoch: epoch)) }
            points.append(MetricPoint(key: "train/lr", step: s.step, value: s.lr, epoch: epoch))
            points.append(MetricPoint(key: "train/logit_scale", step: s.step, value: s.logitScale, epoch: epoch))
            if let norm = s.gradNorm { points.append(MetricPoint(key: "train/grad_norm", step: s.step, value: norm, epoch: epoch)) }
            if let rate = s.samplesPerSecond {
                points.append(MetricPoint(key: "train/samples_per_second", step: s.step, value: rate, epoch: epoch))
            }
            try session.log(points)
            session.output(ProgressLine(epoch: s.epoch + 1, epochs: config.train.epochs, step: s.step + 1, steps: s.totalSteps,
                                        loss: s.loss).formatted)
        }

        func epochEnded(epoch: Int, step: Int, model: CLIPModel) throws {
            self.step = step
            let config = session.config
            guard config.eval.everyEpoch else { return }
            let input = try SplitEmbedding.input(model: model, split: data.val, tokenizer: data.tokenizer)
            let report = try Evaluation.run(engine: model.engine, input, config: config.eval, seed: UInt64(config.seed),
                                            cheap: true)
            try session.log(try session.points(report.metrics, prefix: "val", step: step, epoch: Double(epoch)))
        }

        func checkpointWritten(_ url: URL, epoch: Int) throws {
            try session.addArtifact(url)
            try session.fault?.trigger(afterEpoch: epoch, artifacts: session.artifacts)
        }

        func recorded(_ metrics: [(key: String, value: Double)], step: Int, epoch: Int) throws {
            try session.log(metrics.map { MetricPoint(key: $0.key, step: step, value: $0.value, epoch: Double(epoch)) })
        }
    }

    /// The fine-tuning stage's records: its loss at the end of every epoch.
    final class FinetuningObserver: TrainingObserver {
        let session: RunSession
        private(set) var step = 0

        init(session: RunSession) { self.session = session }

        func resumed(epoch: Int, step: Int) { self.step = step }

        func stepped(_ s: TrainingStep) throws {
            step = s.step + 1
            guard s.endsEpoch else { return }
            try session.log([MetricPoint(key: "finetune/loss", step: s.step, value: s.loss, epoch: s.epochProgress)])
        }

        func epochEnded(epoch: Int, step: Int, model: CLIPModel) throws { self.step = step }

        func checkpointWritten(_ url: URL, epoch: Int) throws {}
    }
}

/// A fault for the resume tests: the run stops once, right after the checkpoint of a given epoch. A marker file
/// in the run's artifacts makes it happen only on the first attempt.
public struct InjectedFault: Sendable {
    public enum Kind: Sendable {
        /// The process exits with status 3, as a crash would end it.
        case exit
        /// `execute()` throws `InjectedFault.Stopped`, for tests that run the pipeline in their own process.
        case `throw`
    }

    public var afterEpoch: Int
    public var kind: Kind

    public init(afterEpoch: Int, kind: Kind) {
        self.afterEpoch = afterEpoch
        self.kind = kind
    }

    public struct Stopped: Error, CustomStringConvertible {
        public var epoch: Int
        public var description: String { "injected crash after epoch \(epoch)" }
    }

    /// `GAPLAB_CRASH_AFTER_EPOCH=N`, as the end-to-end resume tests set it for a run's process.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> InjectedFault? {
        environment["GAPLAB_CRASH_AFTER_EPOCH"].flatMap(Int.init).map { InjectedFault(afterEpoch: $0, kind: .exit) }
    }

    func trigger(afterEpoch epoch: Int, artifacts: URL) throws {
        let marker = artifacts.appendingPathComponent("crashed-once")
        guard epoch == afterEpoch, !FileManager.default.fileExists(atPath: marker.path) else { return }
        _ = FileManager.default.createFile(atPath: marker.path, contents: nil)
        switch kind {
        case .exit:
            FileHandle.standardError.write(Data("injected crash after epoch \(epoch)\n".utf8))
            exit(3)
        case .throw:
            throw Stopped(epoch: epoch)
        }
    }
}

extension RunConfig {
    /// The training settings of the fine-tuning stage: the pre-training ones with `finetune`'s schedule and batch.
    func finetuneTrainConfig(imageCount: Int) -> TrainConfig {
        var train = self.train
        let f = finetune
        train.epochs = f.epochs
        train.batchSize = min(f.batchSize, imageCount)
        train.lr = f.lr
        train.wd = f.wd
        train.warmup = f.warmup
        train.lrScheduler = f.lrScheduler
        return train
    }
}

extension LossConfig {
    /// Fine-tuning keeps the contrastive objective (and CyCLIP terms) but not IMSep, whose caption distances
    /// belong to the pre-training set.
    var withoutIMSep: LossConfig {
        var c = self
        c.imsepWeight = 0
        return c
    }
}
