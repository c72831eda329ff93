@testable import GapEngine
import GapRandom
import XCTest

/// The pieces of attention that the Double reference of KernelGradientTests sees only together: the transpose of a
/// head's K or V (vector blocks and the element-by-element path), the lane maximum of softmax, and the backward
/// pass's recomputed probabilities, which must be the forward pass's floats exactly.
final class AttentionKernelTests: XCTestCase {
    let engine = EngineContext()
    func testTransposeMatchesElementByElement() {
        var rng = SeededRandom(seed: 3, stream: "transpose")
        let w = VectorMath.width
        for (rows, cols) in [(65, 32), (16, 16), (17, 64), (5, 2 * w), (33, 8), (7, 12)] {
            let ld = 3 * cols + 5, padded = (rows + w - 1) / w * w
            let x = (0..<(rows * ld)).map { _ in Float(rng.gaussian()) }
            var out = [Float](repeating: .nan, count: cols * padded)
            let blocks = FloatBuffer(count: transposeScratchCount)
            x.withUnsafeBufferPointer { x in
                out.withUnsafeMutableBufferPointer { out in
                    transpose(out.baseAddress!, x.baseAddress!, rows: rows, cols: cols, ld: ld, paddedRows: padded,
                              blocks: blocks.pointer)
                }
            }
            for c in 0..<cols {
                for r in 0..<padded {
                    let expected = r < rows ? x[r * ld + c] : 0
                    XCTAssertEqual(out[c * padded + r], expected, "rows \(rows), cols \(cols): [\(c), \(r)]")
                }
            }
        }
    }

    func testMaximumOfLanes() {
        var rng = SeededRandom(seed: 4, stream: "maximum")
        let w = VectorMath.width
        for trial in 0..<200 {
            var lanes = (0..<w).map { _ in Float(rng.gaussian()) * 10 }
            if trial % 3 == 0 { lanes[trial % w] = -.infinity }
            if trial % 5 == 0 { lanes[(trial + 1) % w] = .infinity }
            let v = lanes.withUnsafeBufferPointer { VectorMath.load($0.baseAddress!) }
            XCTAssertEqual(VectorMath.maximum(v), lanes.max()!)
        }
        XCTAssertEqual(VectorMath.maximum(VectorMath.Vector(repeating: -.infinity)), -.infinity)
    }

    func testRecomputedProbabilitiesAreTheSameFloats() {
        var rng = SeededRandom(seed: 5, stream: "softmax rows")
        let w = VectorMath.width
        for valid in [1, 2, w - 1, w, w + 1, 65] {
            let count = (valid + w - 1) / w * w + w
            let scores = (0..<count).map { _ in Float(rng.gaussian()) * 4 }
            var forward = scores, recomputed = scores
            let row = forward.withUnsafeMutableBufferPointer {
                softmaxRow(out: $0.baseAddress!, scores: $0.baseAddress!, valid: valid, count: count)
            }
            recomputed.withUnsafeMutableBufferPointer {
                probabilitiesRow($0.baseAddress!, row, valid: valid, count: count)
            }
            XCTAssertEqual(recomputed.map(\.bitPattern), forward.map(\.bitPattern), "valid \(valid)")
            XCTAssertEqual(forward[valid...].max(), 0)
            XCTAssertEqual(Double(forward.reduce(0, +)), 1, accuracy: 1e-6)
            // The statistics are the row's largest score and the reciprocal of its sum of exponentials.
            XCTAssertEqual(row.largest, scores[..<valid].max()!)
            let sum = scores[..<valid].map { Foundation.exp(Double($0 - row.largest)) }.reduce(0, +)
            XCTAssertEqual(Double(row.inverseSum), 1 / sum, accuracy: 1e-6 / sum)
        }
    }

    /// Inference passes no statistics buffer; the output is the same.
    func testForwardWithoutStatisticsGivesTheSameOutput() {
        var rng = SeededRandom(seed: 6, stream: "attention")
        for causal in [false, true] {
            let s = AttentionShape(batch: 3, tokens: 17, width: 64, heads: 2, causal: causal)
            let qkv = (0..<(s.batch * s.tokens * 3 * s.width)).map { _ in Float(rng.gaussian()) }
            let scratch = FloatBuffer(count: attentionScratchCount(s, threads: 1))
            let statistics = FloatBuffer(count: s.softmaxStatisticsCount)
            var kept = [Float](repeating: 0, count: s.batch * s.tokens * s.width), dropped = kept
            qkv.withUnsafeBufferPointer { qkv in
                kept.withUnsafeMutableBufferPointer {
                    attentionForward(engine: engine, out: $0.baseAddress!, softmaxStatistics: statistics.pointer, qkv: qkv.baseAddress!,
                                     scratch: scratch.mutableBuffer, shape: s)
                }
                dropped.withUnsafeMutableBufferPointer {
                    attentionForward(engine: engine, out: $0.baseAddress!, softmaxStatistics: nil, qkv: qkv.baseAddress!,
                                     scratch: scratch.mutableBuffer, shape: s)
                }
            }
            XCTAssertEqual(kept, dropped)
        }
    }
}
