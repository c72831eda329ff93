import CBLAS

// Row-major single-precision products through OpenBLAS. Batch matrices are compact: an n×n matrix has
// leading dimension n, an n×e embedding block leading dimension e.

/// out[n×n] = A[n×e]·B[n×e]ᵀ.
@inline(__always)
func multiplyTransposed(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                        rows n: Int, dim e: Int) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(n), Int32(e),
                1, a, Int32(e), b, Int32(e), 0, out, Int32(n))
}

/// out[n×e] = (transposeCoefficients ? Cᵀ : C)[n×n]·X[n×e] + beta·out.
@inline(__always)
func multiplyCoefficients(_ c: UnsafePointer<Float>, transposed transposeCoefficients: Bool, _ x: UnsafePointer<Float>,
                          into out: UnsafeMutablePointer<Float>, rows n: Int, dim e: Int, beta: Float) {
    cblas_sgemm(CblasRowMajor, transposeCoefficients ? CblasTrans : CblasNoTrans, CblasNoTrans,
                Int32(n), Int32(e), Int32(n), 1, c, Int32(n), x, Int32(e), beta, out, Int32(e))
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
