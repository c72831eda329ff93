import GapEngine

/// Similarities of rows `rowStart..<rowStart+rowCount` of `queries` against every row of `candidates`:
/// a [rowCount, candidates.rows] block, so that a 10,000 × 10,000 evaluation never holds the full matrix.
func similarityBlock(engine: EngineContext, queries: EmbeddingMatrix, rowStart: Int, rowCount: Int,
                     candidates: EmbeddingMatrix, into block: inout [Float]) {
    let n = candidates.rows
    if block.count < rowCount * n { block = [Float](repeating: 0, count: rowCount * n) }
    let d = queries.dim
    queries.values.withUnsafeBufferPointer { q in
        candidates.values.withUnsafeBufferPointer { cand in
            block.withUnsafeMutableBufferPointer { out in
                sgemm(engine: engine, transB: true, m: rowCount, n: n, k: d,
                      a: q.baseAddress! + rowStart * d, lda: d,
                      b: cand.baseAddress!, ldb: d,
                      c: out.baseAddress!, ldc: n)
            }
        }
    }
}
