import Foundation
import GapRandom
import GapEngine
import XCTest

/// VectorMath's exp and erf, and the GELU kernels built on them, against Double references.
/// Coefficients come from vector_math_fit.py (next to this file), which also verifies them on every float in range.
final class VectorMathTests: XCTestCase {
    let engine = EngineContext()
    /// steps + 1 evenly spaced points on [lo, hi], plus `random` seeded uniform ones, as Float.
    func grid(_ lo: Double, _ hi: Double, steps: Int, random: Int = 2000, seed: UInt64) -> [Float] {
        var rng = SeededRandom(seed: seed)
        let even = (0...steps).map { Float(lo + (hi - lo) * Double($0) / Double(steps)) }
        return even + (0..<random).map { _ in Float(lo + (hi - lo) * Double(rng.next() >> 11) / Double(1 << 53)) }
    }

    func apply(_ f: (UnsafeMutablePointer<Float>, UnsafePointer<Float>, Int) -> Void, _ xs: [Float]) -> [Float] {
        var out = [Float](repeating: .nan, count: xs.count)
        out.withUnsafeMutableBufferPointer { o in xs.withUnsafeBufferPointer { f(o.baseAddress!, $0.baseAddress!, xs.count) } }
        return out
    }

    func vectorExp(_ xs: [Float]) -> [Float] { apply({ VectorMath.exp(out: $0, inp: $1, count: $2) }, xs) }
    func vectorErf(_ xs: [Float]) -> [Float] { apply({ VectorMath.erf(out: $0, inp: $1, count: $2) }, xs) }

    // MARK: exp

    func testExpWithinTwoUlpOnNormalRange() {
        let xs = grid(-87, 88, steps: 175 * 256, seed: 1) + grid(-1, 1, steps: 4096, seed: 2)
        let ys = vectorExp(xs)
        var worst = 0.0, worstAt: Float = 0
        for (x, y) in zip(xs, ys) {
            let reference = Foundation.exp(Double(x))
            let ulps = abs(Double(y) - reference) / Double(Float(reference).ulp)
            if ulps > worst { (worst, worstAt) = (ulps, x) }
        }
        XCTAssertLessThanOrEqual(worst, 2, "exp worst error \(worst) ulp at x = \(worstAt)")
    }

    func testExpEdgeCases() {
        let cases: [Float] = [0, -0.0, 1e-30, -1e-30, .leastNonzeroMagnitude, 1, -1, 88.72, 88.7229, 89, 200, .infinity,
                              -87.33, -100, -103.9, -104, -200, -.infinity, .nan]
        let ys = vectorExp(cases)
        XCTAssertEqual(ys[0], 1)
        XCTAssertEqual(ys[1], 1)
        XCTAssertEqual(ys[2], 1)
        XCTAssertEqual(ys[3], 1)
        XCTAssertEqual(ys[4], 1)
        XCTAssertEqual(Double(ys[5]), M_E, accuracy: Double(Float(M_E).ulp))
        XCTAssertEqual(Double(ys[6]), 1 / M_E, accuracy: Double(Float(1 / M_E).ulp))
        // Largest finite results, then overflow to +inf.
        XCTAssertEqual(Double(ys[7]), Foundation.exp(Double(cases[7])), accuracy: 2 * Double(ys[7].ulp))
        XCTAssertEqual(ys[8], .infinity)
        XCTAssertEqual(ys[9], .infinity)
        XCTAssertEqual(ys[10], .infinity)
        XCTAssertEqual(ys[11], .infinity)
        // Smallest normal results, gradual underflow (within a subnormal step), then 0.
        XCTAssertEqual(Double(ys[12]), Foundation.exp(Double(cases[12])), accuracy: 2 * Double(ys[12].ulp))
        XCTAssertEqual(Double(ys[13]), Foundation.exp(Double(cases[13])), accuracy: 2 * Double(Float.leastNonzeroMagnitude))
        XCTAssertEqual(Double(ys[14]), Foundation.exp(Double(cases[14])), accuracy: 2 * Double(Float.leastNonzeroMagnitude))
        XCTAssertEqual(ys[15], 0)
        XCTAssertEqual(ys[16], 0)
        XCTAssertEqual(ys[17], 0)
        XCTAssertTrue(ys[18].isNaN)
    }

    // MARK: erf

    func testErfWithinOneTenMillionthOnDenseGrid() {
        // Dense near 0 (the odd polynomial), across the 0.875 branch switch, and out to where erf rounds to ±1.
        let xs = grid(-4.5, 4.5, steps: 9 * 8192, seed: 3) + grid(-0.01, 0.01, steps: 2048, seed: 4)
            + grid(0.86, 0.89, steps: 4096, seed: 5) + grid(-0.89, -0.86, steps: 4096, seed: 6)
        let ys = vectorErf(xs)
        var worst = 0.0, worstAt: Float = 0
        for (x, y) in zip(xs, ys) {
            let err = abs(Double(y) - Foundation.erf(Double(x)))
            if err > worst { (worst, worstAt) = (err, x) }
        }
        XCTAssertLessThanOrEqual(worst, 1e-7, "erf worst absolute error \(worst) at x = \(worstAt)")
    }

    func testErfEdgeCases() {
        let split: Float = 0.875
        let cases: [Float] = [0, -0.0, 1e-30, -1e-30, .leastNonzeroMagnitude, split.nextDown, split, -split,
                              3.92, 4, 10, 1e30, .infinity, -3.92, -4, -10, -.infinity, .nan]
        let ys = vectorErf(cases)
        XCTAssertEqual(ys[0], 0)
        XCTAssertEqual(ys[0].sign, .plus)
        XCTAssertEqual(ys[1], 0)
        XCTAssertEqual(ys[1].sign, .minus)
        // Tiny arguments keep their relative accuracy: erf(x) ≈ 2x/√π.
        XCTAssertEqual(Double(ys[2]), 2 / Double.pi.squareRoot() * 1e-30, accuracy: 1e-36)
        XCTAssertEqual(Double(ys[3]), -2 / Double.pi.squareRoot() * 1e-30, accuracy: 1e-36)
        XCTAssertGreaterThan(ys[4], 0)
        // Both sides of the branch switch agree with the reference (no step at the seam).
        for i in 5...7 { XCTAssertEqual(Double(ys[i]), Foundation.erf(Double(cases[i])), accuracy: 1e-7) }
        XCTAssertLessThanOrEqual(abs(ys[6] - ys[5]), 2 * ys[6].ulp)
        for i in 8...12 { XCTAssertEqual(ys[i], 1, "erf(\(cases[i]))") }
        for i in 13...16 { XCTAssertEqual(ys[i], -1, "erf(\(cases[i]))") }
        XCTAssertTrue(ys[17].isNaN)
    }

    // MARK: buffers

    /// Counts that are not multiples of the vector width: the tail gets the same arithmetic as full vectors and
    /// nothing past `count` is written.
    func testTailsMatchFullVectorsAndStayInBounds() {
        let width = VectorMath.Vector.scalarCount
        let xs = grid(-3, 3, steps: 3 * width, random: 0, seed: 7)
        let fullExp = vectorExp(xs), fullErf = vectorErf(xs)
        for count in 0...(2 * width + 3) {
            for offset in [0, 1, width - 1] where offset + count <= xs.count {
                var out = [Float](repeating: 42, count: count + 1)
                xs.withUnsafeBufferPointer { x in
                    VectorMath.exp(out: &out, inp: x.baseAddress! + offset, count: count)
                }
                for i in 0..<count { XCTAssertEqual(out[i], fullExp[offset + i], "exp count \(count) offset \(offset) i \(i)") }
                XCTAssertEqual(out[count], 42)
                xs.withUnsafeBufferPointer { x in
                    VectorMath.erf(out: &out, inp: x.baseAddress! + offset, count: count)
                }
                for i in 0..<count { XCTAssertEqual(out[i], fullErf[offset + i], "erf count \(count) offset \(offset) i \(i)") }
                XCTAssertEqual(out[count], 42)
            }
        }
    }

    func testInPlace() {
        let xs = grid(-5, 5, steps: 100, seed: 8)
        var buffer = xs
        buffer.withUnsafeMutableBufferPointer { VectorMath.erf(out: $0.baseAddress!, inp: $0.baseAddress!, count: $0.count) }
        XCTAssertEqual(buffer, vectorErf(xs))
        buffer = xs
        buffer.withUnsafeMutableBufferPointer { VectorMath.exp(out: $0.baseAddress!, inp: $0.baseAddress!, count: $0.count) }
        XCTAssertEqual(buffer, vectorExp(xs))
    }

    // MARK: GELU

    func geluReference(_ x: Double) -> Double { 0.5 * x * (1 + Foundation.erf(x / 2.0.squareRoot())) }

    func geluDerivativeReference(_ x: Double) -> Double {
        0.5 * (1 + Foundation.erf(x / 2.0.squareRoot())) + x * Foundation.exp(-0.5 * x * x) / (2 * Double.pi).squareRoot()
    }

    func geluInputs() -> [Float] {
        var rng = SeededRandom(seed: 9)
        return grid(-12, 12, steps: 24 * 1024, seed: 10) + (0..<4001).map { _ in Float(rng.gaussian() * 2) }
            + [0, -0.0, 1e-30, -1e-30, 20, -20, 1e4, -1e4]
    }

    /// `biasGELUForward` over `xs` as one row with zero bias: the values, and GELU′ when `slopes` is asked for.
    func gelu(_ xs: [Float], slopes: Bool = true) -> (values: [Float], slopes: [Float]) {
        var values = [Float](repeating: .nan, count: xs.count), derivative = [Float](repeating: .nan, count: xs.count)
        let zero = [Float](repeating: 0, count: xs.count)
        derivative.withUnsafeMutableBufferPointer { d in
            biasGELUForward(engine: engine, out: &values, derivative: slopes ? d.baseAddress! : nil, inp: xs, bias: zero, rows: 1, cols: xs.count)
        }
        return (values, derivative)
    }

    /// Values match Double, and are the same bits with or without the derivative.
    func testGELUForwardMatchesDouble() {
        let xs = geluInputs()
        let (ys, _) = gelu(xs)
        for (x, y) in zip(xs, ys) {
            let bound = 1e-6 * max(1, abs(Double(x)))
            XCTAssertEqual(Double(y), geluReference(Double(x)), accuracy: bound, "gelu(\(x))")
        }
        XCTAssertEqual(gelu(xs, slopes: false).values, ys)
    }

    /// The backward pass, dout times the saved GELU′, matches Double; the derivative may overwrite the input (as
    /// the block has it do) and gives the same bits.
    func testGELUBackwardMatchesDoubleAndMayOverwriteInput() {
        let xs = geluInputs()
        var rng = SeededRandom(seed: 11)
        let dy = xs.map { _ in Float(rng.gaussian()) }
        var dx = dy
        multiplyElementwise(engine: engine, &dx, by: gelu(xs).slopes, count: xs.count)
        for i in xs.indices {
            let x = Double(xs[i])
            let bound = 1e-6 * max(1, abs(x)) * max(1, abs(Double(dy[i])))
            XCTAssertEqual(Double(dx[i]), Double(dy[i]) * geluDerivativeReference(x), accuracy: bound, "gelu'(\(x))")
        }
        var values = [Float](repeating: .nan, count: xs.count), inPlace = xs
        let zero = [Float](repeating: 0, count: xs.count)
        inPlace.withUnsafeMutableBufferPointer {
            biasGELUForward(engine: engine, out: &values, derivative: $0.baseAddress!, inp: $0.baseAddress!, bias: zero, rows: 1, cols: xs.count)
        }
        XCTAssertEqual(inPlace, gelu(xs).slopes)
        XCTAssertEqual(values, gelu(xs).values)
    }

    /// The bias is added per column: the same bits as GELU of the shifted input, values and derivative, over
    /// rows of five vectors, with and without the derivative.
    func testBiasGELUAddsBiasPerColumn() {
        let cols = 40
        let xs = geluInputs(), rows = xs.count / cols, n = rows * cols
        var rng = SeededRandom(seed: 13)
        let bias = (0..<cols).map { _ in Float(rng.gaussian()) }
        let shifted = gelu((0..<n).map { xs[$0] + bias[$0 % cols] })
        var values = [Float](repeating: .nan, count: n), slopes = [Float](repeating: .nan, count: n)
        biasGELUForward(engine: engine, out: &values, derivative: &slopes, inp: Array(xs[0..<n]), bias: bias, rows: rows, cols: cols)
        XCTAssertEqual(values, shifted.values)
        XCTAssertEqual(slopes, shifted.slopes)
        var inference = [Float](repeating: .nan, count: n)
        biasGELUForward(engine: engine, out: &inference, derivative: nil, inp: Array(xs[0..<n]), bias: bias, rows: rows, cols: cols)
        XCTAssertEqual(inference, shifted.values)
    }

    /// Far tails: the derivative is exactly Φ(x) ∈ {0, 1}, however large |x| gets.
    func testGELUBackwardFarTails() {
        let xs: [Float] = [14, 1e4, 1e30, .greatestFiniteMagnitude, -14, -1e4, -1e30, -.greatestFiniteMagnitude]
        XCTAssertEqual(gelu(xs).slopes, [1, 1, 1, 1, 0, 0, 0, 0])
    }

    /// Matrices tall enough to be split across threads give the same bits as one thread.
    func testGELUChunkedEqualsSingleThread() {
        var rng = SeededRandom(seed: 12)
        let cols = 40, rows = 3 * 16384 / cols + 5, n = rows * cols
        let xs = (0..<n).map { _ in Float(rng.gaussian() * 3) }, bias = (0..<cols).map { _ in Float(rng.gaussian()) }
        func run(threads: Int) -> ([Float], [Float]) {
            let engine = EngineContext(threads: threads)
            var y = [Float](repeating: 0, count: n), d = [Float](repeating: 0, count: n)
            biasGELUForward(engine: engine, out: &y, derivative: &d, inp: xs, bias: bias, rows: rows, cols: cols)
            return (y, d)
        }
        let single = run(threads: 1)
        let split = run(threads: 2)
        XCTAssertEqual(single.0, split.0)
        XCTAssertEqual(single.1, split.1)
    }
}
