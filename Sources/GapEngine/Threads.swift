import CBLAS
import Dispatch

/// The engine's thread count: OpenBLAS's pool for matrix products and the split of element-wise loops.
/// Results are bit-identical for a fixed count: every reduction runs in a fixed order within a fixed chunk.
public enum EngineThreads {
    nonisolated(unsafe) public private(set) static var count = 1

    /// OpenBLAS's own pool stays at one thread: its workers spin between calls and would compete with the
    /// engine's element-wise threads on a small machine; `sgemm` splits large products across engine threads.
    public static func set(_ n: Int) {
        count = max(1, n)
        _ = singleThreadedBLAS
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
    DispatchQueue.concurrentPerform(iterations: chunks) { c in
        let lo = c * per
        let hi = min(n, lo + per)
        if lo < hi { body(c, lo..<hi) }
    }
}
