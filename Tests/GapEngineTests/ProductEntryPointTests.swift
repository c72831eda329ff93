import GapEngine
import GapRandom
import XCTest

/// `sgemm`, the one entry point for the engine's, the losses' and the evaluator's products, against the plain
/// `referenceProduct`: every transpose, alpha and beta, shapes that take the tiles and shapes that take OpenBLAS,
/// strided operands, one and two threads.
final class ProductEntryPointTests: XCTestCase {

    func check(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, beta: Float, pad: Int, threads: Int) {
        let engine = EngineContext(threads: threads)
        var rng = SeededRandom(seed: UInt64(m * 131 + n * 7 + k), stream: "product \(transA) \(transB)")
        let (aRows, aCols) = transA ? (k, m) : (m, k)
        let (bRows, bCols) = transB ? (n, k) : (k, n)
        let lda = aCols + pad, ldb = bCols + pad, ldc = n + pad
        let a = (0..<(aRows * lda)).map { _ in Float(rng.uniform(-1, 1)) }
        let b = (0..<(bRows * ldb)).map { _ in Float(rng.uniform(-1, 1)) }
        let start = (0..<(m * ldc)).map { _ in Float(rng.uniform(-1, 1)) }
        var fast = start, expected = start
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                fast.withUnsafeMutableBufferPointer { c in
                    sgemm(engine: engine, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a.baseAddress!, lda: lda,
                          b: b.baseAddress!, ldb: ldb, beta: beta, c: c.baseAddress!, ldc: ldc)
                }
                expected.withUnsafeMutableBufferPointer { c in
                    referenceProduct(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a.baseAddress!,
                                     lda: lda, b: b.baseAddress!, ldb: ldb, beta: beta, c: c.baseAddress!, ldc: ldc)
                }
            }
        }
        var worst: Float = 0
        for i in 0..<m { for j in 0..<n { worst = max(worst, abs(fast[i * ldc + j] - expected[i * ldc + j])) } }
        // float32 sums of k terms of size ≤ 1: a few ulps of √k·k.
        XCTAssertLessThan(worst, 1e-5 * Float(k), "transA \(transA) transB \(transB) \(m)×\(n)×\(k) threads \(threads)")
        // The padding between rows of C is never written.
        for i in 0..<m { for j in n..<ldc { XCTAssertEqual(fast[i * ldc + j], start[i * ldc + j]) } }
    }

    func testEveryTransposeAndScalingMatchesTheReference() {
        for threads in [1, 2] {
            for (transA, transB) in [(false, false), (false, true), (true, false), (true, true)] {
                // 64-column shapes the tiles take on AVX-512 builds, an odd shape only OpenBLAS takes, one large
                // enough to be split across threads.
                for (m, n, k) in [(37, 64, 48), (13, 7, 5), (130, 128, 96)] {
                    check(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, beta: 0, pad: 0, threads: threads)
                    check(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, beta: 1, pad: 3, threads: threads)
                }
            }
        }
    }
}
