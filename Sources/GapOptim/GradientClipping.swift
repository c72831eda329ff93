/// Global L2 norm of the gradients inside `segments` (all of them when nil), summed in Double.
public func gradientNorm(_ gradients: UnsafePointer<Float>, count: Int, segments: [ParameterSegment]? = nil) -> Double {
    var squareSum = 0.0
    forEachRange(count: count, segments: segments) { range in
        for k in range { squareSum += Double(gradients[k]) * Double(gradients[k]) }
    }
    return squareSum.squareRoot()
}

/// torch.nn.utils.clip_grad_norm_ with the 2-norm: when the global norm exceeds `maxNorm`, every gradient is
/// multiplied by maxNorm / (norm + 1e-6). Returns the norm before clipping; a non-finite norm leaves the
/// gradients as they are (the trainer stops on it).
@discardableResult
public func clipGradientNorm(_ gradients: UnsafeMutablePointer<Float>, count: Int, maxNorm: Double,
                             segments: [ParameterSegment]? = nil) -> Double {
    let norm = gradientNorm(gradients, count: count, segments: segments)
    guard norm.isFinite, norm > maxNorm else { return norm }
    let coefficient = Float(maxNorm / (norm + 1e-6))
    forEachRange(count: count, segments: segments) { range in
        for k in range { gradients[k] *= coefficient }
    }
    return norm
}

private func forEachRange(count: Int, segments: [ParameterSegment]?, _ body: (Range<Int>) -> Void) {
    guard let segments else { return body(0..<count) }
    for segment in segments { body(segment.offset..<(segment.offset + segment.count)) }
}
