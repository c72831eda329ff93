import Foundation

/// Exact GELU, x·Φ(x) = ½x(1 + erf(x/√2)), as torch.nn.GELU() (open_clip without quick_gelu).
public func geluForward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int) {
    parallelChunks(count, minimumPerChunk: 16384) { _, range in
        for i in range {
            let x = inp[i]
            out[i] = 0.5 * x * (1 + erf(x * 0.70710678118654752))
        }
    }
}

/// dinp = dout · (Φ(x) + x·φ(x)); overwrites dinp (it may alias dout).
public func geluBackward(dinp: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, dout: UnsafePointer<Float>, count: Int) {
    parallelChunks(count, minimumPerChunk: 16384) { _, range in
        for i in range {
            let x = inp[i]
            let cdf = 0.5 * (1 + erf(x * 0.70710678118654752))
            let pdf = exp(-0.5 * x * x) * 0.39894228040143268
            dinp[i] = dout[i] * (cdf + x * pdf)
        }
    }
}
