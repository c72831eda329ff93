import CBLAS
import Foundation
import Synchronization

/// The engine's thread count: OpenBLAS's pool for matrix products and the split of element-wise loops.
/// Results are bit-identical for a fixed count: every reduction runs in a fixed order within a fixed chunk.
public enum EngineThreads {
    nonisolated(unsafe) public private(set) static var count = 1

    /// OpenBLAS's own pool stays at one thread: its workers spin between calls and would compete with the
    /// engine's element-wise threads on a small machine; `sgemm` splits large products across engine threads.
    /// Set before training starts (the worker threads are made here).
    public static func set(_ n: Int) {
        count = max(1, n)
        _ = singleThreadedBLAS
        WorkerPool.shared.ensureWorkers(count - 1)
    }

    /// Done once, before the first product, whether or not `set` was called.
    static let singleThreadedBLAS: Void = openblas_set_num_threads(1)

    /// OpenBLAS's build description, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64".
    public static var blasConfiguration: String {
        guard let c = openblas_get_config() else { return "unknown" }
        return String(cString: c) + " (core: \(openblas_get_corename().map { String(cString: $0) } ?? "?"))"
    }
}

/// Runs `body(chunkIndex, range)` over `0..<n` split into at most `EngineThreads.count` contiguous chunks.
/// The split depends only on n and the thread count, so per-chunk work is reproducible.
@inline(__always)
public func parallelChunks(_ n: Int, minimumPerChunk: Int = 1, _ body: (Int, Range<Int>) -> Void) {
    let threads = EngineThreads.count
    let chunks = max(1, min(threads, n / max(minimumPerChunk, 1)))
    if chunks <= 1 {
        body(0, 0..<n)
        return
    }
    let per = (n + chunks - 1) / chunks
    WorkerPool.shared.run(chunks: chunks) { c in
        let lo = c * per
        let hi = min(n, lo + per)
        if lo < hi { body(c, lo..<hi) }
    }
}

/// The engine's own worker threads. A training step runs a few hundred parallel loops back to back; waking a
/// sleeping thread for each (what a dispatch queue does) costs tens of microseconds and several heap allocations
/// per loop. These workers spin briefly between loops before they sleep, as OpenMP's do, and take a loop's chunks
/// through atomics. One small allocation per loop remains: handing the loop's closure to other threads
/// (`withoutActuallyEscaping`) boxes it.
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool()

    /// Spin iterations a worker waits for the next loop before it sleeps (roughly 100 µs).
    private static let spinLimit = 20_000

    /// The open loop's chunk count (high 32 bits) and next unclaimed chunk (low 32 bits), claimed with one atomic
    /// add so a claim always sees the count of the loop it claims from; a count of 0 means no loop is open.
    private let claims = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private let generation = Atomic<Int>(0)
    private let sleeping = Atomic<Int>(0)
    private let wake = NSCondition()
    private let busy = NSLock()
    private var workers = 0
    /// The open loop's body, written before the loop opens and kept until every chunk has finished.
    nonisolated(unsafe) private var job: ((Int) -> Void)?

    func ensureWorkers(_ n: Int) {
        busy.lock()
        defer { busy.unlock() }
        while workers < n {
            let thread = Thread { [unowned self] in self.workerLoop() }
            thread.name = "gaplab-engine-\(workers + 1)"
            thread.start()
            workers += 1
        }
    }

    /// Runs chunks 0..<chunks of `body` on the caller and the workers and returns when all are done. A loop
    /// started while another runs (from another thread, or inside a chunk) runs on its caller alone. The caller
    /// takes chunks too and never waits for a worker to arrive, only for chunks a worker has taken to finish.
    func run(chunks: Int, _ body: (Int) -> Void) {
        guard workers > 0, busy.try() else {
            for c in 0..<chunks { body(c) }
            return
        }
        defer { busy.unlock() }
        withoutActuallyEscaping(body) { body in
            job = body
            finished.store(0, ordering: .sequentiallyConsistent)
            claims.store(chunks << 32, ordering: .sequentiallyConsistent)
            generation.add(1, ordering: .sequentiallyConsistent)
            if sleeping.load(ordering: .sequentiallyConsistent) > 0 {
                wake.lock()
                wake.broadcast()
                wake.unlock()
            }
            takeChunks()
            while finished.load(ordering: .acquiring) < chunks {}
            claims.store(0, ordering: .sequentiallyConsistent)
            job = nil
        }
    }

    private func takeChunks() {
        while true {
            let claim = claims.add(1, ordering: .acquiringAndReleasing).oldValue
            let chunks = claim >> 32, c = claim & 0xFFFF_FFFF
            if c >= chunks { return }
            job!(c)
            finished.add(1, ordering: .releasing)
        }
    }

    private func workerLoop() {
        var seen = generation.load(ordering: .sequentiallyConsistent)
        while true {
            var spins = 0
            while generation.load(ordering: .sequentiallyConsistent) == seen {
                spins += 1
                if spins < Self.spinLimit { continue }
                // Sleep until the next loop. The generation is checked again under the lock after announcing
                // the sleep, so a loop opened meanwhile either sees the announcement or is seen here.
                wake.lock()
                sleeping.add(1, ordering: .sequentiallyConsistent)
                while generation.load(ordering: .sequentiallyConsistent) == seen { wake.wait() }
                sleeping.subtract(1, ordering: .sequentiallyConsistent)
                wake.unlock()
            }
            seen = generation.load(ordering: .sequentiallyConsistent)
            takeChunks()
        }
    }
}
