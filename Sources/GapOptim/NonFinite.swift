/// Index of the first NaN or infinity in `values`, or nil when all are finite.
public func firstNonFiniteIndex(_ values: UnsafePointer<Float>, count: Int) -> Int? {
    for k in 0..<count where !values[k].isFinite { return k }
    return nil
}

/// The first non-finite value in the buffer, located by parameter name for the message that stops training.
public func firstNonFinite(_ values: UnsafePointer<Float>, segments: [ParameterSegment])
    -> (segment: ParameterSegment, index: Int)? {
    for segment in segments {
        if let index = firstNonFiniteIndex(values + segment.offset, count: segment.count) {
            return (segment, index)
        }
    }
    return nil
}
