import Foundation
import Synchronization

/// Pieces each thread's share of a loop is cut into. A shared machine slows one core or the other for
/// milliseconds at a time; with one piece per thread the step waits for the slower core at every loop, with
/// several the faster core takes the pieces the slower one has not reached.
public let piecesPerThread = 4

/// Runs `body(shared, slot, range)` over `0..<n` cut into contiguous pieces, `piecesPerThread` per thread of
/// `engine` (fewer when a piece would be shorter than `minimumPerChunk`). Threads claim pieces as they finish the
/// previous one; `slot` (0 for the caller, below `engine.threads`) names the thread, for per-thread
/// scratch. The pieces depend only on n and the thread count, so per-piece work is reproducible whichever
/// thread runs it.
///
/// `body` captures nothing: what it needs comes in `shared` (a tuple of pointers and sizes), which the other
/// threads read through a pointer to the caller's copy. Handing them a closure with captures instead would box
/// it on the heap at every loop, a few hundred times a training step.
@inlinable @inline(__always)
public func parallelChunks<Shared>(engine: EngineContext, _ n: Int, minimumPerChunk: Int = 1, sharing shared: Shared,
                                   _ body: @escaping (_ shared: Shared, _ slot: Int, _ range: Range<Int>) -> Void) {
    let threads = engine.threads
    let pieces = max(1, min(threads * piecesPerThread, n / max(minimumPerChunk, 1)))
    if threads <= 1 || pieces <= 1 {
        body(shared, 0, 0..<n)
        return
    }
    withUnsafePointer(to: shared) { pointer in
        engine.pool.run(LoopJob(shared: pointer, body: body),
                        pieces: Pieces(count: n, pieces: pieces, minimumLength: max(minimumPerChunk, 1)))
    }
}

/// How a loop of `count` items is cut into `pieces` contiguous pieces. When every piece stays at least
/// `minimumLength` long, piece sizes fall linearly (weights pieces, pieces − 1, ..., 1): the threads start on
/// large pieces and end on small ones, so the thread that finishes first waits for a short piece, not for an
/// eighth of the loop. Otherwise the pieces are equal. Either way the cut depends only on the count and the
/// number of pieces.
@usableFromInline
struct Pieces {
    @usableFromInline let count, pieces: Int
    @usableFromInline let tapered: Bool

    @inlinable init(count: Int, pieces: Int, minimumLength: Int) {
        self.count = count
        self.pieces = pieces
        tapered = count >= minimumLength * pieces * (pieces + 1) / 2
    }

    /// Items before piece c.
    @inlinable func start(_ c: Int) -> Int {
        guard tapered else { return min(count, c * ((count + pieces - 1) / pieces)) }
        let weightBefore = c * pieces - c * (c - 1) / 2, weightTotal = pieces * (pieces + 1) / 2
        return count * weightBefore / weightTotal
    }

    @inlinable func range(_ c: Int) -> Range<Int> { start(c)..<start(c + 1) }
}

/// One parallel loop as the worker threads see it: three words, so it sits inside the pool's `any ChunkJob`
/// without a heap box.
@usableFromInline
protocol ChunkJob {
    func run(slot: Int, range: Range<Int>)
}

@usableFromInline
struct LoopJob<Shared>: ChunkJob {
    @usableFromInline let shared: UnsafePointer<Shared>
    @usableFromInline let body: (Shared, Int, Range<Int>) -> Void

    @inlinable init(shared: UnsafePointer<Shared>, body: @escaping (Shared, Int, Range<Int>) -> Void) {
        self.shared = shared
        self.body = body
    }

    @inlinable func run(slot: Int, range: Range<Int>) { body(shared.pointee, slot, range) }
}

struct IdleJob: ChunkJob {
    func run(slot: Int, range: Range<Int>) {}
}

/// An engine context's own worker threads. A training step runs a few hundred parallel loops back to back; waking a
/// sleeping thread for each (what a dispatch queue does) costs tens of microseconds and several heap allocations
/// per loop. These workers spin briefly between loops before they sleep, as OpenMP's do, and take a loop's chunks
/// through atomics; a loop allocates nothing.
@usableFromInline
final class WorkerPool: @unchecked Sendable {
    /// Spin iterations a worker waits for the next loop before it sleeps (roughly 100 µs).
    private static let spinLimit = 20_000

    /// The open loop's chunk count (high 32 bits) and next unclaimed chunk (low 32 bits), claimed with one atomic
    /// add so a claim always sees the count of the loop it claims from; a count of 0 means no loop is open.
    private let claims = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private let generation = Atomic<Int>(0)
    private let sleeping = Atomic<Int>(0)
    /// Set when the context goes: the workers leave their loop (each holds the pool until it has).
    private let stopping = Atomic<Bool>(false)
    private let wake = NSCondition()
    private let busy = NSLock()
    private var workers = 0
    /// The open loop, written before it opens and kept until every piece has finished, and its pieces: written by
    /// the caller holding `busy` before the generation moves on, read by the workers only after they see it move.
    private var job: any ChunkJob = IdleJob()
    private var cut = Pieces(count: 0, pieces: 1, minimumLength: 1)
    /// Where the caller's time in parallel loops goes (see `LoopCounters`).
    let callerWorkNanoseconds = Atomic<Int>(0)
    let callerWaitNanoseconds = Atomic<Int>(0)
    let loopCount = Atomic<Int>(0)

    func ensureWorkers(_ n: Int) {
        busy.lock()
        defer { busy.unlock() }
        while workers < n {
            let slot = workers + 1
            // The worker holds the pool until it leaves its loop (`stop`), so the pool outlives every worker.
            let thread = Thread { self.workerLoop(slot: slot) }
            thread.name = "gaplab-engine-\(workers + 1)"
            thread.start()
            workers += 1
        }
    }

    /// Runs `job` over the pieces of `0..<count` on the caller (slot 0) and the workers (slots 1...) and returns
    /// when all are done. A loop started while another runs (from another thread, or inside a piece) runs on its
    /// caller alone. The caller takes pieces too and never waits for a worker to arrive, only for pieces a worker
    /// has taken to finish.
    @usableFromInline
    func run(_ loop: some ChunkJob, pieces cut: Pieces) {
        let pieces = cut.pieces
        guard workers > 0, busy.try() else {
            // Inside a piece a worker runs, the slot stays the worker's own.
            let worker = Thread.current.threadDictionary[Self.slotKey] as? WorkerSlot
            let slot = worker.map { $0.pool == ObjectIdentifier(self) ? $0.slot : 0 } ?? 0
            for c in 0..<pieces where !cut.range(c).isEmpty { loop.run(slot: slot, range: cut.range(c)) }
            return
        }
        defer { busy.unlock() }
        job = loop
        self.cut = cut
        finished.store(0, ordering: .sequentiallyConsistent)
        claims.store(pieces << 32, ordering: .sequentiallyConsistent)
        generation.add(1, ordering: .sequentiallyConsistent)
        if sleeping.load(ordering: .sequentiallyConsistent) > 0 {
            wake.lock()
            wake.broadcast()
            wake.unlock()
        }
        let start = DispatchTime.now().uptimeNanoseconds
        takeChunks(slot: 0)
        let done = DispatchTime.now().uptimeNanoseconds
        while finished.load(ordering: .acquiring) < pieces {}
        let end = DispatchTime.now().uptimeNanoseconds
        callerWorkNanoseconds.add(Int(done - start), ordering: .relaxed)
        callerWaitNanoseconds.add(Int(end - done), ordering: .relaxed)
        loopCount.add(1, ordering: .relaxed)
        claims.store(0, ordering: .sequentiallyConsistent)
        job = IdleJob()
    }

    private func takeChunks(slot: Int) {
        while true {
            let claim = claims.add(1, ordering: .acquiringAndReleasing).oldValue
            let chunks = claim >> 32, c = claim & 0xFFFF_FFFF
            if c >= chunks { return }
            let range = cut.range(c)
            if !range.isEmpty { job.run(slot: slot, range: range) }
            finished.add(1, ordering: .releasing)
        }
    }

    private static let slotKey = "gaplab.engine.slot"

    /// Stops the workers once the context that owns the pool is gone (no loop can be open then).
    func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        generation.add(1, ordering: .sequentiallyConsistent)
        wake.lock()
        wake.broadcast()
        wake.unlock()
    }

    private func workerLoop(slot: Int) {
        Thread.current.threadDictionary[Self.slotKey] = WorkerSlot(pool: ObjectIdentifier(self), slot: slot)
        var seen = generation.load(ordering: .sequentiallyConsistent)
        while !stopping.load(ordering: .sequentiallyConsistent) {
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
            if stopping.load(ordering: .sequentiallyConsistent) { return }
            takeChunks(slot: slot)
        }
    }
}

/// A worker thread's pool and slot, for the loops opened inside its pieces.
private final class WorkerSlot {
    let pool: ObjectIdentifier
    let slot: Int

    init(pool: ObjectIdentifier, slot: Int) {
        self.pool = pool
        self.slot = slot
    }
}

/// Totals over an engine context's parallel loops (`EngineContext.loopCounters`), for profiling: how long the calling thread spent on its own pieces
/// and how long it then waited for pieces other threads had claimed. The wait is the loops' imbalance.
public struct LoopCounters: Sendable {
    public var loops: Int
    public var callerWorkSeconds: Double
    public var callerWaitSeconds: Double

    public static func - (a: LoopCounters, b: LoopCounters) -> LoopCounters {
        LoopCounters(loops: a.loops - b.loops, callerWorkSeconds: a.callerWorkSeconds - b.callerWorkSeconds,
                     callerWaitSeconds: a.callerWaitSeconds - b.callerWaitSeconds)
    }
}
