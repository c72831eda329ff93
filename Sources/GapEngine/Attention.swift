import Foundation

/// Shapes of one multi-head self-attention call over a packed q|k|v input.
public struct AttentionShape {
    public var batch: Int
    public var tokens: Int
    public var width: Int
    public var heads: Int
    public var causal: Bool

    public init(batch: Int, tokens: Int, width: Int, heads: Int, causal: Bool) {
        self.batch = batch
        self.tokens = tokens
        self.width = width
        self.heads = heads
        self.causal = causal
    }

    public var headDim: Int { width / heads }
    public var scale: Float { 1 / Float(headDim).squareRoot() }
    /// Floats of the saved attention probabilities: batch × heads × tokens × tokens.
    public var probabilityCount: Int { batch * heads * tokens * tokens }
}

/// Multi-head self-attention core (torch's MultiheadAttention between in_proj and out_proj).
/// qkv: [B, T, 3C] with columns q | k | v, head h at columns h·hd ..< (h+1)·hd of each.
/// out: [B, T, C]. probs: [B, H, T, T] softmax(scale·QKᵀ + mask), saved for backward.
public func attentionForward(out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
                             qkv: UnsafePointer<Float>, shape s: AttentionShape) {
    let T = s.tokens, C = s.width, hd = s.headDim, C3 = 3 * C
    parallelChunks(s.batch * s.heads) { _, range in
        for bh in range {
            let b = bh / s.heads, h = bh % s.heads
            let q = qkv + b * T * C3 + h * hd
            let k = q + C
            let v = q + 2 * C
            let p = probs + bh * T * T
            sgemm(transB: true, m: T, n: T, k: hd, alpha: s.scale, a: q, lda: C3, b: k, ldb: C3, c: p, ldc: T)
            for i in 0..<T {
                let row = p + i * T
                let valid = s.causal ? i + 1 : T
                var mx = -Float.infinity
                for j in 0..<valid where row[j] > mx { mx = row[j] }
                for j in 0..<valid { row[j] -= mx }
                VectorMath.exp(out: row, inp: row, count: valid)
                var sum: Float = 0
                for j in 0..<valid { sum += row[j] }
                let inv = 1 / sum
                for j in 0..<valid { row[j] *= inv }
                for j in valid..<T { row[j] = 0 }
            }
            sgemm(m: T, n: hd, k: T, a: p, lda: T, b: v, ldb: C3, c: out + b * T * C + h * hd, ldc: C)
        }
    }
}

/// Backward of `attentionForward`. dqkv is overwritten. `scratch` holds T×T floats per thread chunk
/// (`attentionScratchCount`).
public func attentionBackward(dqkv: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                              qkv: UnsafePointer<Float>, probs: UnsafePointer<Float>,
                              scratch: UnsafeMutablePointer<Float>, shape s: AttentionShape) {
    let T = s.tokens, C = s.width, hd = s.headDim, C3 = 3 * C
    parallelChunks(s.batch * s.heads) { chunk, range in
        let dp = scratch + chunk * T * T
        for bh in range {
            let b = bh / s.heads, h = bh % s.heads
            let q = qkv + b * T * C3 + h * hd
            let k = q + C, v = q + 2 * C
            let dq = dqkv + b * T * C3 + h * hd
            let dk = dq + C, dv = dq + 2 * C
            let p = probs + bh * T * T
            let dO = dout + b * T * C + h * hd
            // dP = dO Vᵀ ; dV = Pᵀ dO
            sgemm(transB: true, m: T, n: T, k: hd, a: dO, lda: C, b: v, ldb: C3, c: dp, ldc: T)
            sgemm(transA: true, m: T, n: hd, k: T, a: p, lda: T, b: dO, ldb: C, c: dv, ldc: C3)
            // dS = P ⊙ (dP − rowsum(dP ⊙ P)), times the scale of S = scale·QKᵀ.
            for i in 0..<T {
                let pr = p + i * T, dr = dp + i * T
                var dot: Float = 0
                for j in 0..<T { dot += pr[j] * dr[j] }
                for j in 0..<T { dr[j] = pr[j] * (dr[j] - dot) * s.scale }
            }
            // dQ = dS K ; dK = dSᵀ Q
            sgemm(m: T, n: hd, k: T, a: dp, lda: T, b: k, ldb: C3, c: dq, ldc: C3)
            sgemm(transA: true, m: T, n: hd, k: T, a: dp, lda: T, b: q, ldb: C3, c: dk, ldc: C3)
        }
    }
}

/// Scratch floats `attentionBackward` needs for a given shape and the current thread count.
public func attentionScratchCount(tokens: Int, threads: Int) -> Int { tokens * tokens * max(threads, 1) }
