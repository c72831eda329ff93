/// A fixed-size, zero-initialised Float32 allocation owned by one object; kernels take its raw pointer.
/// Buffers are allocated once per model or workspace and reused across steps, so training does not allocate.
/// Each starts on a cache line, so a kernel that gives each thread whole lines of it (`layerNormBackward`'s
/// partials) never has two cores writing one line.
public final class FloatBuffer {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    /// Bytes of a cache line on the x86-64 CPUs the engine targets.
    public static let cacheLineBytes = 64

    public init(count: Int) {
        self.count = count
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride,
                                                   alignment: Self.cacheLineBytes)
            .bindMemory(to: Float.self, capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    deinit { pointer.deallocate() }

    public subscript(i: Int) -> Float {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }

    /// Zeroes every value, split across `engine`'s threads (the gradient buffer is cleared every step).
    public func zero(engine: EngineContext) {
        parallelChunks(engine: engine, count, minimumPerChunk: 1 << 16, sharing: pointer) { pointer, _, range in
            (pointer + range.lowerBound).update(repeating: 0, count: range.count)
        }
    }

    public var mutableBuffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }

    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}

/// Same as `FloatBuffer` for token ids and indices.
public final class Int32Buffer {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Int32>

    public init(count: Int) {
        self.count = count
        pointer = UnsafeMutablePointer<Int32>.allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    deinit { pointer.deallocate() }

    public var array: [Int32] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}
