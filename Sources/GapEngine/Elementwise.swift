/// Gathers one row per sequence: out[b] = x[b, positions[b]] (CLS pooling with position 0, end-of-text pooling).
public func gatherRows(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, positions: UnsafePointer<Int32>?,
                       batch: Int, tokens: Int, width: Int) {
    for b in 0..<batch {
        let t = positions.map { Int($0[b]) } ?? 0
        (out + b * width).update(from: x + (b * tokens + t) * width, count: width)
    }
}

/// Backward of `gatherRows`: dx[b, positions[b]] += dout[b].
public func scatterRowsAdd(dx: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, positions: UnsafePointer<Int32>?,
                           batch: Int, tokens: Int, width: Int) {
    for b in 0..<batch {
        let t = positions.map { Int($0[b]) } ?? 0
        let dst = dx + (b * tokens + t) * width, src = dout + b * width
        for i in 0..<width { dst[i] += src[i] }
    }
}

/// out = a + b (the residual connection).
public func addForward(engine: EngineContext, out: UnsafeMutablePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>, count: Int) {
    parallelChunks(engine: engine, count, minimumPerChunk: 16384, sharing: (out, a, b)) { s, _, range in
        let (out, a, b) = s
        for i in range { out[i] = a[i] + b[i] }
    }
}

/// acc += x.
public func accumulate(engine: EngineContext, _ acc: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
    parallelChunks(engine: engine, count, minimumPerChunk: 16384, sharing: (acc, x)) { s, _, range in
        let (acc, x) = s
        for i in range { acc[i] += x[i] }
    }
}

/// Row-wise L2 normalisation, saving each row's norm for the backward pass.
public func l2NormalizeForward(out: UnsafeMutablePointer<Float>, norms: UnsafeMutablePointer<Float>,
                               inp: UnsafePointer<Float>, rows: Int, dim: Int) {
    for r in 0..<rows {
        let x = inp + r * dim
        var s: Float = 0
        for i in 0..<dim { s += x[i] * x[i] }
        // torch.nn.functional.normalize clamps the norm at eps = 1e-12.
        let n = max(s.squareRoot(), 1e-12)
        norms[r] = n
        let o = out + r * dim
        for i in 0..<dim { o[i] = x[i] / n }
    }
}

/// dinp = (dout − y·(y·dout)) / ‖x‖ with y = x/‖x‖.
public func l2NormalizeBackward(dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                normalized: UnsafePointer<Float>, norms: UnsafePointer<Float>, rows: Int, dim: Int) {
    for r in 0..<rows {
        let y = normalized + r * dim, dy = dout + r * dim, dx = dinp + r * dim
        var dot: Float = 0
        for i in 0..<dim { dot += y[i] * dy[i] }
        let inv = 1 / norms[r]
        for i in 0..<dim { dx[i] = (dy[i] - y[i] * dot) * inv }
    }
}

/// x[i] *= factor[i] (the GELU backward, with the derivative saved by `biasGELUForward`).
public func multiplyElementwise(engine: EngineContext, _ x: UnsafeMutablePointer<Float>, by factor: UnsafePointer<Float>, count: Int) {
    parallelChunks(engine: engine, count, minimumPerChunk: 16384, sharing: (x, factor)) { s, _, range in
        let a = s.0 + range.lowerBound, f = s.1 + range.lowerBound
        for i in 0..<range.count { a[i] *= f[i] }
    }
}

/// out[r, :] = inp[r, :] + bias for every row.
public func addRowsWithBias(engine: EngineContext, out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                            rows: Int, cols: Int) {
    parallelChunks(engine: engine, rows, minimumPerChunk: max(1, 16384 / max(cols, 1)), sharing: (out, inp, bias, cols)) { s, _, range in
        let (out, inp, bias, cols) = s
        for r in range {
            let x = inp + r * cols, o = out + r * cols
            VectorMath.forEachVector(cols) { i in
                VectorMath.store(VectorMath.load(x + i) + VectorMath.load(bias + i), o + i)
            } tail: { i, n in
                VectorMath.storePartial(VectorMath.loadPartial(x + i, n) + VectorMath.loadPartial(bias + i, n), o + i, n)
            }
        }
    }
}
