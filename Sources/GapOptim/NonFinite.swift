import GapEngine
import Synchronization

/// Index of the first NaN or infinity in `values`, or nil when all are finite.
public func firstNonFiniteIndex(_ values: UnsafePointer<Float>, count: Int) -> Int? {
    for k in 0..<count where !values[k].isFinite { return k }
    return nil
}

/// The first non-finite value in the buffer, located by parameter name for the message that stops training.
/// Checked every step, so the common case (all finite) is one pass split across the engine threads.
public func firstNonFinite(_ values: UnsafePointer<Float>, segments: [ParameterSegment])
    -> (segment: ParameterSegment, index: Int)? {
    let bad = Atomic<Bool>(false)
    forEachSegmentPiece(segments) { range, _ in
        var finite = true
        for k in range { finite = finite && values[k].isFinite }
        if !finite { bad.store(true, ordering: .relaxed) }
    }
    guard bad.load(ordering: .relaxed) else { return nil }
    for segment in segments {
        if let index = firstNonFiniteIndex(values + segment.offset, count: segment.count) {
            return (segment, index)
        }
    }
    return nil
}

/// Runs `body` over the parameters of `segments`, cut into pieces of the whole parameter range that the engine
/// threads share (each piece clipped to every segment it overlaps). Pieces depend only on the segments and the
/// thread count.
func forEachSegmentPiece(_ segments: [ParameterSegment], _ body: (_ range: Range<Int>, _ decay: Bool) -> Void) {
    var end = 0
    for segment in segments { end = max(end, segment.offset + segment.count) }
    parallelChunks(end, minimumPerChunk: 1 << 15) { _, piece in
        for segment in segments {
            let lo = max(segment.offset, piece.lowerBound), hi = min(segment.offset + segment.count, piece.upperBound)
            if lo < hi { body(lo..<hi, segment.decay) }
        }
    }
}
