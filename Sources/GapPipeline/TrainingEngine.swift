import Foundation
import GapData
import GapModel
import GapSpec

/// The trainer seam: what a training engine does for the run pipeline. An engine trains one resolved
/// configuration, from its checkpoint when one is there and from scratch otherwise, and reports every step and
/// every epoch's end to the pipeline, which records them. Evaluation is not the engine's: the pipeline evaluates
/// the weights an engine hands back, whoever trained them.
public protocol TrainingEngine: AnyObject {
    /// Trains `job` to its last epoch and returns the trained model (GapLab's model, loaded from the engine's
    /// checkpoint when the engine is not GapLab's own); nil when the engine leaves no weights to evaluate (a
    /// command without `train.command_checkpoint`).
    func train(_ job: TrainingJob, observer: TrainingObserver) throws -> CLIPModel?
}

/// One training stage of a run: pre-training, or fine-tuning on a downstream set.
public struct TrainingJob {
    public var model: ModelConfig
    public var train: TrainConfig
    public var loss: LossConfig
    public var seed: UInt64
    /// The pairs to train on.
    public var split: ImageTextDataset
    /// Frozen caption embeddings behind IMSep's semantic distances; nil when the loss needs none.
    public var captionEmbeddings: CaptionEmbeddings?
    public var augment: Bool
    /// Where the stage resumes from and writes its checkpoint after every epoch; nil keeps none (fine-tuning).
    public var checkpoint: URL?
    /// Weights to start from instead of the model's seeded initialisation (fine-tuning starts from pre-training).
    public var initialWeights: URL?
    /// Where an engine that trains outside this process keeps its files (exported batches, its job, the weights
    /// it hands back); nil: a temporary folder.
    public var workDirectory: URL?
    /// Threads the model trains with (its engine context's); the numbers depend on the count.
    public var threads: Int

    public init(model: ModelConfig, train: TrainConfig, loss: LossConfig, seed: UInt64, split: ImageTextDataset,
                captionEmbeddings: CaptionEmbeddings?, augment: Bool, checkpoint: URL?, initialWeights: URL? = nil,
                threads: Int = 1, workDirectory: URL? = nil) {
        self.model = model
        self.train = train
        self.loss = loss
        self.seed = seed
        self.split = split
        self.captionEmbeddings = captionEmbeddings
        self.augment = augment
        self.checkpoint = checkpoint
        self.initialWeights = initialWeights
        self.workDirectory = workDirectory
        self.threads = threads
    }
}

/// One optimiser step as an engine reports it.
public struct TrainingStep: Sendable {
    /// Steps taken before this one (0 for the first).
    public var step: Int
    /// Epoch index of the step (0 for the first epoch).
    public var epoch: Int
    public var stepsPerEpoch: Int
    public var totalSteps: Int
    public var loss: Double
    /// The loss's named terms (e.g. `infonce`, `imsep`), in the engine's order.
    public var terms: [(name: String, value: Double)]
    public var lr: Double
    public var logitScale: Double
    /// The global gradient norm before clipping, when clipping is on.
    public var gradNorm: Double?
    /// Training throughput, when the engine measures it.
    public var samplesPerSecond: Double?

    public init(step: Int, epoch: Int, stepsPerEpoch: Int, totalSteps: Int, loss: Double,
                terms: [(name: String, value: Double)], lr: Double, logitScale: Double, gradNorm: Double?,
                samplesPerSecond: Double? = nil) {
        self.step = step
        self.epoch = epoch
        self.stepsPerEpoch = stepsPerEpoch
        self.totalSteps = totalSteps
        self.loss = loss
        self.terms = terms
        self.lr = lr
        self.logitScale = logitScale
        self.gradNorm = gradNorm
        self.samplesPerSecond = samplesPerSecond
    }

    /// The fraction of epochs completed after this step, as open_clip logs it.
    public var epochProgress: Double { Double(step + 1) / Double(stepsPerEpoch) }
    public var endsEpoch: Bool { (step + 1) % stepsPerEpoch == 0 }
}

/// Where an engine reports to. The pipeline implements it: it records the numbers in the store as they come.
public protocol TrainingObserver: AnyObject {
    /// The engine resumed from the job's checkpoint, at the start of `epoch` with `step` steps taken.
    func resumed(epoch: Int, step: Int)
    /// After every optimiser step.
    func stepped(_ step: TrainingStep) throws
    /// After epoch `epoch` (counted from 1), before its checkpoint: `model` holds that epoch's weights for
    /// evaluation. What is recorded here is in the store before the checkpoint that a resumed run starts from.
    func epochEnded(epoch: Int, step: Int, model: CLIPModel) throws
    /// After the checkpoint of epoch `epoch` is written to `url`.
    func checkpointWritten(_ url: URL, epoch: Int) throws
    /// Metrics an engine computed itself (open_clip's own evaluation, for a command), under their full keys.
    func recorded(_ metrics: [(key: String, value: Double)], step: Int, epoch: Int) throws
}

extension TrainingObserver {
    public func recorded(_ metrics: [(key: String, value: Double)], step: Int, epoch: Int) throws {}
}

/// A `train.engine` that this build cannot run.
public struct EngineUnavailable: Error, CustomStringConvertible {
    public var engine: String
    public var description: String { "train.engine \"\(engine)\" is not available in this build" }
}

/// The engines `train.engine` names.
public enum TrainingEngines {
    /// The engine of `config.train.engine`, with the run's runtime settings (device, GPUs, threads).
    /// `runID` and `artifacts` fill a command's `{run_id}` and `{artifacts}`.
    public static func engine(for config: RunConfig, runID: String = "", artifacts: URL? = nil) throws -> TrainingEngine {
        switch TrainEngine(rawValue: config.train.engine) {
        case .gaplab: return GapLabEngine()
        case .torch: return TorchEngine(runtime: config.runtime)
        case .command:
            return CommandEngine(config: config, runID: runID,
                                 artifacts: artifacts ?? FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-\(runID)"))
        case nil: throw EngineUnavailable(engine: config.train.engine)
        }
    }
}
