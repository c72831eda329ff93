import GapEngine

// The loss's products through the engine's one entry point, `sgemm`. Batch matrices are compact: an n×n matrix
// has leading dimension n, an n×e embedding block leading dimension e.

/// out[n×n] = A[n×e]·B[n×e]ᵀ.
@inline(__always)
func multiplyTransposed(engine: EngineContext, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                        rows n: Int, dim e: Int) {
    sgemm(engine: engine, transB: true, m: n, n: n, k: e, a: a, lda: e, b: b, ldb: e, beta: 0, c: out, ldc: n)
}

/// out[n×e] = (transposeCoefficients ? Cᵀ : C)[n×n]·X[n×e] + beta·out.
@inline(__always)
func multiplyCoefficients(engine: EngineContext, _ c: UnsafePointer<Float>, transposed transposeCoefficients: Bool, _ x: UnsafePointer<Float>,
                          into out: UnsafeMutablePointer<Float>, rows n: Int, dim e: Int, beta: Float) {
    sgemm(engine: engine, transA: transposeCoefficients, m: n, n: e, k: n, a: c, lda: n, b: x, ldb: e, beta: beta, c: out, ldc: e)
}

/// M ← M + Mᵀ in place, for the gradient of a Gram matrix X·Xᵀ (each entry depends on two rows of X).
func symmetrizeInPlace(_ m: UnsafeMutablePointer<Float>, count n: Int) {
    for i in 0..<n {
        m[i * n + i] *= 2
        for j in (i + 1)..<n {
            let sum = m[i * n + j] + m[j * n + i]
            m[i * n + j] = sum
            m[j * n + i] = sum
        }
    }
}
