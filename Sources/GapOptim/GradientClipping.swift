/// Global L2 norm of the gradients inside `segments` (all of them when nil), summed in Double.
public func gradientNorm(_ gradients: UnsafePointer<Float>, count: Int, segments: [ParameterSegment]? = nil) -> Double {
    var squareSum = 0.0
    forEachRange(count: count, segments: segments) { range in
        for k in range { squareSum += Double(gradients[k]) * Double(gradients[k]) }
    }
    return squareSum.squareRoot()
}

/// torch.nn.utils.clip_grad_norm_ with the 2-norm: every gradient is multiplied by maxNorm / (norm + 1e-6)
/// when that factor is below 1 (torch clamps the factor at 1 rather than comparing the norm with the limit).
/// Returns the norm before clipping. `maxNorm` ≤ 0 turns clipping off, as `grad_clip_norm: 0` does; a
/// non-finite norm leaves the gradients as they are, for the trainer's non-finite check to report.
@discardableResult
public func clipGradientNorm(_ gradients: UnsafeMutablePointer<Float>, count: Int, maxNorm: Double,
                             segments: [ParameterSegment]? = nil) -> Double {
    let norm = gradientNorm(gradients, count: count, segments: segments)
    guard maxNorm > 0, norm.isFinite else { return norm }
    let coefficient = maxNorm / (norm + 1e-6)
    guard coefficient < 1 else { return norm }
    let factor = Float(coefficient)
    forEachRange(count: count, segments: segments) { range in
        for k in range { gradients[k] *= factor }
    }
    return norm
}

private func forEachRange(count: Int, segments: [ParameterSegment]?, _ body: (Range<Int>) -> Void) {
    guard let segments else { return body(0..<count) }
    for segment in segments { body(segment.offset..<(segment.offset + segment.count)) }
}
