import Foundation
import GapData
import GapEngine
import GapEval
import GapLoss
import GapModel
import GapRunner
import GapSpec
import GapStore
import GapTrain

extension LossSettings {
    init(_ c: LossConfig) {
        self.init(clipWeight: c.clipWeight, crossReduction: c.crossReduction, imsepWeight: c.imsepWeight,
                  imsepModality: c.imsepModality, imsepRescale: c.imsepRescale,
                  cyclipLambda1: c.cyclipLambda1, cyclipLambda2: c.cyclipLambda2)
    }
}

/// One run from start (or its last checkpoint) to its last metric: load data, pre-train with per-epoch
/// evaluation and checkpoints, evaluate in full with pictures, then the optional fine-tuning stage.
/// Every number goes to the store as it is produced, keyed by step, so a resumed run rewrites identical values.
struct RunExecution {
    let storage: Storage
    let runID: String
    let config: RunConfig
    let artifacts: URL
    let cacheDirectory: URL

    var checkpointURL: URL { artifacts.appendingPathComponent("checkpoint.safetensors") }

    /// Keys whose better direction has been recorded in this process.
    final class DirectionsRecorded { var keys: Set<String> = [] }
    let directionsRecorded = DirectionsRecorded()

    func log(_ points: [MetricPoint]) throws {
        if !points.isEmpty { try storage.logMetrics(runID: runID, points) }
    }

    /// Evaluation metrics under `prefix/`, with each key's better direction recorded once for summaries.
    func points(_ metrics: [String: Double], prefix: String, step: Int, epoch: Double) throws -> [MetricPoint] {
        for key in metrics.keys where !directionsRecorded.keys.contains("\(prefix)/\(key)") {
            let direction: GapStore.MetricDirection = EvaluationReport.direction(of: key) == .higherIsBetter ? .max : .min
            try storage.setMetricDirection(direction, forKey: "\(prefix)/\(key)")
            directionsRecorded.keys.insert("\(prefix)/\(key)")
        }
        return metrics.keys.sorted().map { MetricPoint(key: "\(prefix)/\($0)", step: step, value: metrics[$0]!, epoch: epoch) }
    }

    func addArtifact(_ url: URL) throws {
        try storage.addArtifact(runID: runID, name: url.lastPathComponent, file: url)
    }

    func execute() throws {
        try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        let m = config.model
        let data = try loadDataset(config.data, imageSize: m.vision.imageSize, contextLength: m.text.contextLength,
                                   vocabSize: m.text.vocabSize, cacheDirectory: cacheDirectory)
        let tokenizerURL = artifacts.appendingPathComponent("tokenizer.json")
        try data.tokenizer.save(to: tokenizerURL)
        try addArtifact(tokenizerURL)
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
        let settings = LossSettings(config.loss)
        var captionEmbeddings: CaptionEmbeddings?
        if try ResolvedLossSettings(settings).needsSemanticDistance {
            captionEmbeddings = try CaptionEmbeddings.compute(encoder: config.loss.semanticEncoder, split: data.train,
                                                              cacheDirectory: cacheDirectory)
            info["data_info.semantic_encoder"] = .string(captionEmbeddings!.encoder)
        }
        try storage.logParams(runID: runID, info)

        let model = CLIPModel(config: m, seed: UInt64(config.seed), maxBatch: config.train.batchSize)
        let trainer = try Trainer(model: model, train: config.train, loss: settings, imageCount: data.train.imageCount,
                                  seed: UInt64(config.seed))
        if FileManager.default.fileExists(atPath: checkpointURL.path) {
            try trainer.loadCheckpoint(from: checkpointURL.path)
            print("resumed from \(checkpointURL.lastPathComponent) at epoch \(trainer.epoch), step \(trainer.step)")
        }
        let batches = DatasetBatches(split: data.train, imageSize: m.vision.imageSize, captionEmbeddings: captionEmbeddings,
                                     augment: config.data.augment)
        try pretrain(trainer, batches: batches, data: data)

        // Full evaluation at the end: every metric, pictures, and the extra splits a dataset offers.
        let final = trainer.step
        let split = config.eval.split == "val" ? data.val : data.test
        let input = try SplitEmbedding.input(model: model, split: split, tokenizer: data.tokenizer, probeTrain: config.eval.linearProbe ? data.train : nil)
        let pictures = artifacts.appendingPathComponent("pictures")
        let report = try Evaluation.run(input, config: config.eval, seed: UInt64(config.seed), pictureFolder: pictures, runName: runID)
        try log(try points(report.metrics, prefix: config.eval.split, step: final, epoch: Double(trainer.epoch)))
        if config.eval.pictures, let files = try? FileManager.default.contentsOfDirectory(at: pictures, includingPropertiesForKeys: nil) {
            for file in files.sorted(by: { $0.path < $1.path }) { try addArtifact(file) }
        }
        for extra in data.extraSplits {
            let extraInput = try SplitEmbedding.input(model: model, split: extra, tokenizer: data.tokenizer)
            let extraReport = try Evaluation.run(extraInput, config: config.eval, seed: UInt64(config.seed), cheap: true)
            try log(try points(extraReport.metrics, prefix: extra.name, step: final, epoch: Double(trainer.epoch)))
        }
        if config.finetune.epochs > 0 {
            try finetune(model, tokenizer: data.tokenizer, pretrainSteps: final)
        }
    }

    func pretrain(_ trainer: Trainer, batches: DatasetBatches, data: LoadedDataset) throws {
        let every = max(1, config.runtime.logEvery)
        let total = trainer.totalSteps
        while !trainer.isFinished {
            var pending: [MetricPoint] = []
            try trainer.runEpoch(batches) { record in
                let epoch = Double(record.step + 1) / Double(trainer.stepsPerEpoch)
                let last = (record.step + 1) % trainer.stepsPerEpoch == 0
                if record.step % every == 0 || last {
                    pending.append(MetricPoint(key: "train/loss", step: record.step, value: Double(record.loss.total), epoch: epoch))
                    for term in record.loss.terms {
                        pending.append(MetricPoint(key: "train/\(term.name)", step: record.step, value: Double(term.value), epoch: epoch))
                    }
                    pending.append(MetricPoint(key: "train/lr", step: record.step, value: record.lr, epoch: epoch))
                    pending.append(MetricPoint(key: "train/logit_scale", step: record.step, value: Double(record.logitScale), epoch: epoch))
                    if let norm = record.gradNorm { pending.append(MetricPoint(key: "train/grad_norm", step: record.step, value: norm, epoch: epoch)) }
                    try log(pending)
                    pending.removeAll(keepingCapacity: true)
                    print(ProgressLine(epoch: record.epoch + 1, epochs: config.train.epochs, step: record.step + 1, steps: total,
                                       loss: Double(record.loss.total)).formatted)
                    fflush(stdout)
                }
            }
            if config.eval.everyEpoch {
                let input = try SplitEmbedding.input(model: trainer.model, split: data.val, tokenizer: data.tokenizer)
                let report = try Evaluation.run(input, config: config.eval, seed: UInt64(config.seed), cheap: true)
                try log(try points(report.metrics, prefix: "val", step: trainer.step, epoch: Double(trainer.epoch)))
            }
            try trainer.saveCheckpoint(to: checkpointURL.path)
            try addArtifact(checkpointURL)
            // Fault injection for the resume tests: die right after a given epoch's checkpoint.
            if let crash = ProcessInfo.processInfo.environment["GAPLAB_CRASH_AFTER_EPOCH"].flatMap(Int.init), crash == trainer.epoch,
               !FileManager.default.fileExists(atPath: artifacts.appendingPathComponent("crashed-once").path) {
                _ = FileManager.default.createFile(atPath: artifacts.appendingPathComponent("crashed-once").path, contents: nil)
                FileHandle.standardError.write(Data("injected crash after epoch \(crash)\n".utf8))
                exit(3)
            }
        }
    }

    /// The paper's Table 5 protocol: zero-shot on the downstream test split, contrastive fine-tuning on its
    /// train split, and the same evaluation again. The downstream captions use the pre-training tokenizer.
    func finetune(_ model: CLIPModel, tokenizer: Tokenizer, pretrainSteps: Int) throws {
        let f = config.finetune, m = config.model
        var downstream = try loadDataset(f.data, imageSize: m.vision.imageSize, contextLength: m.text.contextLength,
                                         vocabSize: m.text.vocabSize, cacheDirectory: cacheDirectory)
        downstream.train.tokenize(with: tokenizer, contextLength: m.text.contextLength)
        downstream.test.tokenize(with: tokenizer, contextLength: m.text.contextLength)
        var evalConfig = config.eval
        evalConfig.posthocShift = []
        let before = try SplitEmbedding.input(model: model, split: downstream.test, tokenizer: tokenizer,
                                              probeTrain: config.eval.linearProbe ? downstream.train : nil)
        try log(try points(try Evaluation.run(before, config: evalConfig, seed: UInt64(config.seed)).metrics,
                       prefix: "zeroshot", step: pretrainSteps, epoch: 0))

        var train = config.train
        train.epochs = f.epochs
        train.batchSize = min(f.batchSize, downstream.train.imageCount)
        train.lr = f.lr
        train.wd = f.wd
        train.warmup = f.warmup
        train.lrScheduler = f.lrScheduler
        let trainer = try Trainer(model: model, train: train, loss: LossSettings(config.loss.withoutIMSep),
                                  imageCount: downstream.train.imageCount, seed: UInt64(config.seed) &+ 1)
        let batches = DatasetBatches(split: downstream.train, imageSize: m.vision.imageSize, captionEmbeddings: nil, augment: config.data.augment)
        while !trainer.isFinished {
            try trainer.runEpoch(batches) { record in
                if (record.step + 1) % trainer.stepsPerEpoch == 0 {
                    try log([MetricPoint(key: "finetune/loss", step: record.step, value: Double(record.loss.total),
                                         epoch: Double(record.step + 1) / Double(trainer.stepsPerEpoch))])
                }
            }
        }
        let after = try SplitEmbedding.input(model: model, split: downstream.test, tokenizer: tokenizer,
                                             probeTrain: config.eval.linearProbe ? downstream.train : nil)
        try log(try points(try Evaluation.run(after, config: evalConfig, seed: UInt64(config.seed)).metrics,
                       prefix: "finetuned", step: pretrainSteps + trainer.step, epoch: Double(f.epochs)))
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
