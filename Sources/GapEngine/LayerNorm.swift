import Foundation

/// LayerNorm over the last dimension (torch: biased variance, eps 1e-5). Saves mean and 1/std per row
/// for the backward pass.
public func layerNormForward(out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                             rstd: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                             weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                             rows: Int, dim: Int, eps: Float = 1e-5) {
    parallelChunks(rows, minimumPerChunk: 64) { _, range in
        for r in range {
            let x = inp + r * dim
            var s: Float = 0
            for i in 0..<dim { s += x[i] }
            let m = s / Float(dim)
            var v: Float = 0
            for i in 0..<dim { let d = x[i] - m; v += d * d }
            let rs = 1 / (v / Float(dim) + eps).squareRoot()
            let o = out + r * dim
            for i in 0..<dim { o[i] = (x[i] - m) * rs * weight[i] + bias[i] }
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
    // Input gradients are independent per row; parameter gradients are summed in row order afterwards.
    parallelChunks(rows, minimumPerChunk: 64) { _, range in
        for r in range {
            let x = inp + r * dim, dy = dout + r * dim, dx = dinp + r * dim
            let m = mean[r], rs = rstd[r]
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
    for r in 0..<rows {
        let x = inp + r * dim, dy = dout + r * dim
        let m = mean[r], rs = rstd[r]
        for i in 0..<dim {
            dweight[i] += dy[i] * (x[i] - m) * rs
            dbias[i] += dy[i]
        }
    }
}
