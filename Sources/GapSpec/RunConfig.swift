/// The fully resolved configuration of one training run. Every field has a default (`RunConfig()`), so the
/// defaults tree is `RunConfig()` encoded; a user's file is merged over it and decoded back.
/// Keys are open_clip's where open_clip has one (`lr`, `wd`, `beta1`, `warmup`, `batch_size`, `epochs`, ...).
public struct RunConfig: Codable, Equatable, Hashable, Sendable {
    public var model: ModelConfig = .reference
    public var data: DataConfig = DataConfig()
    public var loss: LossConfig = LossConfig()
    public var train: TrainConfig = TrainConfig()
    public var eval: EvalConfig = EvalConfig()
    /// Contrastive fine-tuning on a downstream set after pre-training; `epochs: 0` means no such stage.
    public var finetune: FinetuneConfig = FinetuneConfig()
    public var seed: Int = 0
    /// Settings that do not change results; left out of a run's identity.
    public var runtime: RuntimeConfig = RuntimeConfig()

    public init() {}
}

/// The training engines a run configuration can name in `train.engine`.
public enum TrainEngine: String, CaseIterable, Codable, Sendable {
    /// GapLab's own Swift engine on the CPU.
    case gaplab
    /// PyTorch with open_clip's model classes (the `gaplab_torch` Python package), on the CPU or CUDA.
    case torch
    /// Any trainer as a command (`train.command`), its metrics read from its output (`train.command_metrics`).
    case command
}

/// `train.command_metrics`: where a command's training metrics come from.
public enum CommandMetrics: String, ConfigChoice, CaseIterable {
    /// GapLab's JSON-lines stream on its standard output (python/README.md), as the torch engine writes it.
    case stream
    /// open_clip_train's log lines (`Train Epoch: ...`) on its standard error and the `results.jsonl` of its
    /// `--logs` folder (`{artifacts}/logs`).
    case openCLIP = "open_clip"
}

/// `train.precision`: the arithmetic of the training step.
public enum TrainPrecision: String, ConfigChoice, CaseIterable {
    /// float32 throughout (the only precision of GapLab's own engine).
    case fp32
    /// bfloat16 autocast on CUDA with float32 weights and optimiser state (the torch engine on a GPU).
    case ampBF16 = "amp_bf16"
}

/// `runtime.device`: where the torch engine trains.
public enum RuntimeDevice: String, ConfigChoice, CaseIterable {
    /// CUDA when PyTorch sees a GPU, else the CPU.
    case auto
    case cpu
    case cuda
}

public struct TrainConfig: Codable, Equatable, Hashable, Sendable {
    /// The engine that trains the run (`TrainEngine`); part of the run's identity, left out of it at its default.
    public var engine: String = TrainEngine.gaplab.rawValue
    public var epochs: Int = 6
    public var batchSize: Int = 128
    public var lr: Double = 1e-3
    public var wd: Double = 0.1
    public var beta1: Double = 0.9
    public var beta2: Double = 0.98
    public var eps: Double = 1e-6
    /// Warm-up steps (linear from lr/warmup to lr), then `lr_scheduler` to 0.
    public var warmup: Int = 100
    public var lrScheduler: LRScheduler = .cosine
    /// Clip the global gradient norm to this value; 0 turns clipping off.
    public var gradClipNorm: Double = 0
    /// false keeps the logit scale fixed at `model.init_logit_scale` (the fixed-temperature arm).
    public var learnLogitScale: Bool = true
    /// Part of the run's identity, left out of it at its default.
    public var precision: TrainPrecision = .fp32
    /// `train.engine: "command"`: the trainer's arguments, the first the program; `{section.key}` is filled
    /// from the resolved configuration, `{artifacts}`, `{run_id}` and `{data.path}` (the path of a `csv:` dataset)
    /// from the run, `{{` and `}}` are braces.
    public var command: [String] = []
    public var commandMetrics: CommandMetrics = .stream
    /// The trained weights the command leaves (a template like `command`'s): safetensors with open_clip names, or
    /// an open_clip `.pt` checkpoint, converted by gaplab_torch. Empty: the run records training metrics only.
    public var commandCheckpoint: String = ""

    public init() {}

    enum CodingKeys: String, CodingKey {
        case engine, epochs, batchSize = "batch_size", lr, wd, beta1, beta2, eps, warmup
        case lrScheduler = "lr_scheduler", gradClipNorm = "grad_clip_norm", learnLogitScale = "learn_logit_scale", precision
        case command, commandMetrics = "command_metrics", commandCheckpoint = "command_checkpoint"
    }
}

public struct LossConfig: Codable, Equatable, Hashable, Sendable {
    /// α, weight of the cross-modal InfoNCE term.
    public var clipWeight: Double = 1
    public var crossReduction: CrossReduction = .sum
    /// β, weight of the intra-modality separation term; 0 turns IMSep off.
    public var imsepWeight: Double = 0
    /// The paper's default separates the images.
    public var imsepModality: IMSepModality = .image
    public var imsepRescale: IMSepRescale = .semantic
    /// The frozen sentence encoder behind D.
    public var semanticEncoder: SemanticEncoderName = .tfidf
    /// CyCLIP's in-modal (λ1) and cross-modal (λ2) consistency weights; 0 turns each off.
    public var cyclipLambda1: Double = 0
    public var cyclipLambda2: Double = 0

    public init() {}

    public init(clipWeight: Double = 1, crossReduction: CrossReduction = .sum, imsepWeight: Double = 0,
                imsepModality: IMSepModality = .image, imsepRescale: IMSepRescale = .semantic,
                semanticEncoder: SemanticEncoderName = .tfidf, cyclipLambda1: Double = 0, cyclipLambda2: Double = 0) {
        self.clipWeight = clipWeight
        self.crossReduction = crossReduction
        self.imsepWeight = imsepWeight
        self.imsepModality = imsepModality
        self.imsepRescale = imsepRescale
        self.semanticEncoder = semanticEncoder
        self.cyclipLambda1 = cyclipLambda1
        self.cyclipLambda2 = cyclipLambda2
    }

    /// True when IMSep needs the caption distance matrix with each batch.
    public var needsSemanticDistance: Bool { imsepWeight > 0 && imsepRescale == .semantic }

    enum CodingKeys: String, CodingKey {
        case clipWeight = "clip_weight", crossReduction = "cross_reduction", imsepWeight = "imsep_weight"
        case imsepModality = "imsep_modality", imsepRescale = "imsep_rescale", semanticEncoder = "semantic_encoder"
        case cyclipLambda1 = "cyclip_lambda1", cyclipLambda2 = "cyclip_lambda2"
    }
}

public struct DataConfig: Codable, Equatable, Hashable, Sendable {
    /// "scenes", "fashion-mnist", "emoji", "digits", or "csv:PATH".
    public var dataset: String = "scenes"
    /// Number of training pairs; 0 takes every pair the source has.
    public var trainSize: Int = 20000
    public var valSize: Int = 1000
    public var testSize: Int = 1000
    /// Seed of the train/val/test split and of generated data; independent of the run's seed.
    public var splitSeed: Int = 0
    /// Random resized crop (scale 0.9–1.0) during training, as the paper.
    public var augment: Bool = true

    public init() {}

    enum CodingKeys: String, CodingKey {
        case dataset, trainSize = "train_size", valSize = "val_size", testSize = "test_size", splitSeed = "split_seed", augment
    }
}

public struct EvalConfig: Codable, Equatable, Hashable, Sendable {
    /// Evaluate at the end of every epoch (cheap metrics) besides the end of the run.
    public var everyEpoch: Bool = true
    /// Split the held-out metrics are computed on.
    public var split: EvalSplit = .test
    public var retrievalK: [Int] = [1, 5, 10]
    public var zeroshot: Bool = true
    public var linearProbe: Bool = true
    /// δ values of the post-hoc shift (Liang et al.); empty turns the arm off.
    public var posthocShift: [Double] = []
    /// Write the embedding pictures (projection and paired-cosine CDF) as artifacts.
    public var pictures: Bool = true
    /// Number of pairs drawn (fixed by the seed) for the pictures.
    public var pictureSample: Int = 500

    public init() {}

    enum CodingKeys: String, CodingKey {
        case everyEpoch = "every_epoch", split, retrievalK = "retrieval_k", zeroshot, linearProbe = "linear_probe"
        case posthocShift = "posthoc_shift", pictures, pictureSample = "picture_sample"
    }
}

public struct FinetuneConfig: Codable, Equatable, Hashable, Sendable {
    public var data: DataConfig = DataConfig()
    /// 0: no fine-tuning stage.
    public var epochs: Int = 0
    public var batchSize: Int = 128
    public var lr: Double = 1e-4
    public var wd: Double = 0.1
    public var warmup: Int = 20
    public var lrScheduler: LRScheduler = .cosine

    public init() {}

    enum CodingKeys: String, CodingKey {
        case data, epochs, batchSize = "batch_size", lr, wd, warmup, lrScheduler = "lr_scheduler"
    }
}

/// How a run is executed and logged; none of it changes the numbers for a fixed thread count, so none of it
/// enters the run's identity. (The thread count is recorded with the run's environment.)
public struct RuntimeConfig: Codable, Equatable, Hashable, Sendable {
    public var threads: Int = 1
    /// Log training loss every this many steps.
    public var logEvery: Int = 10
    /// The torch engine's device; GapLab's own engine runs on the CPU only.
    public var device: RuntimeDevice = .auto
    /// GPUs of one node the torch engine trains on (data parallel through torchrun); 1 trains in one process.
    public var gpus: Int = 1

    public init() {}

    enum CodingKeys: String, CodingKey {
        case threads, logEvery = "log_every", device, gpus
    }
}
