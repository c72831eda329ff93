import Foundation

/// Which kernel runs the products the engine's tiles take: the tiles (the default) or OpenBLAS, as before them
/// (`gaplab dev bench --blas-products`, and the OpenBLAS rows of `gaplab dev bench --kernels`).
public enum ProductKernel: Sendable {
    case tiles, blas

    /// Whether the tiles take training's products too (AVX-512 builds). On eight-lane builds OpenBLAS's AVX2 kernels
    /// ran the training step faster (`gaplab dev bench --blas-products`), and the tiles take only the products whose
    /// rows must be computed alone (`Product.rowsAlone`).
    public static let tilesBuilt: Bool = {
        #if GAPLAB_AVX512
        return true
        #else
        return false
        #endif
    }()
}

/// Everything the kernels keep between calls: the thread count and its worker threads, the product kernel, and the
/// scratch buffers that let a training step run without allocating. Every kernel that uses any of it takes the
/// context as its `engine:` argument; a model owns one (`CLIPModel.engine`).
///
/// One thread of control uses a context at a time (its own worker threads run the pieces of its loops); two
/// contexts can be used at once from two threads, and neither sees the other's threads or scratch. Results are
/// bit-identical for a fixed thread count and kernel: every reduction runs in a fixed order within a fixed piece.
public final class EngineContext: @unchecked Sendable {
    /// Threads of the parallel loops and of large products: the caller and `threads - 1` workers.
    public let threads: Int
    public let productKernel: ProductKernel
    @usableFromInline let pool: WorkerPool
    /// `accumulateWeightGradient`'s partial sums, `sgemmRowPieces`' packed weights, `layerNormBackward`'s partials.
    let partialSums = ScratchBuffer()
    let packedPanels = ScratchBuffer()
    let layerNormPartials = ScratchBuffer()
    let ones = OnesVector()

    public init(threads: Int = 1, productKernel: ProductKernel = .tiles) {
        self.threads = max(1, threads)
        self.productKernel = productKernel
        _ = BLASKernel.singleThreaded
        pool = WorkerPool()
        pool.ensureWorkers(self.threads - 1)
    }

    deinit { pool.stop() }

    /// Whether the tiles are the chosen kernel (`tilesFit` then checks the product's shape).
    var tilesChosen: Bool { productKernel == .tiles }

    /// Totals over this context's parallel loops so far (see `LoopCounters`).
    public var loopCounters: LoopCounters {
        LoopCounters(loops: pool.loopCount.load(ordering: .relaxed),
                     callerWorkSeconds: Double(pool.callerWorkNanoseconds.load(ordering: .relaxed)) / 1e9,
                     callerWaitSeconds: Double(pool.callerWaitNanoseconds.load(ordering: .relaxed)) / 1e9)
    }
}

/// Scratch kept between calls so the step does not allocate. A call that finds it in use (a loop nested in a piece
/// of another) takes a buffer of its own; the results are the same either way.
final class ScratchBuffer: @unchecked Sendable {
    private var buffer = FloatBuffer(count: 0)
    private let lock = NSLock()

    func with(count: Int, _ body: (UnsafeMutablePointer<Float>) -> Void) {
        guard lock.try() else {
            let own = FloatBuffer(count: count)
            withExtendedLifetime(own) { body(own.pointer) }
            return
        }
        defer { lock.unlock() }
        if buffer.count < count { buffer = FloatBuffer(count: count) }
        body(buffer.pointer)
    }
}

/// A vector of ones for `columnSums`, grown when a longer one is needed (only while shapes first appear). Bias
/// columns are summed by several of the context's threads at once (`accumulateWeightGradient`'s pieces), so a
/// shorter vector another thread may still be reading is kept, not freed, when a longer one replaces it.
final class OnesVector: @unchecked Sendable {
    private var buffer = FloatBuffer(count: 0)
    private var outgrown: [FloatBuffer] = []
    private let lock = NSLock()

    func pointer(count: Int) -> UnsafePointer<Float> {
        lock.lock()
        defer { lock.unlock() }
        if buffer.count < count {
            outgrown.append(buffer)
            buffer = FloatBuffer([Float](repeating: 1, count: count))
        }
        return UnsafePointer(buffer.pointer)
    }
}
