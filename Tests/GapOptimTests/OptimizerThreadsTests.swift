import GapEngine
import GapRandom
import GapOptim
import XCTest

/// The optimiser's passes over the whole parameter buffer run in pieces on the engine threads: AdamW gives the
/// same bits at one and two threads, the gradient norm matches a Double sum, and the non-finite check still
/// reports the first bad value by segment.
final class OptimizerThreadsTests: XCTestCase {
    // A gap of 1,000 values between the segments belongs to none and must never move.
    private let segments = [
        ParameterSegment(name: "transformer.resblocks.0.mlp.c_fc.weight", offset: 0, count: 150_000, decay: true),
        ParameterSegment(name: "transformer.resblocks.0.mlp.c_fc.bias", offset: 151_000, count: 99_000, decay: false),
    ]
    private let count = 250_000

    private func values(seed: UInt64, scale: Float) -> [Float] {
        var rng = SeededRandom(seed: seed)
        return (0..<count).map { _ in Float(rng.gaussian()) * scale }
    }

    func testAdamWGivesTheSameBitsAtOneAndTwoThreads() throws {
        let start = values(seed: 1, scale: 1), gradients = [values(seed: 2, scale: 0.1), values(seed: 3, scale: 0.1)]
        func run(threads: Int) throws -> (parameters: [Float], optimizer: AdamW) {
            let engine = EngineContext(threads: threads)
            var optimizer = try AdamW(parameterCount: count, segments: segments, weightDecay: 0.1)
            var parameters = start
            for g in gradients { optimizer.update(engine: engine, parameters: &parameters, gradients: g, lr: 1e-3) }
            return (parameters, optimizer)
        }
        let one = try run(threads: 1), two = try run(threads: 2)
        XCTAssertEqual(one.parameters, two.parameters)
        XCTAssertEqual(one.optimizer.firstMoment, two.optimizer.firstMoment)
        XCTAssertEqual(one.optimizer.secondMoment, two.optimizer.secondMoment)
        XCTAssertEqual(two.parameters[150_000..<151_000], start[150_000..<151_000])
        XCTAssertNotEqual(two.parameters[0], start[0])
        XCTAssertNotEqual(two.parameters[count - 1], start[count - 1])
    }

    func testGradientNormAndClippingAtTwoThreads() {
        let engine = EngineContext(threads: 2)
        var gradients = values(seed: 4, scale: 0.01)
        var squares = 0.0
        for segment in segments {
            for k in segment.offset..<(segment.offset + segment.count) { squares += Double(gradients[k]) * Double(gradients[k]) }
        }
        var all = 0.0
        for g in gradients { all += Double(g) * Double(g) }
        XCTAssertEqual(gradientNorm(engine: engine, gradients, count: count, segments: segments), squares.squareRoot(), accuracy: 1e-9)
        XCTAssertEqual(gradientNorm(engine: engine, gradients, count: count), all.squareRoot(), accuracy: 1e-9)
        let before = gradients
        let norm = clipGradientNorm(engine: engine, &gradients, count: count, maxNorm: 1, segments: segments)
        XCTAssertEqual(norm, squares.squareRoot(), accuracy: 1e-9)
        let factor = Float(1 / (norm + 1e-6))
        XCTAssertEqual(gradients[7], before[7] * factor)
        XCTAssertEqual(gradients[count - 1], before[count - 1] * factor)
        XCTAssertEqual(gradients[150_500], before[150_500], "outside every segment")
        XCTAssertEqual(gradientNorm(engine: engine, gradients, count: count, segments: segments), 1, accuracy: 1e-5)
    }

    func testFirstNonFiniteAtTwoThreads() {
        let engine = EngineContext(threads: 2)
        var gradients = values(seed: 5, scale: 1)
        XCTAssertNil(firstNonFinite(engine: engine, gradients, segments: segments))
        gradients[150_200] = .nan  // in the gap: not a parameter, not reported
        XCTAssertNil(firstNonFinite(engine: engine, gradients, segments: segments))
        gradients[240_000] = .infinity
        gradients[200_000] = .nan
        let found = firstNonFinite(engine: engine, gradients, segments: segments)
        XCTAssertEqual(found?.segment.name, "transformer.resblocks.0.mlp.c_fc.bias")
        XCTAssertEqual(found?.index, 200_000 - 151_000)
    }
}
