import Foundation

// Rows are short (the model width), so scalar loops spend as long on the loop as on the arithmetic: when the width
// is a whole number of vectors, each row is handled a vector (8 or 16 lanes) at a time. Other widths take the
// scalar path.

/// LayerNorm over the last dimension (torch: biased variance, eps 1e-5). Saves mean and 1/std per row
/// for the backward pass.
public func layerNormForward(engine: EngineContext, out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                             rstd: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                             weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                             rows: Int, dim: Int, eps: Float = 1e-5) {
    typealias V = VectorMath.Vector
    parallelChunks(engine: engine, rows, minimumPerChunk: 64, sharing: (out, mean, rstd, inp, weight, bias, dim, eps)) { s, _, range in
        let (out, mean, rstd, inp, weight, bias, dim, eps) = s
        let w = V.scalarCount
        for r in range {
            let x = inp + r * dim, o = out + r * dim
            let m: Float, rs: Float
            if dim % w == 0 {
                var s = V()
                for i in stride(from: 0, to: dim, by: w) { s += VectorMath.load(x + i) }
                m = VectorMath.sum(s) / Float(dim)
                let mv = V(repeating: m)
                var v = V()
                for i in stride(from: 0, to: dim, by: w) {
                    let d = VectorMath.load(x + i) - mv
                    v.addProduct(d, d)
                }
                rs = 1 / (VectorMath.sum(v) / Float(dim) + eps).squareRoot()
                let rsv = V(repeating: rs)
                for i in stride(from: 0, to: dim, by: w) {
                    let n = (VectorMath.load(x + i) - mv) * rsv
                    VectorMath.store(n * VectorMath.load(weight + i) + VectorMath.load(bias + i), o + i)
                }
            } else {
                var s: Float = 0
                for i in 0..<dim { s += x[i] }
                m = s / Float(dim)
                var v: Float = 0
                for i in 0..<dim { let d = x[i] - m; v += d * d }
                rs = 1 / (v / Float(dim) + eps).squareRoot()
                for i in 0..<dim { o[i] = (x[i] - m) * rs * weight[i] + bias[i] }
            }
            mean[r] = m
            rstd[r] = rs
        }
    }
}

/// Backward of `layerNormForward`: dinp is accumulated (the residual stream's gradient is already there);
/// dweight and dbias accumulate.
///
/// One pass over the rows: each piece of rows adds its rows' dweight and dbias terms into its own partial while it
/// has the row in hand for dinp, and the partials are added in piece order at the end. (A second pass over every
/// row, split by columns, read dout and inp again from memory.) With one thread there is one piece, summed in row
/// order; the pieces depend only on the row count and the thread count, so results do too.
public func layerNormBackward(engine: EngineContext, dinp: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>,
                              dbias: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                              inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                              mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, rows: Int, dim: Int) {
    let threads = engine.threads
    let pieces = threads == 1 ? 1 : max(1, min(threads * piecesPerThread, rows / 64))
    let per = (rows + pieces - 1) / pieces, pieceCount = (rows + per - 1) / per
    // Each piece's partial on cache lines of its own (the scratch starts on a line, and the stride is whole lines):
    // pieces run on different threads at once, and a line two partials shared went back and forth between the cores
    // at every row.
    let lineFloats = FloatBuffer.cacheLineBytes / MemoryLayout<Float>.stride
    let stride = (2 * dim + lineFloats - 1) / lineFloats * lineFloats
    engine.layerNormPartials.with(count: pieceCount * stride) { partials in
        partials.update(repeating: 0, count: pieceCount * stride)
        let shared = (dinp, partials, dout, inp, weight, mean, rstd, rows, dim, per, stride)
        parallelChunks(engine: engine, pieceCount, sharing: shared) { s, _, range in
            let (dinp, partials, dout, inp, weight, mean, rstd, rows, dim, per, stride) = s
            for piece in range {
                let gw = partials + piece * stride, gb = gw + dim
                for r in (piece * per)..<min(rows, (piece + 1) * per) {
                    layerNormBackwardRow(dx: dinp + r * dim, gw: gw, gb: gb, dy: dout + r * dim, x: inp + r * dim,
                                         weight: weight, mean: mean[r], rstd: rstd[r], dim: dim)
                }
            }
        }
        for i in 0..<dim {
            var w = partials[i], b = partials[dim + i]
            for piece in 1..<pieceCount {
                w += partials[piece * stride + i]
                b += partials[piece * stride + dim + i]
            }
            dweight[i] += w
            dbias[i] += b
        }
    }
}

/// One row of `layerNormBackward`: dx += its input gradient; gw += dy ⊙ norm and gb += dy, the row's terms of
/// dweight and dbias.
@inline(__always)
private func layerNormBackwardRow(dx: UnsafeMutablePointer<Float>, gw: UnsafeMutablePointer<Float>,
                                  gb: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
                                  weight: UnsafePointer<Float>, mean m: Float, rstd rs: Float, dim: Int) {
    typealias V = VectorMath.Vector
    let w = V.scalarCount
    if dim % w == 0 {
        let mv = V(repeating: m), rsv = V(repeating: rs)
        var sumDn = V(), sumDnNorm = V()
        for i in stride(from: 0, to: dim, by: w) {
            let norm = (VectorMath.load(x + i) - mv) * rsv
            let dn = VectorMath.load(dy + i) * VectorMath.load(weight + i)
            sumDn += dn
            sumDnNorm.addProduct(dn, norm)
        }
        let dnMean = V(repeating: VectorMath.sum(sumDn) / Float(dim))
        let dnNormMean = V(repeating: VectorMath.sum(sumDnNorm) / Float(dim))
        for i in stride(from: 0, to: dim, by: w) {
            let norm = (VectorMath.load(x + i) - mv) * rsv
            let d = VectorMath.load(dy + i)
            let dn = d * VectorMath.load(weight + i)
            VectorMath.store(VectorMath.load(dx + i) + (dn - dnMean - norm * dnNormMean) * rsv, dx + i)
            VectorMath.store(VectorMath.load(gw + i).addingProduct(d, norm), gw + i)
            VectorMath.store(VectorMath.load(gb + i) + d, gb + i)
        }
    } else {
        var dnMean: Float = 0, dnNormMean: Float = 0
        for i in 0..<dim {
            let norm = (x[i] - m) * rs
            let dn = dy[i] * weight[i]
            dnMean += dn
            dnNormMean += dn * norm
        }
        dnMean /= Float(dim)
        dnNormMean /= Float(dim)
        for i in 0..<dim {
            let norm = (x[i] - m) * rs
            let dn = dy[i] * weight[i]
            dx[i] += (dn - dnMean - norm * dnNormMean) * rs
            gw[i] += dy[i] * norm
            gb[i] += dy[i]
        }
    }
}
