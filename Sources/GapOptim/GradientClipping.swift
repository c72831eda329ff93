import GapEngine

/// Global L2 norm of the gradients inside `segments` (all of them when nil), summed in Double: over fixed pieces
/// of the buffer on `engine`'s threads, then the pieces' sums in order.
public func gradientNorm(engine: EngineContext, _ gradients: UnsafePointer<Float>, count: Int, segments: [ParameterSegment]? = nil) -> Double {
    let pieces = engine.threads * piecesPerThread, per = (count + pieces - 1) / max(pieces, 1)
    return withUnsafeTemporaryAllocation(of: Double.self, capacity: pieces) { sums in
        parallelChunks(engine: engine, pieces, sharing: (gradients, count, segments, per, sums.baseAddress!)) { s, _, range in
            let (gradients, count, segments, per, sums) = s
            for piece in range {
                let lo = piece * per, hi = min(count, lo + per)
                var squareSum = 0.0
                if lo < hi {
                    forEachRange(count: count, segments: segments) { segment in
                        for k in (lo..<hi).clamped(to: segment) { squareSum += Double(gradients[k]) * Double(gradients[k]) }
                    }
                }
                sums[piece] = squareSum
            }
        }
        var total = 0.0
        for piece in 0..<pieces { total += sums[piece] }
        return total.squareRoot()
    }
}

/// torch.nn.utils.clip_grad_norm_ with the 2-norm: every gradient is multiplied by maxNorm / (norm + 1e-6)
/// when that factor is below 1 (torch clamps the factor at 1 rather than comparing the norm with the limit).
/// Returns the norm before clipping. `maxNorm` ≤ 0 turns clipping off, as `grad_clip_norm: 0` does; a
/// non-finite norm leaves the gradients as they are, for the trainer's non-finite check to report.
@discardableResult
public func clipGradientNorm(engine: EngineContext, _ gradients: UnsafeMutablePointer<Float>, count: Int, maxNorm: Double,
                             segments: [ParameterSegment]? = nil) -> Double {
    let norm = gradientNorm(engine: engine, gradients, count: count, segments: segments)
    guard maxNorm > 0, norm.isFinite else { return norm }
    let coefficient = maxNorm / (norm + 1e-6)
    guard coefficient < 1 else { return norm }
    let factor = Float(coefficient)
    parallelChunks(engine: engine, count, minimumPerChunk: 1 << 15, sharing: (gradients, count, segments, factor)) { s, _, piece in
        let (gradients, count, segments, factor) = s
        forEachRange(count: count, segments: segments) { segment in
            for k in piece.clamped(to: segment) { gradients[k] *= factor }
        }
    }
    return norm
}

private func forEachRange(count: Int, segments: [ParameterSegment]?, _ body: (Range<Int>) -> Void) {
    guard let segments else { return body(0..<count) }
    for segment in segments { body(segment.offset..<(segment.offset + segment.count)) }
}
