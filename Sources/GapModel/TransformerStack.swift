import GapEngine

/// The residual blocks of one tower, with the activations each keeps for backward.
/// `residuals[0]` is the stack's input, `residuals[i + 1]` block i's output.
final class TransformerStack {
    let engine: EngineContext
    let weights: [BlockTensors]
    let grads: [BlockTensors]
    let caches: [BlockCache]
    let residuals: [FloatBuffer]
    let scratch: BlockGradScratch
    /// dL/d(output) on entry to `backward`, dL/d(input) on return.
    let dresidual: FloatBuffer
    let tokens, width, heads, mlpWidth: Int
    let causal: Bool

    init(engine: EngineContext, blockNames: [String], layout: ParameterLayout, weights w: UnsafeMutablePointer<Float>, grads g: UnsafeMutablePointer<Float>,
         maxBatch: Int, tokens: Int, width: Int, heads: Int, mlpWidth: Int, causal: Bool) {
        self.engine = engine
        weights = blockNames.map { blockTensors(w, layout, $0) }
        grads = blockNames.map { blockTensors(g, layout, $0) }
        let threads = engine.threads
        caches = blockNames.map { _ in
            BlockCache(maxBatch: maxBatch, tokens: tokens, width: width, heads: heads, mlpWidth: mlpWidth, threads: threads)
        }
        residuals = (0...blockNames.count).map { _ in FloatBuffer(count: maxBatch * tokens * width) }
        scratch = BlockGradScratch(maxBatch: maxBatch, tokens: tokens, width: width, heads: heads, mlpWidth: mlpWidth,
                                   threads: threads)
        dresidual = FloatBuffer(count: maxBatch * tokens * width)
        self.tokens = tokens
        self.width = width
        self.heads = heads
        self.mlpWidth = mlpWidth
        self.causal = causal
    }

    var input: UnsafeMutablePointer<Float> { residuals[0].pointer }
    var output: UnsafeMutablePointer<Float> { residuals[residuals.count - 1].pointer }

    func shape(_ batch: Int, tokens: Int? = nil) -> AttentionShape {
        AttentionShape(batch: batch, tokens: tokens ?? self.tokens, width: width, heads: heads, causal: causal,
                       contextTokens: self.tokens)
    }

    /// `tokens` (causal stacks, here and in `forwardPooled` and `backward`): sequences cut to their first `tokens`
    /// rows, which must hold every row the head reads.
    func forward(batch: Int, training: Bool, tokens: Int? = nil) {
        precondition(tokens == nil || causal, "only a causal stack's rows do not depend on the rows after them")
        let shape = shape(batch, tokens: tokens)
        for i in weights.indices {
            residualBlockForward(engine: engine, out: residuals[i + 1].pointer, inp: residuals[i].pointer, weights: weights[i],
                                 cache: caches[i], shape: shape, mlpWidth: mlpWidth, training: training)
        }
    }

    /// Inference: the blocks, with the last one (`residualBlockForwardPooled`) only for the row of each sequence the
    /// head reads. Returns those rows, [batch, width], to be read with tokens 1 and no positions. At least one block.
    func forwardPooled(batch: Int, positions: UnsafePointer<Int32>?, tokens: Int? = nil) -> UnsafeMutablePointer<Float> {
        precondition(tokens == nil || causal, "only a causal stack's rows do not depend on the rows after them")
        let last = weights.count - 1, shape = shape(batch, tokens: tokens)
        for i in weights.indices.dropLast() {
            residualBlockForward(engine: engine, out: residuals[i + 1].pointer, inp: residuals[i].pointer, weights: weights[i],
                                 cache: caches[i], shape: shape, mlpWidth: mlpWidth, training: false)
        }
        residualBlockForwardPooled(engine: engine, out: output, inp: residuals[last].pointer, positions: positions, weights: weights[last],
                                   cache: caches[last], shape: shape, mlpWidth: mlpWidth)
        return output
    }

    func backward(batch: Int, tokens: Int? = nil) {
        let shape = shape(batch, tokens: tokens)
        for i in weights.indices.reversed() {
            residualBlockBackward(engine: engine, dresidual: dresidual.pointer, inp: residuals[i].pointer, weights: weights[i], grads: grads[i],
                                  cache: caches[i], scratch: scratch, shape: shape, mlpWidth: mlpWidth)
        }
    }
}

/// Pooled row → final LayerNorm → projection → L2 normalisation, with its backward.
final class EmbeddingHead {
    let engine: EngineContext
    let lnWeight, lnBias, projection: UnsafeMutablePointer<Float>
    let dlnWeight, dlnBias, dprojection: UnsafeMutablePointer<Float>
    let width, embedDim: Int
    let pooled, normed, mean, rstd, projected, norms, embeds: FloatBuffer
    let dnormed, dprojected, dpooled: FloatBuffer

    init(engine: EngineContext, lnPrefix: String, projectionName: String, layout: ParameterLayout, weights w: UnsafeMutablePointer<Float>,
         grads g: UnsafeMutablePointer<Float>, maxBatch: Int, width: Int, embedDim: Int) {
        self.engine = engine
        lnWeight = w + layout.offset("\(lnPrefix).weight")
        lnBias = w + layout.offset("\(lnPrefix).bias")
        projection = w + layout.offset(projectionName)
        dlnWeight = g + layout.offset("\(lnPrefix).weight")
        dlnBias = g + layout.offset("\(lnPrefix).bias")
        dprojection = g + layout.offset(projectionName)
        self.width = width
        self.embedDim = embedDim
        pooled = FloatBuffer(count: maxBatch * width)
        normed = FloatBuffer(count: maxBatch * width)
        mean = FloatBuffer(count: maxBatch)
        rstd = FloatBuffer(count: maxBatch)
        projected = FloatBuffer(count: maxBatch * embedDim)
        norms = FloatBuffer(count: maxBatch)
        embeds = FloatBuffer(count: maxBatch * embedDim)
        dnormed = FloatBuffer(count: maxBatch * width)
        dprojected = FloatBuffer(count: maxBatch * embedDim)
        dpooled = FloatBuffer(count: maxBatch * width)
    }

    /// LayerNorm is per row, so normalising only the pooled rows equals open_clip's LN over all tokens. Outside
    /// training, each row is projected as it would be in a batch of any size (`rowsAlone`).
    func forward(from sequence: UnsafePointer<Float>, positions: UnsafePointer<Int32>?, batch: Int, tokens: Int,
                 training: Bool) -> UnsafeMutablePointer<Float> {
        gatherRows(out: pooled.pointer, x: sequence, positions: positions, batch: batch, tokens: tokens, width: width)
        layerNormForward(engine: engine, out: normed.pointer, mean: mean.pointer, rstd: rstd.pointer, inp: pooled.pointer,
                         weight: lnWeight, bias: lnBias, rows: batch, dim: width)
        projectionForward(engine: engine, out: projected.pointer, inp: normed.pointer, projection: projection, rows: batch, inDim: width,
                          outDim: embedDim, rowsAlone: !training)
        l2NormalizeForward(out: embeds.pointer, norms: norms.pointer, inp: projected.pointer, rows: batch, dim: embedDim)
        return embeds.pointer
    }

    /// Writes dL/d(sequence) for the pooled rows into `dsequence` (zeroed here first).
    func backward(embedGrad: UnsafePointer<Float>, into dsequence: UnsafeMutablePointer<Float>,
                  positions: UnsafePointer<Int32>?, batch: Int, tokens: Int) {
        l2NormalizeBackward(dinp: dprojected.pointer, dout: embedGrad, normalized: embeds.pointer, norms: norms.pointer,
                            rows: batch, dim: embedDim)
        projectionBackward(engine: engine, dinp: dnormed.pointer, dprojection: dprojection, dout: dprojected.pointer, inp: normed.pointer,
                           projection: projection, rows: batch, inDim: width, outDim: embedDim)
        dpooled.pointer.update(repeating: 0, count: batch * width)
        layerNormBackward(engine: engine, dinp: dpooled.pointer, dweight: dlnWeight, dbias: dlnBias, dout: dnormed.pointer, inp: pooled.pointer,
                          weight: lnWeight, mean: mean.pointer, rstd: rstd.pointer, rows: batch, dim: width)
        dsequence.update(repeating: 0, count: batch * tokens * width)
        scatterRowsAdd(dx: dsequence, dout: dpooled.pointer, positions: positions, batch: batch, tokens: tokens, width: width)
    }
}
