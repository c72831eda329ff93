import GapEngine
import GapRandom
import XCTest

/// Central finite differences of a scalar loss against analytic gradients, on a seeded sample of entries.
/// Float32 forward passes limit the precision, so the step is large-ish and the tolerance relative.
public func checkGradient(_ label: String, values: UnsafeMutablePointer<Float>, count: Int, analytic: [Float],
                   samples: Int = 24, step: Float = 1e-2, tolerance: Double = 2e-2, seed: UInt64 = 1,
                   file: StaticString = #filePath, line: UInt = #line, loss: () -> Double) {
    var rng = SeededRandom(seed: seed, stream: label)
    let picks = count <= samples ? Array(0..<count) : (0..<samples).map { _ in Int(rng.next() % UInt64(count)) }
    let scale = max(analytic.map { abs(Double($0)) }.max() ?? 0, 1e-3)
    for i in picks {
        let saved = values[i]
        values[i] = saved + step
        let plus = loss()
        values[i] = saved - step
        let minus = loss()
        values[i] = saved
        let numeric = (plus - minus) / (2 * Double(step))
        let err = abs(numeric - Double(analytic[i]))
        XCTAssertLessThan(err, tolerance * max(abs(numeric), scale), "\(label)[\(i)]: numeric \(numeric) analytic \(analytic[i])",
                          file: file, line: line)
    }
}

public func randomBuffer(_ count: Int, seed: UInt64, scale: Double = 1) -> FloatBuffer {
    var rng = SeededRandom(seed: seed)
    return FloatBuffer((0..<count).map { _ in Float(rng.gaussian() * scale) })
}

public func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Double {
    var s = 0.0
    for i in 0..<n { s += Double(a[i]) * Double(b[i]) }
    return s
}
