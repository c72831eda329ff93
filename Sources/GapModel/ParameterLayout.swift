import GapSpec

/// How a tensor is initialised; the rules are open_clip's (see openclip-params.txt).
public enum InitRule: Equatable {
    case zeros, ones
    case normal(std: Double)
    case uniform(bound: Double)
    case constant(Double)
}

/// One named tensor inside the model's flat parameter buffer.
public struct TensorInfo: Equatable {
    public let name: String
    public let shape: [Int]
    public let offset: Int
    public let initRule: InitRule
    public var count: Int { shape.reduce(1, *) }
}

/// Names, shapes and offsets of every parameter, in checkpoint order.
///
/// Naming (a checkpoint is readable by the tool its layout comes from):
/// - two towers (`sharing.depth = 0`, `head = false`): open_clip's CLIP state-dict names exactly;
/// - fully shared (`depth = layers`, `head = true`): the AlignCLIP reference code's names
///   (`transformer.resblocks.N`, `ln_post`, `projection`, `text.token_embedding.weight`, ...);
/// - anything in between: open_clip's names for everything modality-specific, `shared.resblocks.N` for
///   shared blocks (N = the block's index counted in the vision tower) and `shared.ln_post`,
///   `shared.projection` for a shared head.
public struct ParameterLayout {
    public private(set) var tensors: [TensorInfo] = []
    public private(set) var totalCount = 0
    private var index: [String: Int] = [:]

    public let config: ModelConfig

    public init(config: ModelConfig) {
        self.config = config
        build()
    }

    public func info(_ name: String) -> TensorInfo? { index[name].map { tensors[$0] } }

    public func offset(_ name: String) -> Int {
        guard let i = index[name] else { preconditionFailure("no parameter named \(name)") }
        return tensors[i].offset
    }

    private mutating func add(_ name: String, _ shape: [Int], _ rule: InitRule) {
        index[name] = tensors.count
        tensors.append(TensorInfo(name: name, shape: shape, offset: totalCount, initRule: rule))
        totalCount += shape.reduce(1, *)
    }

    public enum Naming { case openCLIP, alignCLIP, partial }

    public var naming: Naming {
        if config.isTwoTower { return .openCLIP }
        if config.isFullyShared && config.vision.layers == config.text.layers { return .alignCLIP }
        return .partial
    }

    /// Names of the blocks each tower runs, bottom to top (shared ones appear in both lists).
    public var visionBlockNames: [String] {
        let v = config.vision.layers, k = config.sharing.depth
        return (0..<(v - k)).map { "visual.transformer.resblocks.\($0)" } + sharedBlockNames
    }

    public var textBlockNames: [String] {
        let t = config.text.layers, k = config.sharing.depth
        return (0..<(t - k)).map { "transformer.resblocks.\($0)" } + sharedBlockNames
    }

    public var sharedBlockNames: [String] {
        let v = config.vision.layers, k = config.sharing.depth
        switch naming {
        case .openCLIP: return []
        case .alignCLIP: return (0..<k).map { "transformer.resblocks.\($0)" }
        case .partial: return ((v - k)..<v).map { "shared.resblocks.\($0)" }
        }
    }

    /// (final LayerNorm prefix, projection name) of each tower.
    public var visionHead: (ln: String, projection: String) {
        switch naming {
        case .openCLIP: return ("visual.ln_post", "visual.proj")
        case .alignCLIP: return ("ln_post", "projection")
        case .partial: return config.sharing.head ? ("shared.ln_post", "shared.projection") : ("visual.ln_post", "visual.proj")
        }
    }

    public var textHead: (ln: String, projection: String) {
        switch naming {
        case .openCLIP: return ("ln_final", "text_projection")
        case .alignCLIP: return ("ln_post", "projection")
        case .partial: return config.sharing.head ? ("shared.ln_post", "shared.projection") : ("ln_final", "text_projection")
        }
    }

    public var textEmbeddingNames: (token: String, positional: String) {
        naming == .alignCLIP ? ("text.token_embedding.weight", "text.positional_embedding")
                             : ("token_embedding.weight", "positional_embedding")
    }

    private mutating func build() {
        let c = config, v = c.vision, t = c.text, E = c.embedDim
        let vw = Double(v.width), tw = Double(t.width)
        let textNames = textEmbeddingNames

        // open_clip's state-dict order: text embeddings and projection, logit scale, visual, text transformer.
        add(textNames.positional, [t.contextLength, t.width], .normal(std: 0.01))
        if textHead.projection == "text_projection" { add("text_projection", [t.width, E], .normal(std: 1 / tw.squareRoot())) }
        add("logit_scale", [], .constant(c.initLogitScale))

        add("visual.class_embedding", [v.width], .normal(std: 1 / vw.squareRoot()))
        add("visual.positional_embedding", [v.tokens, v.width], .normal(std: 1 / vw.squareRoot()))
        if visionHead.projection == "visual.proj" { add("visual.proj", [v.width, E], .normal(std: 1 / vw.squareRoot())) }
        add("visual.conv1.weight", [v.width, 3, v.patchSize, v.patchSize],
            .uniform(bound: 1 / Double(3 * v.patchSize * v.patchSize).squareRoot()))
        add("visual.ln_pre.weight", [v.width], .ones)
        add("visual.ln_pre.bias", [v.width], .zeros)
        for name in visionBlockNames where name.hasPrefix("visual.") { addVisionBlock(name, width: v.width, mlp: v.mlpWidth) }
        if visionHead.ln == "visual.ln_post" {
            add("visual.ln_post.weight", [v.width], .ones)
            add("visual.ln_post.bias", [v.width], .zeros)
        }

        for name in textBlockNames where !sharedBlockNames.contains(name) {
            addTextStyleBlock(name, width: t.width, mlp: t.mlpWidth, layers: t.layers)
        }
        for name in sharedBlockNames { addTextStyleBlock(name, width: t.width, mlp: t.mlpWidth, layers: t.layers) }
        add(textNames.token, [t.vocabSize, t.width], .normal(std: 0.02))
        if textHead.ln == "ln_final" {
            add("ln_final.weight", [t.width], .ones)
            add("ln_final.bias", [t.width], .zeros)
        }
        if c.sharing.head {
            add("\(visionHead.ln).weight", [t.width], .ones)
            add("\(visionHead.ln).bias", [t.width], .zeros)
            add(visionHead.projection, [t.width, E], .normal(std: 1 / tw.squareRoot()))
        }
    }

    /// open_clip's VisionTransformer leaves blocks at torch's defaults: xavier q|k|v, Linear's U(±1/√fan_in).
    private mutating func addVisionBlock(_ p: String, width C: Int, mlp M: Int) {
        let c = Double(C), m = Double(M)
        add("\(p).ln_1.weight", [C], .ones)
        add("\(p).ln_1.bias", [C], .zeros)
        add("\(p).attn.in_proj_weight", [3 * C, C], .uniform(bound: (6 / (c + 3 * c)).squareRoot()))
        add("\(p).attn.in_proj_bias", [3 * C], .zeros)
        add("\(p).attn.out_proj.weight", [C, C], .uniform(bound: 1 / c.squareRoot()))
        add("\(p).attn.out_proj.bias", [C], .zeros)
        add("\(p).ln_2.weight", [C], .ones)
        add("\(p).ln_2.bias", [C], .zeros)
        add("\(p).mlp.c_fc.weight", [M, C], .uniform(bound: 1 / c.squareRoot()))
        add("\(p).mlp.c_fc.bias", [M], .uniform(bound: 1 / c.squareRoot()))
        add("\(p).mlp.c_proj.weight", [C, M], .uniform(bound: 1 / m.squareRoot()))
        add("\(p).mlp.c_proj.bias", [C], .uniform(bound: 1 / m.squareRoot()))
    }

    /// open_clip's text-transformer init (CLIP.init_parameters), also used for shared blocks.
    private mutating func addTextStyleBlock(_ p: String, width C: Int, mlp M: Int, layers L: Int) {
        let c = Double(C), m = Double(M)
        let attnStd = 1 / c.squareRoot()
        let projStd = attnStd / (2 * Double(L)).squareRoot()
        let fcStd = 1 / (2 * c).squareRoot()
        add("\(p).ln_1.weight", [C], .ones)
        add("\(p).ln_1.bias", [C], .zeros)
        add("\(p).attn.in_proj_weight", [3 * C, C], .normal(std: attnStd))
        add("\(p).attn.in_proj_bias", [3 * C], .zeros)
        add("\(p).attn.out_proj.weight", [C, C], .normal(std: projStd))
        add("\(p).attn.out_proj.bias", [C], .zeros)
        add("\(p).ln_2.weight", [C], .ones)
        add("\(p).ln_2.bias", [C], .zeros)
        add("\(p).mlp.c_fc.weight", [M, C], .normal(std: fcStd))
        add("\(p).mlp.c_fc.bias", [M], .uniform(bound: 1 / c.squareRoot()))
        add("\(p).mlp.c_proj.weight", [C, M], .normal(std: projStd))
        add("\(p).mlp.c_proj.bias", [C], .uniform(bound: 1 / m.squareRoot()))
    }
}
