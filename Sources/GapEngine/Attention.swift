import Foundation

/// Shapes of one multi-head self-attention call over a packed q|k|v input.
public struct AttentionShape {
    public var batch: Int
    public var tokens: Int
    public var width: Int
    public var heads: Int
    public var causal: Bool
    /// The sequences' full length, which a causal stack may cut them short of (`tokens`, up to the batch's last end
    /// of text).
    public var contextTokens: Int

    public init(batch: Int, tokens: Int, width: Int, heads: Int, causal: Bool, contextTokens: Int? = nil) {
        self.batch = batch
        self.tokens = tokens
        self.width = width
        self.heads = heads
        self.causal = causal
        self.contextTokens = contextTokens ?? tokens
    }

    public var headDim: Int { width / heads }
    public var scale: Float { 1 / Float(headDim).squareRoot() }
    /// Floats of the saved softmax statistics, two per query row (the row's largest score and the reciprocal of
    /// its sum of exponentials): batch × heads × tokens × 2.
    public var softmaxStatisticsCount: Int { 2 * batch * heads * tokens }
    /// Score rows padded to whole vectors.
    var paddedTokens: Int { (tokens + VectorMath.width - 1) / VectorMath.width * VectorMath.width }
    /// Score columns computed in whole vectors, the rest a dot product each (`rowsTimesRows`): the columns in whole
    /// vectors of the full context, so that each score is computed the same way whatever length the batch's
    /// sequences are cut to, and a caption's embedding does not depend on the captions beside it.
    var vectorColumns: Int { min(paddedTokens, contextTokens / VectorMath.width * VectorMath.width) }
    /// Scratch floats one thread needs: two tokens × paddedTokens panels (probabilities and their gradient), a
    /// head_dim × paddedTokens transposed K (or V), and the two square blocks `transpose` works in.
    var scratchPerThread: Int { (2 * tokens + headDim) * paddedTokens + transposeScratchCount }
}

/// Scratch floats `attentionForward` and `attentionBackward` need for `shape` with a context of up to `threads` threads.
public func attentionScratchCount(_ shape: AttentionShape, threads: Int) -> Int {
    shape.scratchPerThread * max(threads, 1)
}

// The products inside one head are small (tokens × head_dim, e.g. 65 × 32): through sgemm, each of the batch ×
// heads of them would pay OpenBLAS's packing and dispatch. Here they are one register-blocked kernel,
// `broadcastProduct`, over the head's rows in place.
//
// The probabilities (batch × heads × tokens², 8.6 MB a layer for the reference vision tower) are not kept for the
// backward pass: it recomputes them from Q, K and two numbers a row (its largest score and the reciprocal of its
// sum of exponentials), as FlashAttention does from a log-sum-exp. Recomputed with the same operations as in the
// forward pass, they are the same floats. One head's probabilities fit in a thread's scratch, so the forward pass
// no longer writes them to memory nor the backward pass reads them back, and the step's peak memory drops by
// their size.

/// Multi-head self-attention core (torch's MultiheadAttention between in_proj and out_proj).
/// qkv: [B, T, 3C] with columns q | k | v, head h at columns h·hd ..< (h+1)·hd of each.
/// out: [B, T, C]. softmaxStatistics: [B, H, T, 2], each row's `SoftmaxStatistics`, saved for backward (nil when no
/// backward pass follows).
public func attentionForward(engine: EngineContext, out: UnsafeMutablePointer<Float>, softmaxStatistics: UnsafeMutablePointer<Float>?,
                             qkv: UnsafePointer<Float>, scratch: UnsafeMutableBufferPointer<Float>,
                             shape s: AttentionShape) {
    precondition(scratch.count >= attentionScratchCount(s, threads: engine.threads), "attention scratch too small")
    let shared = (out, softmaxStatistics, qkv, scratch.baseAddress!, s)
    parallelChunks(engine: engine, s.batch * s.heads, sharing: shared) { shared, slot, range in
        let (out, statistics, qkv, scratch, s) = shared
        let T = s.tokens, C = s.width, hd = s.headDim, C3 = 3 * C, Tp = s.paddedTokens, causal = s.causal
        let scores = scratch + slot * s.scratchPerThread
        let kt = scores + 2 * T * Tp, blocks = kt + hd * Tp
        for bh in range {
            let b = bh / s.heads, h = bh % s.heads
            let q = qkv + b * T * C3 + h * hd
            let k = q + C
            let v = q + 2 * C
            transpose(kt, k, rows: T, cols: hd, ld: C3, paddedRows: Tp, blocks: blocks)
            // scores = scale · Q Kᵀ, rows padded to Tp columns; each row becomes its probabilities in place.
            rowsTimesRows(out: scores, ldo: Tp, a: q, lda: C3, b: k, bTransposed: kt, ldb: C3, rows: T, columns: T,
                          vectorColumns: s.vectorColumns, paddedColumns: Tp, depth: hd, scale: s.scale)
            for i in 0..<T {
                let row = softmaxRow(out: scores + i * Tp, scores: scores + i * Tp, valid: causal ? i + 1 : T,
                                     count: Tp)
                if let statistics {
                    statistics[2 * (bh * T + i)] = row.largest
                    statistics[2 * (bh * T + i) + 1] = row.inverseSum
                }
            }
            // out = P V; masked probabilities are 0, so causal rows stop at their diagonal.
            broadcastProduct(out: out + b * T * C + h * hd, ldo: C, a: scores, aRowStride: Tp, aColStride: 1,
                             b: v, ldb: C3, rows: T, n: hd, scale: 1) { i in 0..<(causal ? min(i + 1, T) : T) }
        }
    }
}

/// Backward of `attentionForward`, from the softmax statistics it saved. dqkv is overwritten.
public func attentionBackward(engine: EngineContext, dqkv: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                              qkv: UnsafePointer<Float>, softmaxStatistics: UnsafePointer<Float>,
                              scratch: UnsafeMutableBufferPointer<Float>, shape s: AttentionShape) {
    precondition(scratch.count >= attentionScratchCount(s, threads: engine.threads), "attention scratch too small")
    let shared = (dqkv, dout, qkv, softmaxStatistics, scratch.baseAddress!, s)
    parallelChunks(engine: engine, s.batch * s.heads, sharing: shared) { shared, slot, range in
        let (dqkv, dout, qkv, statistics, scratch, s) = shared
        let T = s.tokens, C = s.width, hd = s.headDim, C3 = 3 * C, Tp = s.paddedTokens, causal = s.causal
        let p = scratch + slot * s.scratchPerThread
        let dp = p + T * Tp
        let transposed = dp + T * Tp, blocks = transposed + hd * Tp
        for bh in range {
            let b = bh / s.heads, h = bh % s.heads
            let q = qkv + b * T * C3 + h * hd
            let k = q + C, v = q + 2 * C
            let dq = dqkv + b * T * C3 + h * hd
            let dk = dq + C, dv = dq + 2 * C
            let dO = dout + b * T * C + h * hd
            // P = exp(scale · Q Kᵀ − largest) · inverseSum, zero where masked and in the padding.
            transpose(transposed, k, rows: T, cols: hd, ld: C3, paddedRows: Tp, blocks: blocks)
            rowsTimesRows(out: p, ldo: Tp, a: q, lda: C3, b: k, bTransposed: transposed, ldb: C3, rows: T, columns: T,
                          vectorColumns: s.vectorColumns, paddedColumns: Tp, depth: hd, scale: s.scale)
            for i in 0..<T {
                probabilitiesRow(p + i * Tp, SoftmaxStatistics(largest: statistics[2 * (bh * T + i)],
                                                               inverseSum: statistics[2 * (bh * T + i) + 1]),
                                 valid: causal ? i + 1 : T, count: Tp)
            }
            // dP = dO Vᵀ
            transpose(transposed, v, rows: T, cols: hd, ld: C3, paddedRows: Tp, blocks: blocks)
            rowsTimesRows(out: dp, ldo: Tp, a: dO, lda: C, b: v, bTransposed: transposed, ldb: C3, rows: T, columns: T,
                          vectorColumns: s.vectorColumns, paddedColumns: Tp, depth: hd, scale: 1)
            // dV = Pᵀ dO: row j gathers the rows i that attend to it (i ≥ j when causal).
            broadcastProduct(out: dv, ldo: C3, a: p, aRowStride: 1, aColStride: Tp, b: dO, ldb: C,
                             rows: T, n: hd, scale: 1) { j in (causal ? j : 0)..<T }
            // dS = P ⊙ (dP − rowsum(dP ⊙ P)), times the scale of S = scale·QKᵀ. The padding is 0 in P and dP.
            for i in 0..<T { softmaxBackwardRow(dp: dp + i * Tp, p: p + i * Tp, count: Tp, scale: s.scale) }
            // dQ = dS K ; dK = dSᵀ Q
            broadcastProduct(out: dq, ldo: C3, a: dp, aRowStride: Tp, aColStride: 1, b: k, ldb: C3,
                             rows: T, n: hd, scale: 1) { i in 0..<(causal ? min(i + 1, T) : T) }
            broadcastProduct(out: dk, ldo: C3, a: dp, aRowStride: 1, aColStride: Tp, b: q, ldb: C3,
                             rows: T, n: hd, scale: 1) { j in (causal ? j : 0)..<T }
        }
    }
}

/// out[i, j] = scale · Σ_d A[i, d]·B[j, d] (Q Kᵀ, dO Vᵀ) for j < columns, and 0 up to paddedColumns; A and B are
/// row-major with row strides lda and ldb, and bTransposed holds Bᵀ with rows paddedColumns apart, zero past
/// `columns`. The first vectorColumns columns (whole vectors, up to paddedColumns) go through `broadcastProduct` over
/// Bᵀ. The rest (the vision tower's 65th token, beside 64) would take a whole vector of broadcasts and products for
/// every term and row, for one column in sixteen: each of its elements is one dot product of two rows instead.
@inline(__always)
func rowsTimesRows(out: UnsafeMutablePointer<Float>, ldo: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>,
                   bTransposed: UnsafePointer<Float>, ldb: Int, rows: Int, columns: Int, vectorColumns: Int,
                   paddedColumns: Int, depth: Int, scale: Float) {
    typealias V = VectorMath.Vector
    let w = V.scalarCount
    if vectorColumns > 0 {
        broadcastProduct(out: out, ldo: ldo, a: a, aRowStride: lda, aColStride: 1, b: bTransposed, ldb: paddedColumns,
                         rows: rows, n: vectorColumns, scale: scale) { _ in 0..<depth }
    }
    guard vectorColumns < paddedColumns else { return }
    let fullDepth = depth / w * w
    for i in 0..<rows {
        let ai = a + i * lda, o = out + i * ldo
        for j in vectorColumns..<columns {
            let bj = b + j * ldb
            var acc = V()
            for d in stride(from: 0, to: fullDepth, by: w) { acc.addProduct(VectorMath.load(ai + d), VectorMath.load(bj + d)) }
            if fullDepth < depth {
                acc.addProduct(VectorMath.loadPartial(ai + fullDepth, depth - fullDepth),
                               VectorMath.loadPartial(bj + fullDepth, depth - fullDepth))
            }
            o[j] = scale * VectorMath.sum(acc)
        }
        (o + columns).update(repeating: 0, count: paddedColumns - columns)
    }
}

/// Floats of the two width × width blocks `transpose` works in.
var transposeScratchCount: Int { 2 * VectorMath.width * VectorMath.width }

/// out[c·paddedRows + r] = x[r·ld + c] for r < rows, and 0 for rows ≤ r < paddedRows (a multiple of the vector
/// width). Square blocks of one vector per row when cols is a multiple of the width (head widths of 16, 32, 64 at
/// sixteen lanes), in `blocks` (`transposeScratchCount` floats); element by element otherwise.
@inline(__always)
func transpose(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rows: Int, cols: Int, ld: Int,
               paddedRows: Int, blocks: UnsafeMutablePointer<Float>) {
    typealias V = VectorMath.Vector
    let w = V.scalarCount
    guard cols % w == 0 else {
        for c in 0..<cols {
            let o = out + c * paddedRows
            for r in 0..<rows { o[r] = x[r * ld + c] }
            for r in rows..<paddedRows { o[r] = 0 }
        }
        return
    }
    for r0 in stride(from: 0, to: paddedRows, by: w) {
        for c0 in stride(from: 0, to: cols, by: w) {
            for i in 0..<w {
                VectorMath.store(r0 + i < rows ? VectorMath.load(x + (r0 + i) * ld + c0) : V(), blocks + i * w)
            }
            let columns = transposeSquare(blocks, scratch: blocks + w * w)
            for i in 0..<w { VectorMath.store(VectorMath.load(columns + i * w), out + (c0 + i) * paddedRows + r0) }
        }
    }
}

/// Transposes the width × width block v (row i at v + i·width): returns where its columns now are, v itself or
/// scratch. Each of the log2(width) rounds rotates the bits of (row, lane) right by one: row i takes the even
/// lanes of rows 2i and 2i + 1, row i + width/2 their odd lanes. After log2(width) rounds the bits of row and
/// column have changed places.
@inline(__always)
func transposeSquare(_ v: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>)
    -> UnsafeMutablePointer<Float> {
    typealias V = VectorMath.Vector
    let w = V.scalarCount, half = w / 2
    var from = v, to = scratch
    var size = 1
    while size < w {
        for i in 0..<half {
            let a = VectorMath.load(from + 2 * i * w), b = VectorMath.load(from + (2 * i + 1) * w)
            VectorMath.store(V(lowHalf: a.evenHalf, highHalf: b.evenHalf), to + i * w)
            VectorMath.store(V(lowHalf: a.oddHalf, highHalf: b.oddHalf), to + (i + half) * w)
        }
        swap(&from, &to)
        size *= 2
    }
    return from
}

/// A softmax row's largest score and the reciprocal of Σ_j exp(score_j − largest): its probabilities are
/// exp(score_j − largest) · inverseSum.
struct SoftmaxStatistics {
    var largest: Float
    var inverseSum: Float
}

/// out[0..<count] = softmax of scores[0..<valid], then zeros (masked positions); returns the row's statistics.
/// out may be scores itself. Vectorised: rows are as short as the sequence, and scalar max and sum loops cost as
/// much as the products around them. The score row is padded to whole vectors, so every pass runs on whole vectors
/// with the lanes from `valid` on masked; the exponentials go back into the score row.
@inline(__always) @discardableResult
func softmaxRow(out: UnsafeMutablePointer<Float>, scores: UnsafeMutablePointer<Float>, valid: Int, count: Int)
    -> SoftmaxStatistics {
    typealias V = VectorMath.Vector
    let w = V.scalarCount
    var mxv = V(repeating: -.infinity)
    var j = 0
    // A compare and blend per vector; `pointwiseMax` handles NaN lane by lane in scalar code.
    while j < valid {
        let x = VectorMath.load(scores + j).replacing(with: -.infinity, where: VectorMath.lanes(from: valid - j))
        mxv = mxv.replacing(with: x, where: x .> mxv)
        j += w
    }
    let largest = VectorMath.maximum(mxv), mx = V(repeating: largest)
    var sumv = V()
    j = 0
    while j < valid {
        let e = softmaxExp(VectorMath.load(scores + j) - mx).replacing(with: 0, where: VectorMath.lanes(from: valid - j))
        VectorMath.store(e, scores + j)
        sumv += e
        j += w
    }
    let inverseSum = 1 / VectorMath.sum(sumv), inv = V(repeating: inverseSum)
    j = 0
    while j < count {
        let p = j < valid ? VectorMath.load(scores + j) * inv : V()
        if j + w <= count { VectorMath.store(p, out + j) } else { VectorMath.storePartial(p, out + j, count - j) }
        j += w
    }
    return SoftmaxStatistics(largest: largest, inverseSum: inverseSum)
}

/// e^x for a score less the row's largest (x ≤ 0 in the lanes that are kept), without `VectorMath.exp`'s range
/// handling: below −87 it returns e^−87 (1.6e-38, nothing beside the row's largest term, which is 1), so the
/// result stays a normal float and one scale factor does. Lanes past the valid scores may get anything; the
/// callers replace them by 0.
@inline(__always)
func softmaxExp(_ x: VectorMath.Vector) -> VectorMath.Vector {
    return VectorMath.expWithinNormalRange(x.replacing(with: -87, where: x .< -87))
}

/// p[0..<count] = exp(p[j] − largest) · inverseSum for j < valid, then zeros: a row of `softmaxRow`'s
/// probabilities again, the same floats, from its scores and the statistics it returned. count is a multiple of
/// the vector width.
@inline(__always)
func probabilitiesRow(_ p: UnsafeMutablePointer<Float>, _ row: SoftmaxStatistics, valid: Int, count: Int) {
    typealias V = VectorMath.Vector
    let w = V.scalarCount, mx = V(repeating: row.largest), inv = V(repeating: row.inverseSum)
    var j = 0
    while j < count {
        let masked = VectorMath.lanes(from: valid - j)
        let e = j < valid ? softmaxExp(VectorMath.load(p + j) - mx).replacing(with: 0, where: masked) * inv : V()
        VectorMath.store(e, p + j)
        j += w
    }
}

/// dS row: ds[j] = p[j] · (dp[j] − Σ_k p[k]·dp[k]) · scale for j < count, in place over dp.
@inline(__always)
func softmaxBackwardRow(dp: UnsafeMutablePointer<Float>, p: UnsafePointer<Float>, count: Int, scale: Float) {
    typealias V = VectorMath.Vector
    let w = V.scalarCount, full = count / w * w, rest = count - full
    var dotv = V()
    for j in stride(from: 0, to: full, by: w) { dotv.addProduct(VectorMath.load(p + j), VectorMath.load(dp + j)) }
    if rest > 0 { dotv.addProduct(VectorMath.loadPartial(p + full, rest), VectorMath.loadPartial(dp + full, rest)) }
    let dot = V(repeating: VectorMath.sum(dotv)), sc = V(repeating: scale)
    for j in stride(from: 0, to: full, by: w) {
        VectorMath.store(VectorMath.load(p + j) * (VectorMath.load(dp + j) - dot) * sc, dp + j)
    }
    if rest > 0 {
        let r = VectorMath.loadPartial(p + full, rest) * (VectorMath.loadPartial(dp + full, rest) - dot) * sc
        VectorMath.storePartial(r, dp + full, rest)
    }
}

/// out[r, c] = scale · Σ_{k ∈ terms(r)} A[r, k] · B[k, c] for r < rows, c < n, where A[r, k] is at
/// a + r·aRowStride + k·aColStride (so A may be read transposed) and B[k, c] at b + k·ldb + c.
///
/// Eight rows of out at a time over two vectors of columns (sixteen accumulators; a head of 32 columns is one such
/// block at sixteen lanes): each loaded vector of B serves eight rows and each broadcast element of A two vectors,
/// and sixteen independent sums keep both FMA units busy through each FMA's latency. Rows left below a multiple
/// of eight go four at a time. A group of rows sums over the union of its rows' term ranges; the callers' A is
/// zero outside each row's own range, so the union changes nothing. Past the last row a group repeats it: the
/// same sums, stored again.
@inline(__always)
func broadcastProduct(out: UnsafeMutablePointer<Float>, ldo: Int, a: UnsafePointer<Float>, aRowStride: Int, aColStride: Int,
                      b: UnsafePointer<Float>, ldb: Int, rows: Int, n: Int, scale: Float, terms: (Int) -> Range<Int>) {
    var r = 0
    while r + 8 <= rows {
        broadcastProduct8(out: out + r * ldo, ldo: ldo, a: a + r * aRowStride, aRowStride: aRowStride,
                          aColStride: aColStride, b: b, ldb: ldb, n: n, scale: scale,
                          terms: terms(r).lowerBound..<terms(r + 7).upperBound)
        r += 8
    }
    while r < rows {
        broadcastProduct4(out: out, ldo: ldo, a: a, aRowStride: aRowStride, aColStride: aColStride, b: b, ldb: ldb,
                          r: r, rows: rows, n: n, scale: scale, terms: terms)
        r += 4
    }
}

/// Eight rows r ..< r + 8 of `broadcastProduct` (out and a already at row r), over `terms`: the union of the rows'
/// term ranges, which run from the first row's lower bound to the last row's upper bound for every caller (their
/// ranges are all rows, or a causal prefix or suffix).
@inline(__always)
private func broadcastProduct8(out: UnsafeMutablePointer<Float>, ldo: Int, a: UnsafePointer<Float>, aRowStride: Int,
                               aColStride: Int, b: UnsafePointer<Float>, ldb: Int, n: Int, scale: Float,
                               terms: Range<Int>) {
    typealias V = VectorMath.Vector
    let w = V.scalarCount, sc = V(repeating: scale)
    var c = 0
    while c + 2 * w <= n {
        var x0 = V(), x1 = V(), y0 = V(), y1 = V(), z0 = V(), z1 = V(), u0 = V(), u1 = V()
        var e0 = V(), e1 = V(), f0 = V(), f1 = V(), g0 = V(), g1 = V(), h0 = V(), h1 = V()
        for k in terms {
            let bk = b + k * ldb + c, ak = a + k * aColStride
            let v0 = VectorMath.load(bk), v1 = VectorMath.load(bk + w)
            var s = V(repeating: ak[0])
            x0.addProduct(s, v0); x1.addProduct(s, v1)
            s = V(repeating: ak[aRowStride]); y0.addProduct(s, v0); y1.addProduct(s, v1)
            s = V(repeating: ak[2 * aRowStride]); z0.addProduct(s, v0); z1.addProduct(s, v1)
            s = V(repeating: ak[3 * aRowStride]); u0.addProduct(s, v0); u1.addProduct(s, v1)
            s = V(repeating: ak[4 * aRowStride]); e0.addProduct(s, v0); e1.addProduct(s, v1)
            s = V(repeating: ak[5 * aRowStride]); f0.addProduct(s, v0); f1.addProduct(s, v1)
            s = V(repeating: ak[6 * aRowStride]); g0.addProduct(s, v0); g1.addProduct(s, v1)
            s = V(repeating: ak[7 * aRowStride]); h0.addProduct(s, v0); h1.addProduct(s, v1)
        }
        let o = out + c
        VectorMath.store(sc * x0, o); VectorMath.store(sc * x1, o + w)
        VectorMath.store(sc * y0, o + ldo); VectorMath.store(sc * y1, o + ldo + w)
        VectorMath.store(sc * z0, o + 2 * ldo); VectorMath.store(sc * z1, o + 2 * ldo + w)
        VectorMath.store(sc * u0, o + 3 * ldo); VectorMath.store(sc * u1, o + 3 * ldo + w)
        VectorMath.store(sc * e0, o + 4 * ldo); VectorMath.store(sc * e1, o + 4 * ldo + w)
        VectorMath.store(sc * f0, o + 5 * ldo); VectorMath.store(sc * f1, o + 5 * ldo + w)
        VectorMath.store(sc * g0, o + 6 * ldo); VectorMath.store(sc * g1, o + 6 * ldo + w)
        VectorMath.store(sc * h0, o + 7 * ldo); VectorMath.store(sc * h1, o + 7 * ldo + w)
        c += 2 * w
    }
    while c < n {
        let width = min(w, n - c)
        var x = V(), y = V(), z = V(), u = V(), e = V(), f = V(), g = V(), h = V()
        for k in terms {
            let bk = b + k * ldb + c, ak = a + k * aColStride
            let v = width == w ? VectorMath.load(bk) : VectorMath.loadPartial(bk, width)
            x.addProduct(V(repeating: ak[0]), v); y.addProduct(V(repeating: ak[aRowStride]), v)
            z.addProduct(V(repeating: ak[2 * aRowStride]), v); u.addProduct(V(repeating: ak[3 * aRowStride]), v)
            e.addProduct(V(repeating: ak[4 * aRowStride]), v); f.addProduct(V(repeating: ak[5 * aRowStride]), v)
            g.addProduct(V(repeating: ak[6 * aRowStride]), v); h.addProduct(V(repeating: ak[7 * aRowStride]), v)
        }
        let o = out + c
        if width == w {
            VectorMath.store(sc * x, o); VectorMath.store(sc * y, o + ldo)
            VectorMath.store(sc * z, o + 2 * ldo); VectorMath.store(sc * u, o + 3 * ldo)
            VectorMath.store(sc * e, o + 4 * ldo); VectorMath.store(sc * f, o + 5 * ldo)
            VectorMath.store(sc * g, o + 6 * ldo); VectorMath.store(sc * h, o + 7 * ldo)
        } else {
            VectorMath.storePartial(sc * x, o, width); VectorMath.storePartial(sc * y, o + ldo, width)
            VectorMath.storePartial(sc * z, o + 2 * ldo, width); VectorMath.storePartial(sc * u, o + 3 * ldo, width)
            VectorMath.storePartial(sc * e, o + 4 * ldo, width); VectorMath.storePartial(sc * f, o + 5 * ldo, width)
            VectorMath.storePartial(sc * g, o + 6 * ldo, width); VectorMath.storePartial(sc * h, o + 7 * ldo, width)
        }
        c += width
    }
}

/// Four rows r ..< r + 4 of `broadcastProduct` (repeating the last row past `rows`).
@inline(__always)
private func broadcastProduct4(out: UnsafeMutablePointer<Float>, ldo: Int, a: UnsafePointer<Float>, aRowStride: Int,
                               aColStride: Int, b: UnsafePointer<Float>, ldb: Int, r: Int, rows: Int, n: Int,
                               scale: Float, terms: (Int) -> Range<Int>) {
    typealias V = VectorMath.Vector
    let w = V.scalarCount, sc = V(repeating: scale)
    let r1 = min(r + 1, rows - 1), r2 = min(r + 2, rows - 1), r3 = min(r + 3, rows - 1)
    let t0 = terms(r), t1 = terms(r1), t2 = terms(r2), t3 = terms(r3)
    let lo = min(min(t0.lowerBound, t1.lowerBound), min(t2.lowerBound, t3.lowerBound))
    let hi = max(max(t0.upperBound, t1.upperBound), max(t2.upperBound, t3.upperBound))
    let a0 = a + r * aRowStride, a1 = a + r1 * aRowStride, a2 = a + r2 * aRowStride, a3 = a + r3 * aRowStride
    let o0 = out + r * ldo, o1 = out + r1 * ldo, o2 = out + r2 * ldo, o3 = out + r3 * ldo
    var c = 0
    while c + 2 * w <= n {
        var x0 = V(), x1 = V(), y0 = V(), y1 = V(), z0 = V(), z1 = V(), u0 = V(), u1 = V()
        for k in lo..<hi {
            let bk = b + k * ldb + c, ak = k * aColStride
            let v0 = VectorMath.load(bk), v1 = VectorMath.load(bk + w)
            let s0 = V(repeating: a0[ak]), s1 = V(repeating: a1[ak])
            let s2 = V(repeating: a2[ak]), s3 = V(repeating: a3[ak])
            x0.addProduct(s0, v0); x1.addProduct(s0, v1); y0.addProduct(s1, v0); y1.addProduct(s1, v1)
            z0.addProduct(s2, v0); z1.addProduct(s2, v1); u0.addProduct(s3, v0); u1.addProduct(s3, v1)
        }
        VectorMath.store(sc * u0, o3 + c); VectorMath.store(sc * u1, o3 + c + w)
        VectorMath.store(sc * z0, o2 + c); VectorMath.store(sc * z1, o2 + c + w)
        VectorMath.store(sc * y0, o1 + c); VectorMath.store(sc * y1, o1 + c + w)
        VectorMath.store(sc * x0, o0 + c); VectorMath.store(sc * x1, o0 + c + w)
        c += 2 * w
    }
    while c < n {
        let width = min(w, n - c)
        var x = V(), y = V(), z = V(), u = V()
        for k in lo..<hi {
            let bk = b + k * ldb + c, ak = k * aColStride
            let v = width == w ? VectorMath.load(bk) : VectorMath.loadPartial(bk, width)
            x.addProduct(V(repeating: a0[ak]), v); y.addProduct(V(repeating: a1[ak]), v)
            z.addProduct(V(repeating: a2[ak]), v); u.addProduct(V(repeating: a3[ak]), v)
        }
        if width == w {
            VectorMath.store(sc * u, o3 + c); VectorMath.store(sc * z, o2 + c)
            VectorMath.store(sc * y, o1 + c); VectorMath.store(sc * x, o0 + c)
        } else {
            VectorMath.storePartial(sc * u, o3 + c, width); VectorMath.storePartial(sc * z, o2 + c, width)
            VectorMath.storePartial(sc * y, o1 + c, width); VectorMath.storePartial(sc * x, o0 + c, width)
        }
        c += width
    }
}

/// `attentionForward` for one query row per sequence, positions[b] (row 0 without positions): out [B, C]. Keys
/// and values are every row (those up to the query's, when causal). Nothing is saved for a backward pass.
public func attentionForwardPooled(engine: EngineContext, out: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>, positions: UnsafePointer<Int32>?,
                                   scratch: UnsafeMutableBufferPointer<Float>, shape s: AttentionShape) {
    precondition(scratch.count >= attentionScratchCount(s, threads: engine.threads), "attention scratch too small")
    parallelChunks(engine: engine, s.batch * s.heads, sharing: (out, qkv, positions, scratch.baseAddress!, s)) { shared, slot, range in
        let (out, qkv, positions, scratch, s) = shared
        let T = s.tokens, C = s.width, hd = s.headDim, C3 = 3 * C, Tp = s.paddedTokens
        // A score row padded to whole vectors, as `softmaxRow` reads it, then the probabilities.
        let scores = scratch + slot * s.scratchPerThread, p = scores + Tp
        for bh in range {
            let b = bh / s.heads, h = bh % s.heads
            let i = positions.map { Int($0[b]) } ?? 0
            let valid = s.causal ? i + 1 : T
            let base = qkv + b * T * C3 + h * hd
            let q = base + i * C3
            for j in 0..<valid {
                let k = base + j * C3 + C
                var dot: Float = 0
                for d in 0..<hd { dot += q[d] * k[d] }
                scores[j] = dot * s.scale
            }
            softmaxRow(out: p, scores: scores, valid: valid, count: valid)
            let o = out + b * C + h * hd
            o.update(repeating: 0, count: hd)
            for j in 0..<valid {
                let v = base + j * C3 + 2 * C
                for d in 0..<hd { o[d] += p[j] * v[d] }
            }
        }
    }
}
