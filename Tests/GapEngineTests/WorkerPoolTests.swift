import Foundation
import Synchronization
import GapEngine
import XCTest

/// parallelChunks on the engine's own worker threads (bodies take what they use through `sharing:`): every index visited exactly once, in the same pieces
/// whichever thread runs them, each piece run by one slot below the thread count, across many loops back to
/// back (workers spinning) and after pauses (workers asleep), with loops nested inside chunks run by their caller.
final class WorkerPoolTests: XCTestCase {
    func testEveryIndexOnceAcrossManyLoops() {
        for threads in [2, 3] {
            let engine = EngineContext(threads: threads)
            let n = 1000
            let visits = UnsafeMutablePointer<Int32>.allocate(capacity: n)
            defer { visits.deallocate() }
            visits.initialize(repeating: 0, count: n)
            // Pieces falling linearly in size: piece c starts after weights P, P − 1, ..., P − c + 1 of P(P + 1)/2.
            let pieces = threads * piecesPerThread, total = pieces * (pieces + 1) / 2
            let expected = (0...pieces).map { c in n * (c * pieces - c * (c - 1) / 2) / total }
            let seen = UnsafeMutablePointer<Int>.allocate(capacity: n + 1)
            defer { seen.deallocate() }
            let badSlots = Atomic<Int>(0)
            withUnsafePointer(to: badSlots) { badSlots in
                for loop in 0..<2000 {
                    if loop % 500 == 499 { usleep(2000) }  // long enough for the workers to go to sleep
                    seen.initialize(repeating: -1, count: n + 1)
                    parallelChunks(engine: engine, n, sharing: (visits, seen, badSlots, threads)) { s, slot, range in
                        let (visits, seen, badSlots, threads) = s
                        if !(0..<threads).contains(slot) { badSlots.pointee.add(1, ordering: .relaxed) }
                        seen[range.lowerBound] = range.upperBound
                        for i in range { visits[i] += 1 }
                    }
                    if loop == 0 {
                        let cut = (0..<pieces).map { expected[$0]..<seen[expected[$0]] }
                        XCTAssertEqual(cut, (0..<pieces).map { expected[$0]..<expected[$0 + 1] }, "\(threads) threads")
                    }
                }
            }
            for i in 0..<n { XCTAssertEqual(visits[i], 2000, "index \(i), \(threads) threads") }
            XCTAssertEqual(badSlots.load(ordering: .relaxed), 0)
        }
    }

    /// The first pieces are the largest and the last the smallest, so the thread that finishes first waits for a
    /// short piece; a loop too short for that (pieces below `minimumPerChunk`) is cut into equal pieces.
    func testPiecesFallInSizeUnlessTooShort() {
        let engine = EngineContext(threads: 2)
        func cut(_ n: Int, minimum: Int) -> [Range<Int>] {
            let found = UnsafeMutablePointer<Int>.allocate(capacity: n + 1)
            defer { found.deallocate() }
            found.initialize(repeating: -1, count: n + 1)
            parallelChunks(engine: engine, n, minimumPerChunk: minimum, sharing: found) { found, _, range in
                found[range.lowerBound] = range.upperBound
            }
            var ranges: [Range<Int>] = [], start = 0
            while start < n, found[start] > start {
                ranges.append(start..<found[start])
                start = found[start]
            }
            XCTAssertEqual(start, n, "pieces cover 0..<\(n)")
            return ranges
        }
        let tapered = cut(8320, minimum: 32)
        XCTAssertEqual(tapered.count, 2 * piecesPerThread)
        XCTAssertEqual(tapered.first?.count, 8320 * 2 * piecesPerThread / (piecesPerThread * (2 * piecesPerThread + 1)))
        XCTAssertTrue(zip(tapered, tapered.dropFirst()).allSatisfy { $0.count > $1.count })
        XCTAssertGreaterThanOrEqual(tapered.last!.count, 32)
        // 8 pieces of at least 32 would need 36 × 32 = 1152 items in falling sizes: equal pieces instead.
        let equal = cut(1000, minimum: 32)
        XCTAssertEqual(equal.map(\.count), [Int](repeating: 125, count: 8))
    }

    func testNestedLoopsRunOnTheirCaller() {
        let engine = EngineContext(threads: 2)
        let n = 64
        let sums = UnsafeMutablePointer<Int>.allocate(capacity: 2)
        defer { sums.deallocate() }
        sums.initialize(repeating: 0, count: 2)
        parallelChunks(engine: engine, 2, sharing: (sums, n)) { s, outerSlot, outer in
            let (sums, n) = s
            var local = 0
            withUnsafeMutablePointer(to: &local) { local in
                parallelChunks(engine: engine, n, sharing: (local, outerSlot)) { s, slot, range in
                    let (local, outerSlot) = s
                    // The inner loop keeps the slot of the thread running the outer piece.
                    if slot != outerSlot { local.pointee = -1_000_000 }
                    for i in range { local.pointee += i }
                }
            }
            sums[outer.lowerBound] = local
        }
        XCTAssertEqual(sums[0], n * (n - 1) / 2)
        XCTAssertEqual(sums[1], n * (n - 1) / 2)
    }
}
