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
    withUnsafePointer(to: bad) { bad in
        forEachSegmentPiece(segments, sharing: (values, bad)) { s, range, _ in
            let (values, bad) = s
            var finite = true
            for k in range { finite = finite && values[k].isFinite }
            if !finite { bad.pointee.store(true, ordering: .relaxed) }
        }
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
/// `body` captures nothing (see `parallelChunks`): what it needs comes in `shared`.
@inline(__always)
func forEachSegmentPiece<Shared>(_ segments: [ParameterSegment], sharing shared: Shared,
                                 _ body: @escaping (_ shared: Shared, _ range: Range<Int>, _ decay: Bool) -> Void) {
    var end = 0
    for segment in segments { end = max(end, segment.offset + segment.count) }
    parallelChunks(end, minimumPerChunk: 1 << 15, sharing: (segments, shared, body)) { s, _, piece in
        let (segments, shared, body) = s
        for segment in segments {
            let part = piece.clamped(to: segment.offset..<(segment.offset + segment.count))
            if !part.isEmpty { body(shared, part, segment.decay) }
        }
    }
}
