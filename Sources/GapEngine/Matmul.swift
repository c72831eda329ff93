import CBLAS
import Foundation

/// Row-major C[m,n] = alpha·op(A)·op(B) + beta·C through OpenBLAS. `lda/ldb/ldc` are row strides, so
/// column slices (one attention head inside a packed q|k|v row) need no copy.
///
/// OpenBLAS itself runs single-threaded (see `EngineThreads`); a large product is split here into one
/// OpenBLAS call per engine thread, along the rows of C when it is tall and along its columns otherwise.
/// The split depends only on the shape and the thread count, so results are reproducible.
@inline(__always)
public func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                  alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                  b: UnsafePointer<Float>, ldb: Int,
                  beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    _ = EngineThreads.singleThreadedBLAS
    let threads = EngineThreads.count
    guard threads > 1, m * n * k >= 1 << 18 else {
        blasSGEMM(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        return
    }
    if m >= n {
        parallelChunks(m, minimumPerChunk: 16) { _, rows in
            // Row i of op(A) starts at a + i·lda, or at column i (a + i) when A is stored transposed.
            let aRows = transA ? a + rows.lowerBound : a + rows.lowerBound * lda
            blasSGEMM(transA, transB, rows.count, n, k, alpha, aRows, lda, b, ldb, beta, c + rows.lowerBound * ldc, ldc)
        }
    } else {
        parallelChunks(n, minimumPerChunk: 16) { _, cols in
            // Column j of op(B) starts at b + j, or at row j (b + j·ldb) when B is stored transposed.
            let bCols = transB ? b + cols.lowerBound * ldb : b + cols.lowerBound
            blasSGEMM(transA, transB, m, cols.count, k, alpha, a, lda, bCols, ldb, beta, c + cols.lowerBound, ldc)
        }
    }
}

@inline(__always)
func blasSGEMM(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
               _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
               _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// torch's nn.Linear: out[rows, outDim] = inp[rows, inDim] · Wᵀ + b, with W stored [outDim, inDim].
public func linearForward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                          weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                          rows: Int, inDim: Int, outDim: Int) {
    if let bias {
        for r in 0..<rows { (out + r * outDim).update(from: bias, count: outDim) }
        sgemm(transB: true, m: rows, n: outDim, k: inDim, a: inp, lda: inDim, b: weight, ldb: inDim, beta: 1, c: out, ldc: outDim)
    } else {
        sgemm(transB: true, m: rows, n: outDim, k: inDim, a: inp, lda: inDim, b: weight, ldb: inDim, beta: 0, c: out, ldc: outDim)
    }
}

/// Backward of `linearForward`. Gradients of the weight and bias accumulate (shared parameters are used by
/// several towers); the input gradient is overwritten unless `accumulateInput`.
public func linearBackward(dinp: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>,
                           dbias: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>,
                           inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                           rows: Int, inDim: Int, outDim: Int, accumulateInput: Bool = false) {
    if let dinp {
        sgemm(m: rows, n: inDim, k: outDim, a: dout, lda: outDim, b: weight, ldb: inDim,
              beta: accumulateInput ? 1 : 0, c: dinp, ldc: inDim)
    }
    sgemm(transA: true, m: outDim, n: inDim, k: rows, a: dout, lda: outDim, b: inp, ldb: inDim, beta: 1, c: dweight, ldc: inDim)
    if let dbias { columnSums(dout, rows: rows, cols: outDim, accumulateInto: dbias) }
}

/// open_clip's projections (`visual.proj`, `text_projection`): out[rows, outDim] = inp · P with P stored [inDim, outDim].
public func projectionForward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                              projection: UnsafePointer<Float>, rows: Int, inDim: Int, outDim: Int) {
    sgemm(m: rows, n: outDim, k: inDim, a: inp, lda: inDim, b: projection, ldb: outDim, c: out, ldc: outDim)
}

public func projectionBackward(dinp: UnsafeMutablePointer<Float>, dprojection: UnsafeMutablePointer<Float>,
                               dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, projection: UnsafePointer<Float>,
                               rows: Int, inDim: Int, outDim: Int) {
    sgemm(transB: true, m: rows, n: inDim, k: outDim, a: dout, lda: outDim, b: projection, ldb: outDim, c: dinp, ldc: inDim)
    sgemm(transA: true, m: inDim, n: outDim, k: rows, a: inp, lda: inDim, b: dout, ldb: outDim, beta: 1, c: dprojection, ldc: outDim)
}

/// acc[j] += Σ_r x[r, j] (bias gradients), as one matrix–vector product xᵀ·1.
public func columnSums(_ x: UnsafePointer<Float>, rows: Int, cols: Int, accumulateInto acc: UnsafeMutablePointer<Float>) {
    cblas_sgemv(CblasRowMajor, CblasTrans, Int32(rows), Int32(cols), 1, x, Int32(cols), Ones.pointer(count: rows), 1, 1, acc, 1)
}

/// A shared vector of ones, grown when a longer one is needed (only while shapes first appear).
enum Ones {
    nonisolated(unsafe) private static var buffer = FloatBuffer(count: 0)
    private static let lock = NSLock()

    static func pointer(count: Int) -> UnsafePointer<Float> {
        lock.lock()
        defer { lock.unlock() }
        if buffer.count < count {
            buffer = FloatBuffer([Float](repeating: 1, count: count))
        }
        return UnsafePointer(buffer.pointer)
    }
}
