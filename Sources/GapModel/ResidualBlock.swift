import GapEngine
/// Pointers to one pre-LN residual block's parameters (open_clip's ResidualAttentionBlock) — either in the
/// weights buffer or, with the same offsets, in the gradients buffer.
public struct BlockTensors {
    public var ln1Weight, ln1Bias: UnsafeMutablePointer<Float>
    public var inProjWeight, inProjBias: UnsafeMutablePointer<Float>    // [3C, C], [3C]
    public var outProjWeight, outProjBias: UnsafeMutablePointer<Float>  // [C, C], [C]
    public var ln2Weight, ln2Bias: UnsafeMutablePointer<Float>
    public var fcWeight, fcBias: UnsafeMutablePointer<Float>            // [M, C], [M]
    public var projWeight, projBias: UnsafeMutablePointer<Float>        // [C, M], [C]

    public init(ln1Weight: UnsafeMutablePointer<Float>, ln1Bias: UnsafeMutablePointer<Float>,
                inProjWeight: UnsafeMutablePointer<Float>, inProjBias: UnsafeMutablePointer<Float>,
                outProjWeight: UnsafeMutablePointer<Float>, outProjBias: UnsafeMutablePointer<Float>,
                ln2Weight: UnsafeMutablePointer<Float>, ln2Bias: UnsafeMutablePointer<Float>,
                fcWeight: UnsafeMutablePointer<Float>, fcBias: UnsafeMutablePointer<Float>,
                projWeight: UnsafeMutablePointer<Float>, projBias: UnsafeMutablePointer<Float>) {
        self.ln1Weight = ln1Weight; self.ln1Bias = ln1Bias
        self.inProjWeight = inProjWeight; self.inProjBias = inProjBias
        self.outProjWeight = outProjWeight; self.outProjBias = outProjBias
        self.ln2Weight = ln2Weight; self.ln2Bias = ln2Bias
        self.fcWeight = fcWeight; self.fcBias = fcBias
        self.projWeight = projWeight; self.projBias = projBias
    }
}

/// Activations one block saves in its forward pass for its backward pass, sized for a maximum batch.
public final class BlockCache {
    public let maxRows: Int
    /// Whether the last forward pass was a training one: `fcOut` then holds GELU′ of the pre-activation (all the
    /// backward pass needs of it) instead of the pre-activation.
    var holdsGELUDerivative = false
    let ln1, ln1Mean, ln1Rstd, qkv, softmaxStatistics, att, residualMid, ln2, ln2Mean, ln2Rstd, fcOut, gelu: FloatBuffer
    let attentionScratch: FloatBuffer

    /// `threads`: the most engine threads the block will run with (sizes the attention scratch).
    public init(maxBatch: Int, tokens: Int, width: Int, heads: Int, mlpWidth: Int, threads: Int) {
        let rows = maxBatch * tokens
        maxRows = rows
        attentionScratch = FloatBuffer(count: attentionScratchCount(
            AttentionShape(batch: maxBatch, tokens: tokens, width: width, heads: heads, causal: false), threads: threads))
        ln1 = FloatBuffer(count: rows * width)
        ln1Mean = FloatBuffer(count: rows)
        ln1Rstd = FloatBuffer(count: rows)
        qkv = FloatBuffer(count: rows * 3 * width)
        softmaxStatistics = FloatBuffer(count: 2 * maxBatch * heads * tokens)
        att = FloatBuffer(count: rows * width)
        residualMid = FloatBuffer(count: rows * width)
        ln2 = FloatBuffer(count: rows * width)
        ln2Mean = FloatBuffer(count: rows)
        ln2Rstd = FloatBuffer(count: rows)
        fcOut = FloatBuffer(count: rows * mlpWidth)
        gelu = FloatBuffer(count: rows * mlpWidth)
    }
}

/// Gradient scratch shared by every block of a tower (blocks run backward one at a time).
public final class BlockGradScratch {
    let dln, datt, dqkv, dfc, attention: FloatBuffer

    public init(maxBatch: Int, tokens: Int, width: Int, heads: Int, mlpWidth: Int, threads: Int) {
        let rows = maxBatch * tokens
        dln = FloatBuffer(count: rows * width)
        datt = FloatBuffer(count: rows * width)
        dqkv = FloatBuffer(count: rows * 3 * width)
        dfc = FloatBuffer(count: rows * mlpWidth)
        attention = FloatBuffer(count: attentionScratchCount(
            AttentionShape(batch: maxBatch, tokens: tokens, width: width, heads: heads, causal: false), threads: threads))
    }
}

/// x_out = x_mid + mlp(ln_2(x_mid)), x_mid = x + out_proj(attn(ln_1(x))). `inp` is kept by the caller
/// (it is the previous block's output) for the backward pass. With `training` false (embedding only) the
/// backward pass may not follow; GELU′ and the softmax statistics are then not computed, and each row is computed
/// as it would be in a batch of any size (`Product.rowsAlone`).
public func residualBlockForward(engine: EngineContext, out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                                 weights w: BlockTensors, cache: BlockCache,
                                 shape: AttentionShape, mlpWidth: Int, training: Bool = true) {
    let rows = shape.batch * shape.tokens, C = shape.width, M = mlpWidth
    precondition(rows <= cache.maxRows, "batch larger than the block cache")
    layerNormForward(engine: engine, out: cache.ln1.pointer, mean: cache.ln1Mean.pointer, rstd: cache.ln1Rstd.pointer, inp: inp,
                     weight: w.ln1Weight, bias: w.ln1Bias, rows: rows, dim: C)
    linearForward(engine: engine, out: cache.qkv.pointer, inp: cache.ln1.pointer, weight: w.inProjWeight, bias: w.inProjBias,
                  rows: rows, inDim: C, outDim: 3 * C, rowsAlone: !training)
    attentionForward(engine: engine, out: cache.att.pointer, softmaxStatistics: training ? cache.softmaxStatistics.pointer : nil,
                     qkv: cache.qkv.pointer, scratch: cache.attentionScratch.mutableBuffer, shape: shape)
    linearResidualForward(engine: engine, out: cache.residualMid.pointer, residual: inp, inp: cache.att.pointer, weight: w.outProjWeight,
                          bias: w.outProjBias, rows: rows, inDim: C, outDim: C, rowsAlone: !training)
    layerNormForward(engine: engine, out: cache.ln2.pointer, mean: cache.ln2Mean.pointer, rstd: cache.ln2Rstd.pointer,
                     inp: cache.residualMid.pointer, weight: w.ln2Weight, bias: w.ln2Bias, rows: rows, dim: C)
    // c_fc without its bias: the activation kernel adds it.
    linearForward(engine: engine, out: cache.fcOut.pointer, inp: cache.ln2.pointer, weight: w.fcWeight, bias: nil,
                  rows: rows, inDim: C, outDim: M, rowsAlone: !training)
    biasGELUForward(engine: engine, out: cache.gelu.pointer, derivative: training ? cache.fcOut.pointer : nil, inp: cache.fcOut.pointer,
                    bias: w.fcBias, rows: rows, cols: M)
    cache.holdsGELUDerivative = training
    linearResidualForward(engine: engine, out: out, residual: cache.residualMid.pointer, inp: cache.gelu.pointer, weight: w.projWeight,
                          bias: w.projBias, rows: rows, inDim: M, outDim: C, rowsAlone: !training)
}

/// Backward of `residualBlockForward`. On entry `dresidual` holds dL/d(out); on return dL/d(inp).
/// Parameter gradients accumulate into `grads`.
public func residualBlockBackward(engine: EngineContext, dresidual: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                                  weights w: BlockTensors, grads g: BlockTensors, cache: BlockCache,
                                  scratch: BlockGradScratch, shape: AttentionShape, mlpWidth: Int) {
    let rows = shape.batch * shape.tokens, C = shape.width, M = mlpWidth
    precondition(cache.holdsGELUDerivative, "backward pass after a forward pass without training: true")
    // MLP branch: out = mid + gelu(fc(ln2(mid))) · projᵀ + b
    linearBackward(engine: engine, dinp: scratch.dfc.pointer, dweight: g.projWeight, dbias: g.projBias, dout: dresidual,
                   inp: cache.gelu.pointer, weight: w.projWeight, rows: rows, inDim: M, outDim: C)
    multiplyElementwise(engine: engine, scratch.dfc.pointer, by: cache.fcOut.pointer, count: rows * M)
    linearBackward(engine: engine, dinp: scratch.dln.pointer, dweight: g.fcWeight, dbias: g.fcBias, dout: scratch.dfc.pointer,
                   inp: cache.ln2.pointer, weight: w.fcWeight, rows: rows, inDim: C, outDim: M)
    layerNormBackward(engine: engine, dinp: dresidual, dweight: g.ln2Weight, dbias: g.ln2Bias, dout: scratch.dln.pointer,
                      inp: cache.residualMid.pointer, weight: w.ln2Weight, mean: cache.ln2Mean.pointer,
                      rstd: cache.ln2Rstd.pointer, rows: rows, dim: C)
    // Attention branch: mid = inp + attn(ln1(inp)) · outᵀ + b
    linearBackward(engine: engine, dinp: scratch.datt.pointer, dweight: g.outProjWeight, dbias: g.outProjBias, dout: dresidual,
                   inp: cache.att.pointer, weight: w.outProjWeight, rows: rows, inDim: C, outDim: C)
    attentionBackward(engine: engine, dqkv: scratch.dqkv.pointer, dout: scratch.datt.pointer, qkv: cache.qkv.pointer,
                      softmaxStatistics: cache.softmaxStatistics.pointer, scratch: scratch.attention.mutableBuffer,
                      shape: shape)
    linearBackward(engine: engine, dinp: scratch.dln.pointer, dweight: g.inProjWeight, dbias: g.inProjBias, dout: scratch.dqkv.pointer,
                   inp: cache.ln1.pointer, weight: w.inProjWeight, rows: rows, inDim: C, outDim: 3 * C)
    layerNormBackward(engine: engine, dinp: dresidual, dweight: g.ln1Weight, dbias: g.ln1Bias, dout: scratch.dln.pointer,
                      inp: inp, weight: w.ln1Weight, mean: cache.ln1Mean.pointer, rstd: cache.ln1Rstd.pointer,
                      rows: rows, dim: C)
}

/// `residualBlockForward` for a tower's last block in inference, where the head reads one row per sequence (the
/// class token, or the end of text): out[b] = block(inp)[b, positions[b]] (row 0 without positions), [batch, C].
/// Every token still feeds the keys and values, but attention is taken for the read row's query alone, and the
/// output projection and the MLP (most of a block) run on batch rows instead of batch × tokens. Each row is computed
/// as it would be in a batch of any size (`Product.rowsAlone`).
public func residualBlockForwardPooled(engine: EngineContext, out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                                       positions: UnsafePointer<Int32>?, weights w: BlockTensors, cache: BlockCache,
                                       shape: AttentionShape, mlpWidth: Int) {
    let rows = shape.batch * shape.tokens, B = shape.batch, C = shape.width, M = mlpWidth
    precondition(rows <= cache.maxRows, "batch larger than the block cache")
    layerNormForward(engine: engine, out: cache.ln1.pointer, mean: cache.ln1Mean.pointer, rstd: cache.ln1Rstd.pointer, inp: inp,
                     weight: w.ln1Weight, bias: w.ln1Bias, rows: rows, dim: C)
    linearForward(engine: engine, out: cache.qkv.pointer, inp: cache.ln1.pointer, weight: w.inProjWeight, bias: w.inProjBias,
                  rows: rows, inDim: C, outDim: 3 * C, rowsAlone: true)
    attentionForwardPooled(engine: engine, out: cache.att.pointer, qkv: cache.qkv.pointer, positions: positions,
                           scratch: cache.attentionScratch.mutableBuffer, shape: shape)
    // From here on, the first B rows of each cache buffer: the read rows of the residual stream, then as in the
    // full block.
    gatherRows(out: cache.residualMid.pointer, x: inp, positions: positions, batch: B, tokens: shape.tokens, width: C)
    addRowsWithBias(engine: engine, out: cache.residualMid.pointer, inp: cache.residualMid.pointer, bias: w.outProjBias, rows: B, cols: C)
    sgemm(engine: engine, transB: true, m: B, n: C, k: C, a: cache.att.pointer, lda: C, b: w.outProjWeight, ldb: C, beta: 1,
          c: cache.residualMid.pointer, ldc: C, rowsAlone: true)
    layerNormForward(engine: engine, out: cache.ln2.pointer, mean: cache.ln2Mean.pointer, rstd: cache.ln2Rstd.pointer,
                     inp: cache.residualMid.pointer, weight: w.ln2Weight, bias: w.ln2Bias, rows: B, dim: C)
    sgemm(engine: engine, transB: true, m: B, n: M, k: C, a: cache.ln2.pointer, lda: C, b: w.fcWeight, ldb: C, c: cache.fcOut.pointer,
          ldc: M, rowsAlone: true)
    biasGELUForward(engine: engine, out: cache.gelu.pointer, derivative: nil, inp: cache.fcOut.pointer, bias: w.fcBias, rows: B, cols: M)
    cache.holdsGELUDerivative = false
    addRowsWithBias(engine: engine, out: out, inp: cache.residualMid.pointer, bias: w.projBias, rows: B, cols: C)
    sgemm(engine: engine, transB: true, m: B, n: C, k: M, a: cache.gelu.pointer, lda: M, b: w.projWeight, ldb: M, beta: 1, c: out, ldc: C,
          rowsAlone: true)
}
