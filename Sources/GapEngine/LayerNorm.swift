import Foundation

// Rows are short (the model width), so scalar loops spend as long on the loop as on the arithmetic: when the width
// is a whole number of vectors, each row is handled a vector (8 or 16 lanes) at a time. Other widths take the
// scalar path.

/// LayerNorm over the last dimension (torch: biased variance, eps 1e-5). Saves mean and 1/std per row
/// for the backward pass.
public func layerNormForward(out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                             rstd: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                             weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                             rows: Int, dim: Int, eps: Float = 1e-5) {
    typealias V = VectorMath.Vector
    parallelChunks(rows, minimumPerChunk: 64, sharing: (out, mean, rstd, inp, weight, bias, dim, eps)) { s, _, range in
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
public func layerNormBackward(dinp: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>,
                              dbias: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                              inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                              mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, rows: Int, dim: Int) {
    typealias V = VectorMath.Vector
    let w = V.scalarCount
    let vectorised = dim % w == 0
    // Input gradients are independent per row.
    parallelChunks(rows, minimumPerChunk: 64, sharing: (dinp, dout, inp, weight, mean, rstd, dim)) { s, _, range in
        let (dinp, dout, inp, weight, mean, rstd, dim) = s
        let w = V.scalarCount, vectorised = dim % w == 0
        for r in range {
            let x = inp + r * dim, dy = dout + r * dim, dx = dinp + r * dim
            let m = mean[r], rs = rstd[r]
            if vectorised {
                let mv = V(repeating: m), rsv = V(repeating: rs)
                var sumDn = V(), sumDnNorm = V()
                for i in stride(from: 0, to: dim, by: w) {
                    let norm = (VectorMath.load(x + i) - mv) * rsv
                    let dn = VectorMath.load(dy + i) * VectorMath.load(weight + i)
                    sumDn += dn
                    sumDnNorm.addProduct(dn, norm)
                }
                let dnMean = V(repeating: VectorMath.sum(sumDn) / Float(dim)), dnNormMean = V(repeating: VectorMath.sum(sumDnNorm) / Float(dim))
                for i in stride(from: 0, to: dim, by: w) {
                    let norm = (VectorMath.load(x + i) - mv) * rsv
                    let dn = VectorMath.load(dy + i) * VectorMath.load(weight + i)
                    VectorMath.store(VectorMath.load(dx + i) + (dn - dnMean - norm * dnNormMean) * rsv, dx + i)
                }
            } else {
                var dnormMean: Float = 0, dnormNormMean: Float = 0
                for i in 0..<dim {
                    let norm = (x[i] - m) * rs
                    let dn = dy[i] * weight[i]
                    dnormMean += dn
                    dnormNormMean += dn * norm
                }
                dnormMean /= Float(dim)
                dnormNormMean /= Float(dim)
                for i in 0..<dim {
                    let norm = (x[i] - m) * rs
                    let dn = dy[i] * weight[i]
                    dx[i] += (dn - dnormMean - norm * dnormNormMean) * rs
                }
            }
        }
    }
    // Parameter gradients: split by columns, each summed over the rows in row order, so the result does not
    // depend on the thread count.
    if vectorised {
        // Blocks of four vectors (two cache lines of a row) when the width allows, so every line read is used whole.
        let span = dim % (4 * w) == 0 ? 4 * w : w
        parallelChunks(dim / span, sharing: (dweight, dbias, dout, inp, mean, rstd, rows, dim, span)) { s, _, blocks in
            let (dweight, dbias, dout, inp, mean, rstd, rows, dim, span) = s
            let w = V.scalarCount
            for block in blocks {
                let i = block * span
                if span == 4 * w {
                    var g0 = V(), g1 = V(), g2 = V(), g3 = V(), b0 = V(), b1 = V(), b2 = V(), b3 = V()
                    for r in 0..<rows {
                        let dy = dout + r * dim + i, x = inp + r * dim + i
                        let mv = V(repeating: mean[r]), rsv = V(repeating: rstd[r])
                        let d0 = VectorMath.load(dy), d1 = VectorMath.load(dy + w)
                        let d2 = VectorMath.load(dy + 2 * w), d3 = VectorMath.load(dy + 3 * w)
                        g0.addProduct(d0, (VectorMath.load(x) - mv) * rsv)
                        g1.addProduct(d1, (VectorMath.load(x + w) - mv) * rsv)
                        g2.addProduct(d2, (VectorMath.load(x + 2 * w) - mv) * rsv)
                        g3.addProduct(d3, (VectorMath.load(x + 3 * w) - mv) * rsv)
                        b0 += d0; b1 += d1; b2 += d2; b3 += d3
                    }
                    let dw = dweight + i, db = dbias + i
                    VectorMath.store(VectorMath.load(dw) + g0, dw); VectorMath.store(VectorMath.load(dw + w) + g1, dw + w)
                    VectorMath.store(VectorMath.load(dw + 2 * w) + g2, dw + 2 * w)
                    VectorMath.store(VectorMath.load(dw + 3 * w) + g3, dw + 3 * w)
                    VectorMath.store(VectorMath.load(db) + b0, db); VectorMath.store(VectorMath.load(db + w) + b1, db + w)
                    VectorMath.store(VectorMath.load(db + 2 * w) + b2, db + 2 * w)
                    VectorMath.store(VectorMath.load(db + 3 * w) + b3, db + 3 * w)
                } else {
                    var gw = V(), gb = V()
                    for r in 0..<rows {
                        let dy = VectorMath.load(dout + r * dim + i)
                        let norm = (VectorMath.load(inp + r * dim + i) - V(repeating: mean[r])) * V(repeating: rstd[r])
                        gw.addProduct(dy, norm)
                        gb += dy
                    }
                    VectorMath.store(VectorMath.load(dweight + i) + gw, dweight + i)
                    VectorMath.store(VectorMath.load(dbias + i) + gb, dbias + i)
                }
            }
        }
    } else {
        for r in 0..<rows {
            let x = inp + r * dim, dy = dout + r * dim
            let m = mean[r], rs = rstd[r]
            for i in 0..<dim {
                dweight[i] += dy[i] * (x[i] - m) * rs
                dbias[i] += dy[i]
            }
        }
    }
}
