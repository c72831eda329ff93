import Foundation
import GapModel
import GapSpec
import GapTrain

/// GapLab's own engine: the Swift training loop of GapTrain on the CPU.
public final class GapLabEngine: TrainingEngine {
    public init() {}

    public func train(_ job: TrainingJob, observer: TrainingObserver) throws -> CLIPModel? {
        let model = CLIPModel(config: job.model, seed: job.seed, maxBatch: job.train.batchSize, threads: job.threads)
        if let initial = job.initialWeights { try model.loadWeights(from: initial.path) }
        let trainer = try Trainer(model: model, train: job.train, loss: job.loss, imageCount: job.split.imageCount,
                                  seed: job.seed)
        if let checkpoint = job.checkpoint, FileManager.default.fileExists(atPath: checkpoint.path) {
            try trainer.loadCheckpoint(from: checkpoint.path)
            observer.resumed(epoch: trainer.epoch, step: trainer.step)
        }
        let batches = DatasetBatches(split: job.split, imageSize: job.model.vision.imageSize,
                                     captionEmbeddings: job.captionEmbeddings, augment: job.augment)
        while !trainer.isFinished {
            try trainer.runEpoch(batches) { record in
                try observer.stepped(TrainingStep(
                    step: record.step, epoch: record.epoch, stepsPerEpoch: trainer.stepsPerEpoch, totalSteps: trainer.totalSteps,
                    loss: Double(record.loss.total), terms: record.loss.terms.map { (name: $0.name, value: Double($0.value)) },
                    lr: record.lr, logitScale: Double(record.logitScale), gradNorm: record.gradNorm))
            }
            try observer.epochEnded(epoch: trainer.epoch, step: trainer.step, model: model)
            if let checkpoint = job.checkpoint {
                try trainer.saveCheckpoint(to: checkpoint.path)
                try observer.checkpointWritten(checkpoint, epoch: trainer.epoch)
            }
        }
        return model
    }
}
