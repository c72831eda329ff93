/// A setting that takes one of a fixed set of values, written in JSON as a string. The schema, the messages
/// and decoding all read the valid values from the type, so a new case is accepted everywhere at once.
public protocol ConfigChoice: RawRepresentable, Codable, Hashable, Sendable where RawValue == String {
    /// Every value a configuration may give, as messages list them ("labels:AXIS" stands for a family).
    static var validValues: [String] { get }
    /// True when `text` names a value of this type.
    static func accepts(_ text: String) -> Bool
    /// What is wrong with `text`, with the valid values and the nearest one.
    static func unknownValueMessage(_ text: String) -> String
}

extension ConfigChoice where Self: CaseIterable {
    public static var validValues: [String] { allCases.map(\.rawValue) }
}

extension ConfigChoice {
    public static func accepts(_ text: String) -> Bool { Self(rawValue: text) != nil }

    public static func unknownValueMessage(_ text: String) -> String { unknownChoiceMessage(text, validValues: validValues) }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = Self(rawValue: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: Self.unknownValueMessage(text))
        }
        self = value
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// `expected one of "sum", "mean", got "avg"; did you mean "sum"?`: the message for a value outside its choices.
func unknownChoiceMessage(_ text: String, validValues: [String]) -> String {
    let near = Suggestion.closest(to: text, among: validValues).map { "; did you mean \"\($0)\"?" } ?? ""
    return "expected one of \(validValues.map { "\"\($0)\"" }.joined(separator: ", ")), got \"\(text)\"\(near)"
}

/// `train.lr_scheduler` and `finetune.lr_scheduler`: open_clip's schedule names.
public enum LRScheduler: String, ConfigChoice, CaseIterable {
    /// `cosine_lr`: linear warm-up, then half a cosine from the base rate to 0 at the last step.
    case cosine
    /// `const_lr`: linear warm-up, then the base rate.
    case const
}

/// `loss.cross_reduction`: how the two InfoNCE directions are combined.
public enum CrossReduction: String, ConfigChoice, CaseIterable {
    /// CE(image→text) + CE(text→image): the AlignCLIP reference code's L_cross, the default.
    case sum
    /// Half of the sum: open_clip's ClipLoss.
    case mean
}

/// `loss.imsep_modality`: which modality IMSep separates.
public enum IMSepModality: String, ConfigChoice, CaseIterable {
    case image, text
    /// The image term plus the text term, each a mean cross-entropy over the batch, so β weights each of them
    /// fully (as the public AlignCLIP README trains both) rather than their average.
    case both
}

/// `loss.imsep_rescale`: what scales the off-diagonal IMSep logits.
public enum IMSepRescale: String, ConfigChoice, CaseIterable {
    /// The caption distance matrix D passed with the batch.
    case semantic
    /// 1 off the diagonal: the ablation without semantic re-scaling.
    case hollow
}

/// `eval.split`: the split the held-out metrics are computed on.
public enum EvalSplit: String, ConfigChoice, CaseIterable {
    case val, test
}

/// `loss.semantic_encoder`: the frozen sentence encoder behind IMSep's caption distances.
public enum SemanticEncoderName: ConfigChoice {
    /// Unigram+bigram TF-IDF of the training captions (pure Swift).
    case tfidf
    /// One-hots of a label axis of the training split: the one named (`labels:AXIS`), or the first.
    case labels(axis: String?)
    /// all-MiniLM-L6-v2 through sentence-transformers.
    case minilm

    public static let validValues = ["tfidf", "labels", "labels:AXIS", "minilm"]

    public init?(rawValue: String) {
        switch rawValue {
        case "tfidf": self = .tfidf
        case "labels": self = .labels(axis: nil)
        case "minilm": self = .minilm
        default:
            let prefix = "labels:"
            guard rawValue.hasPrefix(prefix), rawValue.count > prefix.count else { return nil }
            self = .labels(axis: String(rawValue.dropFirst(prefix.count)))
        }
    }

    public var rawValue: String {
        switch self {
        case .tfidf: return "tfidf"
        case .labels(let axis): return axis.map { "labels:\($0)" } ?? "labels"
        case .minilm: return "minilm"
        }
    }
}
