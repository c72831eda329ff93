import Foundation
import Synchronization
import GapEngine
import XCTest

/// parallelChunks on the engine's own worker threads (bodies take what they use through `sharing:`): every index visited exactly once, in the same pieces
/// whichever thread runs them, each piece run by one slot below the thread count, across many loops back to
/// back (workers spinning) and after pauses (workers asleep), with loops nested inside chunks run by their caller.
final class WorkerPoolTests: XCTestCase {
    func testEveryIndexOnceAcrossManyLoops() {
        defer { EngineThreads.set(1) }
        for threads in [2, 3] {
            EngineThreads.set(threads)
            let n = 1000
            let visits = UnsafeMutablePointer<Int32>.allocate(capacity: n)
            defer { visits.deallocate() }
            visits.initialize(repeating: 0, count: n)
            let pieces = threads * piecesPerThread, per = (n + pieces - 1) / pieces
            let starts = UnsafeMutablePointer<Int>.allocate(capacity: pieces)
            defer { starts.deallocate() }
            let badSlots = Atomic<Int>(0)
            withUnsafePointer(to: badSlots) { badSlots in
                for loop in 0..<2000 {
                    if loop % 500 == 499 { usleep(2000) }  // long enough for the workers to go to sleep
                    starts.initialize(repeating: -1, count: pieces)
                    parallelChunks(n, sharing: (visits, starts, badSlots, threads, per, n)) { s, slot, range in
                        let (visits, starts, badSlots, threads, per, n) = s
                        if !(0..<threads).contains(slot) { badSlots.pointee.add(1, ordering: .relaxed) }
                        starts[range.lowerBound / per] = range.lowerBound
                        XCTAssertEqual(range.count, min(per, n - range.lowerBound))
                        for i in range { visits[i] += 1 }
                    }
                    if loop == 0 { XCTAssertEqual((0..<pieces).map { starts[$0] }, (0..<pieces).map { $0 * per }) }
                }
            }
            for i in 0..<n { XCTAssertEqual(visits[i], 2000, "index \(i), \(threads) threads") }
            XCTAssertEqual(badSlots.load(ordering: .relaxed), 0)
        }
    }

    func testNestedLoopsRunOnTheirCaller() {
        defer { EngineThreads.set(1) }
        EngineThreads.set(2)
        let n = 64
        let sums = UnsafeMutablePointer<Int>.allocate(capacity: 2)
        defer { sums.deallocate() }
        sums.initialize(repeating: 0, count: 2)
        parallelChunks(2, sharing: (sums, n)) { s, outerSlot, outer in
            let (sums, n) = s
            var local = 0
            withUnsafeMutablePointer(to: &local) { local in
                parallelChunks(n, sharing: (local, outerSlot)) { s, slot, range in
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
