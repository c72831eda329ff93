/// open_clip's model configuration JSON (`embed_dim`, `vision_cfg`, `text_cfg`) plus GapLab's `sharing`.
/// Defaults follow open_clip's `CLIPVisionCfg` / `CLIPTextCfg`.
public struct ModelConfig: Codable, Equatable, Hashable, Sendable {
    public var embedDim: Int
    public var quickGelu: Bool
    /// open_clip's `init_logit_scale`: ln(1/τ₀); CLIP's usual start is ln(1/0.07).
    public var initLogitScale: Double
    public var vision: VisionConfig
    public var text: TextConfig
    public var sharing: SharingConfig

    public static let clipLogitScale = 2.6592600369262695  // ln(1/0.07) as float32, as open_clip stores it

    public init(embedDim: Int, vision: VisionConfig, text: TextConfig, sharing: SharingConfig = .init(), quickGelu: Bool = false,
                initLogitScale: Double = ModelConfig.clipLogitScale) {
        self.embedDim = embedDim
        self.initLogitScale = initLogitScale
        self.vision = vision
        self.text = text
        self.sharing = sharing
        self.quickGelu = quickGelu
    }

    enum CodingKeys: String, CodingKey {
        case embedDim = "embed_dim"
        case quickGelu = "quick_gelu"
        case initLogitScale = "init_logit_scale"
        case vision = "vision_cfg"
        case text = "text_cfg"
        case sharing
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        embedDim = try c.decode(Int.self, forKey: .embedDim)
        quickGelu = try c.decodeIfPresent(Bool.self, forKey: .quickGelu) ?? false
        initLogitScale = try c.decodeIfPresent(Double.self, forKey: .initLogitScale) ?? ModelConfig.clipLogitScale
        vision = try c.decodeIfPresent(VisionConfig.self, forKey: .vision) ?? VisionConfig()
        text = try c.decodeIfPresent(TextConfig.self, forKey: .text) ?? TextConfig()
        sharing = try c.decodeIfPresent(SharingConfig.self, forKey: .sharing) ?? SharingConfig()
    }

    /// The reference configuration of the benchmark and the shipped experiments' default size.
    public static let reference = ModelConfig(
        embedDim: 128,
        vision: VisionConfig(imageSize: 32, patchSize: 4, width: 128, layers: 4, headWidth: 32, mlpRatio: 4),
        text: TextConfig(contextLength: 32, vocabSize: 1024, width: 128, heads: 4, layers: 4, mlpRatio: 4))

    public var isTwoTower: Bool { sharing.depth == 0 && !sharing.head }
    public var isFullyShared: Bool { sharing.depth == vision.layers && sharing.head }

    /// Every problem that makes this model impossible to build, with the key and value at fault.
    public func issues(at prefix: String = "") -> [ConfigIssue] {
        func p(_ s: String) -> String { prefix.isEmpty ? s : "\(prefix).\(s)" }
        var out: [ConfigIssue] = []
        if embedDim < 1 { out.append(.init(path: p("embed_dim"), message: "expected a positive integer, got \(embedDim)")) }
        if quickGelu { out.append(.init(path: p("quick_gelu"), message: "QuickGELU is not supported; GapLab uses exact (erf) GELU as open_clip does by default — set it to false")) }
        let v = vision, t = text
        for (key, value) in [("image_size", v.imageSize), ("patch_size", v.patchSize), ("width", v.width), ("layers", v.layers)] where value < 1 {
            out.append(.init(path: p("vision_cfg.\(key)"), message: "expected a positive integer, got \(value)"))
        }
        for (key, value) in [("context_length", t.contextLength), ("vocab_size", t.vocabSize), ("width", t.width), ("heads", t.heads), ("layers", t.layers)] where value < 1 {
            out.append(.init(path: p("text_cfg.\(key)"), message: "expected a positive integer, got \(value)"))
        }
        if v.patchSize > 0 && v.imageSize % v.patchSize != 0 {
            out.append(.init(path: p("vision_cfg.patch_size"), message: "image_size \(v.imageSize) is not a multiple of patch_size \(v.patchSize)"))
        }
        if v.width > 0 && v.heads > 0 && v.width % v.heads != 0 || v.heads < 1 {
            out.append(.init(path: p("vision_cfg.head_width"), message: "width \(v.width) must split evenly into heads (head_width \(v.headWidth.map(String.init) ?? "-"), heads \(v.heads))"))
        }
        if t.heads > 0 && t.width % t.heads != 0 {
            out.append(.init(path: p("text_cfg.heads"), message: "width \(t.width) is not divisible by heads \(t.heads)"))
        }
        if v.mlpRatio <= 0 { out.append(.init(path: p("vision_cfg.mlp_ratio"), message: "expected a positive number, got \(v.mlpRatio)")) }
        if t.mlpRatio <= 0 { out.append(.init(path: p("text_cfg.mlp_ratio"), message: "expected a positive number, got \(t.mlpRatio)")) }
        out += sharingIssues(prefix: prefix)
        return out
    }

    private func sharingIssues(prefix: String) -> [ConfigIssue] {
        func p(_ s: String) -> String { prefix.isEmpty ? s : "\(prefix).\(s)" }
        let s = sharing, v = vision, t = text
        var out: [ConfigIssue] = []
        if s.depth < 0 {
            out.append(.init(path: p("sharing.depth"), message: "expected 0…layers, got \(s.depth)"))
        }
        if s.depth > min(v.layers, t.layers) {
            out.append(.init(path: p("sharing.depth"), message: "sharing.depth = \(s.depth) exceeds the towers' layers (vision_cfg.layers = \(v.layers), text_cfg.layers = \(t.layers))"))
        }
        let needsEqualWidth = s.depth > 0 || s.head
        if needsEqualWidth && v.width != t.width {
            out.append(.init(path: p("sharing"), message: "sharing (depth \(s.depth), head \(s.head)) needs equal widths, but vision_cfg.width = \(v.width) and text_cfg.width = \(t.width)"))
        }
        if s.depth > 0 {
            if v.heads != t.heads {
                out.append(.init(path: p("sharing.depth"), message: "shared blocks need equal head counts, but vision has \(v.heads) (width \(v.width) / head_width \(v.headWidth.map(String.init) ?? "-")) and text_cfg.heads = \(t.heads)"))
            }
            if v.mlpRatio != t.mlpRatio {
                out.append(.init(path: p("sharing.depth"), message: "shared blocks need equal mlp_ratio, but vision_cfg.mlp_ratio = \(v.mlpRatio) and text_cfg.mlp_ratio = \(t.mlpRatio)"))
            }
        }
        return out
    }
}

public struct VisionConfig: Codable, Equatable, Hashable, Sendable {
    public var imageSize: Int
    public var patchSize: Int
    public var width: Int
    public var layers: Int
    /// open_clip gives heads as width / head_width; `heads` may be given directly instead.
    public var headWidth: Int?
    public var explicitHeads: Int?
    public var mlpRatio: Double

    public init(imageSize: Int = 224, patchSize: Int = 16, width: Int = 768, layers: Int = 12, headWidth: Int? = 64, heads: Int? = nil, mlpRatio: Double = 4) {
        self.imageSize = imageSize
        self.patchSize = patchSize
        self.width = width
        self.layers = layers
        self.headWidth = heads == nil ? headWidth : nil
        self.explicitHeads = heads
        self.mlpRatio = mlpRatio
    }

    public var heads: Int {
        if let h = explicitHeads { return h }
        guard let hw = headWidth, hw > 0 else { return 0 }
        return width / hw
    }
    public var gridSize: Int { patchSize > 0 ? imageSize / patchSize : 0 }
    public var patchCount: Int { gridSize * gridSize }
    public var tokens: Int { patchCount + 1 }
    public var mlpWidth: Int { Int(Double(width) * mlpRatio) }

    enum CodingKeys: String, CodingKey {
        case imageSize = "image_size", patchSize = "patch_size", width, layers
        case headWidth = "head_width", heads, mlpRatio = "mlp_ratio"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = VisionConfig()
        imageSize = try c.decodeIfPresent(Int.self, forKey: .imageSize) ?? d.imageSize
        patchSize = try c.decodeIfPresent(Int.self, forKey: .patchSize) ?? d.patchSize
        width = try c.decodeIfPresent(Int.self, forKey: .width) ?? d.width
        layers = try c.decodeIfPresent(Int.self, forKey: .layers) ?? d.layers
        explicitHeads = try c.decodeIfPresent(Int.self, forKey: .heads)
        headWidth = explicitHeads == nil ? (try c.decodeIfPresent(Int.self, forKey: .headWidth) ?? 64) : nil
        mlpRatio = try c.decodeIfPresent(Double.self, forKey: .mlpRatio) ?? d.mlpRatio
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(imageSize, forKey: .imageSize)
        try c.encode(patchSize, forKey: .patchSize)
        try c.encode(width, forKey: .width)
        try c.encode(layers, forKey: .layers)
        if let h = explicitHeads { try c.encode(h, forKey: .heads) } else { try c.encodeIfPresent(headWidth, forKey: .headWidth) }
        try c.encode(mlpRatio, forKey: .mlpRatio)
    }
}

public struct TextConfig: Codable, Equatable, Hashable, Sendable {
    public var contextLength: Int
    public var vocabSize: Int
    public var width: Int
    public var heads: Int
    public var layers: Int
    public var mlpRatio: Double

    public init(contextLength: Int = 77, vocabSize: Int = 49408, width: Int = 512, heads: Int = 8, layers: Int = 12, mlpRatio: Double = 4) {
        self.contextLength = contextLength
        self.vocabSize = vocabSize
        self.width = width
        self.heads = heads
        self.layers = layers
        self.mlpRatio = mlpRatio
    }

    public var mlpWidth: Int { Int(Double(width) * mlpRatio) }

    enum CodingKeys: String, CodingKey {
        case contextLength = "context_length", vocabSize = "vocab_size", width, heads, layers, mlpRatio = "mlp_ratio"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = TextConfig()
        contextLength = try c.decodeIfPresent(Int.self, forKey: .contextLength) ?? d.contextLength
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? d.vocabSize
        width = try c.decodeIfPresent(Int.self, forKey: .width) ?? d.width
        heads = try c.decodeIfPresent(Int.self, forKey: .heads) ?? d.heads
        layers = try c.decodeIfPresent(Int.self, forKey: .layers) ?? d.layers
        mlpRatio = try c.decodeIfPresent(Double.self, forKey: .mlpRatio) ?? d.mlpRatio
    }
}

/// GapLab's generalisation of SharedCLIP: the top `depth` blocks are shared, and `head` shares the final
/// LayerNorm and projection. depth 0 without head is CLIP; depth = layers with head is SharedCLIP.
public struct SharingConfig: Codable, Equatable, Hashable, Sendable {
    public var depth: Int
    public var head: Bool

    public init(depth: Int = 0, head: Bool = false) {
        self.depth = depth
        self.head = head
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        depth = try c.decodeIfPresent(Int.self, forKey: .depth) ?? 0
        head = try c.decodeIfPresent(Bool.self, forKey: .head) ?? false
    }
}
