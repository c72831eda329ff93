import GapEngine
import GapSpec

/// ViT: patch conv (as one product) → class token → positional embedding → ln_pre → blocks → CLS head.
final class VisionTower {
    let engine: EngineContext
    let config: VisionConfig
    let stack: TransformerStack
    let head: EmbeddingHead
    let conv, classEmbedding, positional, lnPreWeight, lnPreBias: UnsafeMutablePointer<Float>
    let dconv, dclass, dpositional, dlnPreWeight, dlnPreBias: UnsafeMutablePointer<Float>
    let patches, patchEmbeds, tokens, lnPreMean, lnPreRstd, dtokens, dpatchEmbeds: FloatBuffer
    private var batch = 0

    init(engine: EngineContext, config model: ModelConfig, layout: ParameterLayout, weights w: UnsafeMutablePointer<Float>,
         grads g: UnsafeMutablePointer<Float>, maxBatch: Int) {
        let v = model.vision
        self.engine = engine
        config = v
        stack = TransformerStack(engine: engine, blockNames: layout.visionBlockNames, layout: layout, weights: w, grads: g, maxBatch: maxBatch,
                                 tokens: v.tokens, width: v.width, heads: v.heads, mlpWidth: v.mlpWidth, causal: false)
        head = EmbeddingHead(engine: engine, lnPrefix: layout.visionHead.ln, projectionName: layout.visionHead.projection, layout: layout,
                             weights: w, grads: g, maxBatch: maxBatch, width: v.width, embedDim: model.embedDim)
        func o(_ n: String) -> Int { layout.offset(n) }
        conv = w + o("visual.conv1.weight"); dconv = g + o("visual.conv1.weight")
        classEmbedding = w + o("visual.class_embedding"); dclass = g + o("visual.class_embedding")
        positional = w + o("visual.positional_embedding"); dpositional = g + o("visual.positional_embedding")
        lnPreWeight = w + o("visual.ln_pre.weight"); dlnPreWeight = g + o("visual.ln_pre.weight")
        lnPreBias = w + o("visual.ln_pre.bias"); dlnPreBias = g + o("visual.ln_pre.bias")
        let patchLen = 3 * v.patchSize * v.patchSize
        patches = FloatBuffer(count: maxBatch * v.patchCount * patchLen)
        patchEmbeds = FloatBuffer(count: maxBatch * v.patchCount * v.width)
        tokens = FloatBuffer(count: maxBatch * v.tokens * v.width)
        lnPreMean = FloatBuffer(count: maxBatch * v.tokens)
        lnPreRstd = FloatBuffer(count: maxBatch * v.tokens)
        dtokens = FloatBuffer(count: maxBatch * v.tokens * v.width)
        dpatchEmbeds = FloatBuffer(count: maxBatch * v.patchCount * v.width)
    }

    func forward(images: UnsafePointer<Float>, batch: Int, training: Bool) -> UnsafeMutablePointer<Float> {
        self.batch = batch
        let v = config, patchLen = 3 * v.patchSize * v.patchSize
        im2patches(engine: engine, out: patches.pointer, images: images, batch: batch, channels: 3, imageSize: v.imageSize, patchSize: v.patchSize)
        linearForward(engine: engine, out: patchEmbeds.pointer, inp: patches.pointer, weight: conv, bias: nil,
                      rows: batch * v.patchCount, inDim: patchLen, outDim: v.width, rowsAlone: !training)
        visionTokensForward(out: tokens.pointer, patchEmbeds: patchEmbeds.pointer, classEmbedding: classEmbedding,
                            positional: positional, batch: batch, patches: v.patchCount, width: v.width)
        layerNormForward(engine: engine, out: stack.input, mean: lnPreMean.pointer, rstd: lnPreRstd.pointer, inp: tokens.pointer,
                         weight: lnPreWeight, bias: lnPreBias, rows: batch * v.tokens, dim: v.width)
        if !training, !stack.weights.isEmpty {
            // Inference reads the class token alone: the last block runs for it only.
            let pooled = stack.forwardPooled(batch: batch, positions: nil)
            return head.forward(from: pooled, positions: nil, batch: batch, tokens: 1, training: false)
        }
        stack.forward(batch: batch, training: training)
        return head.forward(from: stack.output, positions: nil, batch: batch, tokens: v.tokens, training: training)
    }

    func backward(embedGrad: UnsafePointer<Float>) {
        let v = config, patchLen = 3 * v.patchSize * v.patchSize
        head.backward(embedGrad: embedGrad, into: stack.dresidual.pointer, positions: nil, batch: batch, tokens: v.tokens)
        stack.backward(batch: batch)
        dtokens.pointer.update(repeating: 0, count: batch * v.tokens * v.width)
        layerNormBackward(engine: engine, dinp: dtokens.pointer, dweight: dlnPreWeight, dbias: dlnPreBias, dout: stack.dresidual.pointer,
                          inp: tokens.pointer, weight: lnPreWeight, mean: lnPreMean.pointer, rstd: lnPreRstd.pointer,
                          rows: batch * v.tokens, dim: v.width)
        visionTokensBackward(dpatchEmbeds: dpatchEmbeds.pointer, dclass: dclass, dpositional: dpositional, dout: dtokens.pointer,
                             batch: batch, patches: v.patchCount, width: v.width)
        linearBackward(engine: engine, dinp: nil, dweight: dconv, dbias: nil, dout: dpatchEmbeds.pointer, inp: patches.pointer, weight: conv,
                       rows: batch * v.patchCount, inDim: patchLen, outDim: v.width)
    }
}

/// Text transformer: token + positional embedding (no pre-LN) → causal blocks → end-of-text head.
final class TextTower {
    let engine: EngineContext
    let config: TextConfig
    let stack: TransformerStack
    let head: EmbeddingHead
    let tokenEmbedding, positional, dtokenEmbedding, dpositional: UnsafeMutablePointer<Float>
    let ids, endPositions: Int32Buffer
    private var batch = 0
    /// Rows per sequence in the last forward pass: up to the batch's last end-of-text token (`forward`).
    private var used = 0

    init(engine: EngineContext, config model: ModelConfig, layout: ParameterLayout, weights w: UnsafeMutablePointer<Float>,
         grads g: UnsafeMutablePointer<Float>, maxBatch: Int) {
        let t = model.text
        self.engine = engine
        config = t
        stack = TransformerStack(engine: engine, blockNames: layout.textBlockNames, layout: layout, weights: w, grads: g, maxBatch: maxBatch,
                                 tokens: t.contextLength, width: t.width, heads: t.heads, mlpWidth: t.mlpWidth, causal: true)
        head = EmbeddingHead(engine: engine, lnPrefix: layout.textHead.ln, projectionName: layout.textHead.projection, layout: layout,
                             weights: w, grads: g, maxBatch: maxBatch, width: t.width, embedDim: model.embedDim)
        let names = layout.textEmbeddingNames
        tokenEmbedding = w + layout.offset(names.token); dtokenEmbedding = g + layout.offset(names.token)
        positional = w + layout.offset(names.positional); dpositional = g + layout.offset(names.positional)
        ids = Int32Buffer(count: maxBatch * t.contextLength)
        endPositions = Int32Buffer(count: maxBatch)
    }

    func forward(tokens: UnsafePointer<Int32>, batch: Int, training: Bool) -> UnsafeMutablePointer<Float> {
        self.batch = batch
        let t = config
        ids.pointer.update(from: tokens, count: batch * t.contextLength)
        endOfTextPositions(ids: ids.pointer, batch: batch, context: t.contextLength, into: endPositions.pointer)
        // The head reads each sequence's end-of-text row, and attention is causal, so no row depends on the rows
        // after it: the sequences are cut after the batch's last end of text. The rows kept are computed as at full
        // length, and the rows cut would have had zero gradients.
        used = 1
        for b in 0..<batch { used = max(used, Int(endPositions.pointer[b]) + 1) }
        for b in 1..<max(batch, 1) where used < t.contextLength {
            (ids.pointer + b * used).update(from: ids.pointer + b * t.contextLength, count: used)
        }
        textTokensForward(out: stack.input, ids: ids.pointer, tokenEmbedding: tokenEmbedding, positional: positional,
                          batch: batch, context: used, width: t.width)
        if !training, !stack.weights.isEmpty {
            // Inference reads the end-of-text token alone: the last block runs for it only.
            let pooled = stack.forwardPooled(batch: batch, positions: endPositions.pointer, tokens: used)
            return head.forward(from: pooled, positions: nil, batch: batch, tokens: 1, training: false)
        }
        stack.forward(batch: batch, training: training, tokens: used)
        return head.forward(from: stack.output, positions: endPositions.pointer, batch: batch, tokens: used,
                            training: training)
    }

    func backward(embedGrad: UnsafePointer<Float>) {
        let t = config
        head.backward(embedGrad: embedGrad, into: stack.dresidual.pointer, positions: endPositions.pointer,
                      batch: batch, tokens: used)
        stack.backward(batch: batch, tokens: used)
        textTokensBackward(dtokenEmbedding: dtokenEmbedding, dpositional: dpositional, dout: stack.dresidual.pointer,
                           ids: ids.pointer, batch: batch, context: used, width: t.width)
    }
}
