import GapEngine
import GapRandom
import GapSpec

/// A CLIP-style model with any sharing depth: weights and gradients in two flat buffers laid out by
/// `ParameterLayout`, towers that point into them, and activation caches sized for `maxBatch`.
/// Shared tensors are used by both towers, so their gradients accumulate from both.
///
/// The model owns its engine context (`engine`): its thread count, worker threads, product kernel and kernel
/// scratch. A model is used by one thread at a time; two models train side by side without sharing any of it.
public final class CLIPModel {
    public let config: ModelConfig
    /// What the model's kernels run on, and what the loss, the optimiser and the evaluation of this model use.
    public let engine: EngineContext
    public let layout: ParameterLayout
    public let weights: FloatBuffer
    public let grads: FloatBuffer
    public private(set) var maxBatch: Int
    private var vision: VisionTower
    private var text: TextTower

    /// A model initialised with open_clip's rules from `seed`.
    public convenience init(config: ModelConfig, seed: UInt64, maxBatch: Int = 128, threads: Int = 1,
                            productKernel: ProductKernel = .tiles) {
        self.init(config: config, maxBatch: maxBatch, threads: threads, productKernel: productKernel)
        initialise(seed: seed)
    }

    /// A model with zero weights (to be loaded from a checkpoint). `threads` and `productKernel` make its
    /// `engine`; the numbers depend on both, and on nothing else of the process.
    public init(config: ModelConfig, maxBatch: Int = 128, threads: Int = 1, productKernel: ProductKernel = .tiles) {
        self.config = config
        engine = EngineContext(threads: threads, productKernel: productKernel)
        layout = ParameterLayout(config: config)
        weights = FloatBuffer(count: layout.totalCount)
        grads = FloatBuffer(count: layout.totalCount)
        self.maxBatch = maxBatch
        vision = VisionTower(engine: engine, config: config, layout: layout, weights: weights.pointer, grads: grads.pointer,
                             maxBatch: maxBatch)
        text = TextTower(engine: engine, config: config, layout: layout, weights: weights.pointer, grads: grads.pointer,
                         maxBatch: maxBatch)
    }

    public var parameterCount: Int { layout.totalCount }

    public func pointer(_ name: String) -> UnsafeMutablePointer<Float> { weights.pointer + layout.offset(name) }
    public func gradPointer(_ name: String) -> UnsafeMutablePointer<Float> { grads.pointer + layout.offset(name) }

    public var logitScale: Float {
        get { pointer("logit_scale").pointee }
        set { pointer("logit_scale").pointee = newValue }
    }

    /// Grows the activation caches when a larger batch comes along (never in the steady state).
    public func reserve(batch: Int) {
        guard batch > maxBatch else { return }
        maxBatch = batch
        vision = VisionTower(engine: engine, config: config, layout: layout, weights: weights.pointer, grads: grads.pointer,
                             maxBatch: batch)
        text = TextTower(engine: engine, config: config, layout: layout, weights: weights.pointer, grads: grads.pointer,
                         maxBatch: batch)
    }

    public func initialise(seed: UInt64) {
        for tensor in layout.tensors {
            var rng = SeededRandom(seed: seed, stream: tensor.name)
            let p = weights.pointer + tensor.offset
            for i in 0..<tensor.count {
                switch tensor.initRule {
                case .zeros: p[i] = 0
                case .ones: p[i] = 1
                case .constant(let v): p[i] = Float(v)
                case .normal(let std): p[i] = Float(rng.gaussian() * std)
                case .uniform(let bound): p[i] = Float(rng.uniform(-bound, bound))
                }
            }
        }
    }

    public func zeroGrads() { grads.zero(engine: engine) }

    /// Training forward pass over one batch; returns pointers to the L2-normalised embeddings [batch, embed_dim],
    /// valid until the next forward call. Activations are kept for `backward`.
    public func forward(images: UnsafePointer<Float>, tokens: UnsafePointer<Int32>, batch: Int)
        -> (image: UnsafeMutablePointer<Float>, text: UnsafeMutablePointer<Float>) {
        reserve(batch: batch)
        return (vision.forward(images: images, batch: batch, training: true), text.forward(tokens: tokens, batch: batch, training: true))
    }

    /// Backward from gradients of the loss with respect to the normalised embeddings of the last `forward`.
    /// Parameter gradients accumulate into `grads` (call `zeroGrads` first).
    public func backward(imageEmbedGrad: UnsafePointer<Float>, textEmbedGrad: UnsafePointer<Float>) {
        vision.backward(embedGrad: imageEmbedGrad)
        text.backward(embedGrad: textEmbedGrad)
    }

    /// Inference: embeds `count` images [count, 3, H, W] into out [count, embed_dim] in batches of `maxBatch`.
    public func encodeImages(_ images: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Float>) {
        let v = config.vision, per = 3 * v.imageSize * v.imageSize, E = config.embedDim
        var start = 0
        while start < count {
            let n = min(maxBatch, count - start)
            let e = vision.forward(images: images + start * per, batch: n, training: false)
            (out + start * E).update(from: e, count: n * E)
            start += n
        }
    }

    /// Inference: embeds `count` token rows [count, context] into out [count, embed_dim].
    ///
    /// The text tower cuts each batch after its last end-of-text token (`TextTower.forward`). Captions of all lengths
    /// in one batch would keep it near the full context, so when there is more than one batch the captions go in
    /// order of length (a stable order, fixed by the tokens alone), and each embedding is written back to its row.
    public func encodeTexts(_ tokens: UnsafePointer<Int32>, count: Int, into out: UnsafeMutablePointer<Float>) {
        let ctx = config.text.contextLength, E = config.embedDim
        guard count > maxBatch else {
            if count > 0 { out.update(from: text.forward(tokens: tokens, batch: count, training: false), count: count * E) }
            return
        }
        let ends = Int32Buffer(count: count)
        endOfTextPositions(ids: tokens, batch: count, context: ctx, into: ends.pointer)
        let order = (0..<count).sorted { (ends.pointer[$0], $0) < (ends.pointer[$1], $1) }
        let batchTokens = Int32Buffer(count: maxBatch * ctx)
        var start = 0
        while start < count {
            let rows = order[start..<min(count, start + maxBatch)]
            for (i, row) in rows.enumerated() { (batchTokens.pointer + i * ctx).update(from: tokens + row * ctx, count: ctx) }
            let e = text.forward(tokens: batchTokens.pointer, batch: rows.count, training: false)
            for (i, row) in rows.enumerated() { (out + row * E).update(from: e + i * E, count: E) }
            start += rows.count
        }
    }
}

func blockTensors(_ base: UnsafeMutablePointer<Float>, _ layout: ParameterLayout, _ prefix: String) -> BlockTensors {
    func p(_ s: String) -> UnsafeMutablePointer<Float> { base + layout.offset("\(prefix).\(s)") }
    return BlockTensors(ln1Weight: p("ln_1.weight"), ln1Bias: p("ln_1.bias"),
                        inProjWeight: p("attn.in_proj_weight"), inProjBias: p("attn.in_proj_bias"),
                        outProjWeight: p("attn.out_proj.weight"), outProjBias: p("attn.out_proj.bias"),
                        ln2Weight: p("ln_2.weight"), ln2Bias: p("ln_2.bias"),
                        fcWeight: p("mlp.c_fc.weight"), fcBias: p("mlp.c_fc.bias"),
                        projWeight: p("mlp.c_proj.weight"), projBias: p("mlp.c_proj.bias"))
}
