import CBLAS

/// C = alpha · op(A) · op(B) + beta · C on row-major buffers, through OpenBLAS.
/// op(A) is [m, k], op(B) is [k, n]; lda/ldb are the row lengths of A and B as stored.
func sgemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
           alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
           b: UnsafePointer<Float>, ldb: Int,
           beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    guard m > 0, n > 0, k > 0 else {
        if m > 0, n > 0, beta == 0 {
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = 0 } }
        }
        return
    }
    cblas_sgemm(CblasRowMajor,
                transposeA ? CblasTrans : CblasNoTrans,
                transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// Similarities of rows `rowStart..<rowStart+rowCount` of `queries` against every row of `candidates`:
/// a [rowCount, candidates.rows] block, so that a 10,000 × 10,000 evaluation never holds the full matrix.
func similarityBlock(queries: EmbeddingMatrix, rowStart: Int, rowCount: Int,
                     candidates: EmbeddingMatrix, into block: inout [Float]) {
    let n = candidates.rows
    if block.count < rowCount * n { block = [Float](repeating: 0, count: rowCount * n) }
    let d = queries.dim
    queries.values.withUnsafeBufferPointer { q in
        candidates.values.withUnsafeBufferPointer { cand in
            block.withUnsafeMutableBufferPointer { out in
                sgemm(transposeA: false, transposeB: true, m: rowCount, n: n, k: d,
                      a: q.baseAddress! + rowStart * d, lda: d,
                      b: cand.baseAddress!, ldb: d,
                      c: out.baseAddress!, ldc: n)
            }
        }
    }
}
