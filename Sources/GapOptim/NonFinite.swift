import GapEngine
import Synchronization

/// Index of the first NaN or infinity in `values`, or nil when all are finite.
public func firstNonFiniteIndex(_ values: UnsafePointer<Float>, count: Int) -> Int? {
    for k in 0..<count where !values[k].isFinite { return k }
    return nil
}

/// The first non-finite value in the buffer, located by parameter name for the message that stops training.
/// Checked every step, so the common case (all finite) is one pass split across `engine`'s threads.
public func firstNonFinite(engine: EngineContext, _ values: UnsafePointer<Float>, segments: [ParameterSegment])
    -> (segment: ParameterSegment, index: Int)? {
    let bad = Atomic<Bool>(false)
    withUnsafePointer(to: bad) { bad in
        forEachSegmentPiece(engine: engine, segments, FiniteCheck(values: values, bad: bad))
    }
    guard bad.load(ordering: .relaxed) else { return nil }
    for segment in segments {
        if let index = firstNonFiniteIndex(values + segment.offset, count: segment.count) {
            return (segment, index)
        }
    }
    return nil
}

/// Work over pieces of the parameter buffer (`forEachSegmentPiece`): a plain struct holding the pointers and
/// scalars it needs, so that the pieces run with no closure to carry.
protocol SegmentPass {
    func run(_ range: Range<Int>, decay: Bool)
}

/// Runs `pass` over the parameters of `segments`, cut into pieces of the whole parameter range that `engine`'s
/// threads share (each piece clipped to every segment it overlaps). Pieces depend only on the segments and the
/// thread count. A protocol, not a closure: a closure handed to the threads inside the loop's shared values comes
/// back in its generic form, and calling it took a heap-allocated thunk on every piece.
@inline(__always)
func forEachSegmentPiece<Pass: SegmentPass>(engine: EngineContext, _ segments: [ParameterSegment], _ pass: Pass) {
    var end = 0
    for segment in segments { end = max(end, segment.offset + segment.count) }
    parallelChunks(engine: engine, end, minimumPerChunk: 1 << 15, sharing: (segments, pass)) { s, _, piece in
        let (segments, pass) = s
        for segment in segments {
            let part = piece.clamped(to: segment.offset..<(segment.offset + segment.count))
            if !part.isEmpty { pass.run(part, decay: segment.decay) }
        }
    }
}

/// Sets `bad` when any value in a piece is not finite.
private struct FiniteCheck: SegmentPass {
    let values: UnsafePointer<Float>
    let bad: UnsafePointer<Atomic<Bool>>

    func run(_ range: Range<Int>, decay: Bool) {
        var finite = true
        for k in range { finite = finite && values[k].isFinite }
        if !finite { bad.pointee.store(true, ordering: .relaxed) }
    }
}
