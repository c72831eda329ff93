import Foundation
import GapEngine
import XCTest

/// parallelChunks on the engine's own worker threads: every index visited exactly once, in the same chunks
/// whichever thread runs them, across many loops back to back (workers spinning) and after pauses (workers
/// asleep), with loops nested inside chunks run by their caller.
final class WorkerPoolTests: XCTestCase {
    func testEveryIndexOnceAcrossManyLoops() {
        defer { EngineThreads.set(1) }
        for threads in [2, 3] {
            EngineThreads.set(threads)
            let n = 1000
            let visits = UnsafeMutablePointer<Int32>.allocate(capacity: n)
            defer { visits.deallocate() }
            visits.initialize(repeating: 0, count: n)
            var chunkStarts: Set<Int> = []
            let starts = UnsafeMutablePointer<Int>.allocate(capacity: threads)
            defer { starts.deallocate() }
            for loop in 0..<2000 {
                if loop % 500 == 499 { usleep(2000) }  // long enough for the workers to go to sleep
                parallelChunks(n) { chunk, range in
                    starts[chunk] = range.lowerBound
                    for i in range { visits[i] += 1 }
                }
                if loop == 0 { chunkStarts = Set((0..<threads).map { starts[$0] }) }
            }
            for i in 0..<n { XCTAssertEqual(visits[i], 2000, "index \(i), \(threads) threads") }
            XCTAssertEqual(chunkStarts, Set((0..<threads).map { $0 * ((n + threads - 1) / threads) }))
        }
    }

    func testNestedLoopsRunOnTheirCaller() {
        defer { EngineThreads.set(1) }
        EngineThreads.set(2)
        let n = 64
        let sums = UnsafeMutablePointer<Int>.allocate(capacity: 2)
        defer { sums.deallocate() }
        sums.initialize(repeating: 0, count: 2)
        parallelChunks(2) { outer, _ in
            var local = 0
            parallelChunks(n) { _, range in for i in range { local += i } }
            sums[outer] = local
        }
        XCTAssertEqual(sums[0], n * (n - 1) / 2)
        XCTAssertEqual(sums[1], n * (n - 1) / 2)
    }
}
