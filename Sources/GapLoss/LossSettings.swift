/// The loss part of a run's configuration, as GapLoss needs it.
///
/// Mirrors `GapSpec.LossConfig` field for field (same names, types and defaults) so the trainer maps one to the
/// other line by line; GapLoss stays below GapSpec in the stage order and so cannot use that type itself.
/// `semantic_encoder` is absent on purpose: the loss only sees the distance matrix the encoder produced.
public struct LossSettings: Equatable, Sendable {
    /// α, weight of the cross-modal InfoNCE term.
    public var clipWeight: Double = 1
    /// "sum": CE(image→text) + CE(text→image), as the AlignCLIP reference code; "mean": half of that, as open_clip's ClipLoss.
    public var crossReduction: String = "sum"
    /// β, weight of the intra-modality separation term; 0 turns IMSep off.
    public var imsepWeight: Double = 0
    /// "image" (paper default), "text" or "both".
    public var imsepModality: String = "image"
    /// "semantic": off-diagonal logits scaled by caption distance D; "hollow": D = 1 off the diagonal.
    public var imsepRescale: String = "semantic"
    /// CyCLIP's in-modal (λ1) and cross-modal (λ2) consistency weights; 0 turns each off.
    public var cyclipLambda1: Double = 0
    public var cyclipLambda2: Double = 0

    public init() {}

    public init(clipWeight: Double = 1, crossReduction: String = "sum", imsepWeight: Double = 0,
                imsepModality: String = "image", imsepRescale: String = "semantic",
                cyclipLambda1: Double = 0, cyclipLambda2: Double = 0) {
        self.clipWeight = clipWeight
        self.crossReduction = crossReduction
        self.imsepWeight = imsepWeight
        self.imsepModality = imsepModality
        self.imsepRescale = imsepRescale
        self.cyclipLambda1 = cyclipLambda1
        self.cyclipLambda2 = cyclipLambda2
    }
}

/// How the two InfoNCE directions are combined.
public enum CrossReduction: String, Sendable {
    /// CE(image→text) + CE(text→image): the AlignCLIP reference code's L_cross, the default.
    case sum
    /// Half of the sum: open_clip's ClipLoss.
    case mean
}

/// Which modality IMSep separates.
public enum IMSepModality: String, Sendable {
    case image, text
    /// The image term plus the text term, each a mean cross-entropy over the batch, so β weights each of them
    /// fully (as the public AlignCLIP README trains both) rather than their average.
    case both
}

/// What scales the off-diagonal IMSep logits.
public enum IMSepRescale: String, Sendable {
    /// The caption distance matrix D passed with the batch.
    case semantic
    /// 1 off the diagonal: the ablation without semantic re-scaling.
    case hollow
}

/// A setting that names no known option.
public struct LossSettingsError: Error, CustomStringConvertible, Equatable {
    /// The configuration key, e.g. "loss.cross_reduction".
    public var key: String
    public var value: String
    public var expected: String

    public var description: String {
        "\(key): unknown value \"\(value)\", expected \(expected)"
    }
}

/// `LossSettings` checked and turned into enums once, so the training step does no string work.
public struct ResolvedLossSettings: Equatable, Sendable {
    public var clipWeight: Double
    public var crossReduction: CrossReduction
    public var imsepWeight: Double
    public var imsepModality: IMSepModality
    public var imsepRescale: IMSepRescale
    public var cyclipLambda1: Double
    public var cyclipLambda2: Double

    public init(_ settings: LossSettings) throws {
        guard let reduction = CrossReduction(rawValue: settings.crossReduction) else {
            throw LossSettingsError(key: "loss.cross_reduction", value: settings.crossReduction, expected: "\"sum\" or \"mean\"")
        }
        guard let modality = IMSepModality(rawValue: settings.imsepModality) else {
            throw LossSettingsError(key: "loss.imsep_modality", value: settings.imsepModality,
                                    expected: "\"image\", \"text\" or \"both\"")
        }
        guard let rescale = IMSepRescale(rawValue: settings.imsepRescale) else {
            throw LossSettingsError(key: "loss.imsep_rescale", value: settings.imsepRescale, expected: "\"semantic\" or \"hollow\"")
        }
        let weights: [(String, Double)] = [
            ("loss.clip_weight", settings.clipWeight), ("loss.imsep_weight", settings.imsepWeight),
            ("loss.cyclip_lambda1", settings.cyclipLambda1), ("loss.cyclip_lambda2", settings.cyclipLambda2),
        ]
        for (key, weight) in weights where !(weight.isFinite && weight >= 0) {
            throw LossSettingsError(key: key, value: "\(weight)", expected: "a finite number ≥ 0")
        }
        clipWeight = settings.clipWeight
        crossReduction = reduction
        imsepWeight = settings.imsepWeight
        imsepModality = modality
        imsepRescale = rescale
        cyclipLambda1 = settings.cyclipLambda1
        cyclipLambda2 = settings.cyclipLambda2
    }

    /// True when IMSep needs the caption distance matrix with each batch.
    public var needsSemanticDistance: Bool { imsepWeight > 0 && imsepRescale == .semantic }
}
