import Foundation
import GapEngine
import XCTest
import GapOptim
import GapSpec

final class AdamWTests: XCTestCase {
    let engine = EngineContext()
    // Values 0–1 decay, 2–3 do not, 4 belongs to no segment and must never move.
    private let segments = [
        ParameterSegment(name: "visual.proj", offset: 0, count: 2, decay: true),
        ParameterSegment(name: "visual.ln_post.bias", offset: 2, count: 2, decay: false),
    ]
    private let start: [Double] = [0.5, -1.0, 0.25, 2.0, 3.0]
    private let gradientSteps: [[Double]] = [[0.1, -0.2, 0.3, 0.0, 5.0], [-0.05, 0.4, 0.3, -1.0, 5.0]]
    private let lrs = [1e-2, 5e-3]
    private let (beta1, beta2, eps, wd) = (0.9, 0.98, 1e-6, 0.1)

    /// torch.optim.AdamW's update written out in Double.
    private func expectedAfterTwoSteps() -> [Double] {
        var p = start, m = [Double](repeating: 0, count: 5), v = [Double](repeating: 0, count: 5)
        for (index, g) in gradientSteps.enumerated() {
            let t = Double(index + 1), lr = lrs[index]
            for k in 0..<4 {
                if k < 2 { p[k] *= 1 - lr * wd }
                m[k] = beta1 * m[k] + (1 - beta1) * g[k]
                v[k] = beta2 * v[k] + (1 - beta2) * g[k] * g[k]
                let denominator = (v[k] / (1 - pow(beta2, t))).squareRoot() + eps
                p[k] -= lr / (1 - pow(beta1, t)) * m[k] / denominator
            }
        }
        return p
    }

    func testTwoStepsMatchTheFormula() throws {
        var optimizer = try AdamW(parameterCount: 5, segments: segments, beta1: beta1, beta2: beta2, eps: eps, weightDecay: wd)
        var parameters = start.map(Float.init)
        for (index, g) in gradientSteps.enumerated() {
            optimizer.update(engine: engine, parameters: &parameters, gradients: g.map(Float.init), lr: lrs[index])
        }
        let expected = expectedAfterTwoSteps()
        for k in 0..<5 {
            XCTAssertEqual(Double(parameters[k]), expected[k], accuracy: 1e-6, "parameter \(k)")
        }
        XCTAssertEqual(parameters[4], 3.0, "a value outside every segment is not updated")
        XCTAssertEqual(optimizer.step, 2)
        // A zero gradient still moves a parameter once m is non-zero, and decay moves only decayed segments.
        XCTAssertNotEqual(parameters[3], 2.0)
        // First step: m = 0.1·g, v = 0.02·g², so the step is lr·sign(g) up to eps, plus decay on the first segment.
        var single = try AdamW(parameterCount: 5, segments: segments, beta1: beta1, beta2: beta2, eps: 0, weightDecay: wd)
        var once = start.map(Float.init)
        single.update(engine: engine, parameters: &once, gradients: gradientSteps[0].map(Float.init), lr: 1e-2)
        XCTAssertEqual(Double(once[0]), 0.5 * (1 - 1e-3) - 1e-2, accuracy: 1e-7)
        XCTAssertEqual(Double(once[2]), 0.25 - 1e-2, accuracy: 1e-7)
    }

    func testTwoStepsMatchTorchBitForBit() throws {
        // Bit patterns from torch 2.13 (CPU, float32) running the same two steps:
        //   AdamW([{"params": [a], "weight_decay": 0.1}, {"params": [b], "weight_decay": 0.0}],
        //         betas=(0.9, 0.98), eps=1e-6), a = [0.5, -1.0], b = [0.25, 2.0], lr 1e-2 then 5e-3,
        //   grads [0.1, -0.2 | 0.3, 0.0] then [-0.05, 0.4 | 0.3, -1.0].
        let torchBits: [UInt32] = [0x3EF9_D0A0, 0xBF7D_8652, 0x3E70_A3DB, 0x4000_3CAB]
        var optimizer = try AdamW(parameterCount: 5, segments: segments, beta1: beta1, beta2: beta2, eps: eps, weightDecay: wd)
        var parameters = start.map(Float.init)
        for (index, g) in gradientSteps.enumerated() {
            optimizer.update(engine: engine, parameters: &parameters, gradients: g.map(Float.init), lr: lrs[index])
        }
        XCTAssertEqual(parameters[0..<4].map(\.bitPattern), torchBits)
    }

    func testRestoredStateContinuesIdentically() throws {
        var straight = try AdamW(parameterCount: 5, segments: segments, beta1: beta1, beta2: beta2, eps: eps, weightDecay: wd)
        var a = start.map(Float.init)
        for (index, g) in gradientSteps.enumerated() {
            straight.update(engine: engine, parameters: &a, gradients: g.map(Float.init), lr: lrs[index])
        }

        var first = try AdamW(parameterCount: 5, segments: segments, beta1: beta1, beta2: beta2, eps: eps, weightDecay: wd)
        var b = start.map(Float.init)
        first.update(engine: engine, parameters: &b, gradients: gradientSteps[0].map(Float.init), lr: lrs[0])
        var resumed = try AdamW(parameterCount: 5, segments: segments, beta1: beta1, beta2: beta2, eps: eps, weightDecay: wd)
        try resumed.restore(step: first.step, firstMoment: first.firstMoment, secondMoment: first.secondMoment)
        resumed.update(engine: engine, parameters: &b, gradients: gradientSteps[1].map(Float.init), lr: lrs[1])

        XCTAssertEqual(a, b)
        XCTAssertEqual(straight.firstMoment, resumed.firstMoment)
        XCTAssertEqual(straight.secondMoment, resumed.secondMoment)
        XCTAssertThrowsError(try resumed.restore(step: 1, firstMoment: [0], secondMoment: [0]))
    }

    func testBadSegmentsAreRejected() {
        XCTAssertThrowsError(try AdamW(parameterCount: 3, segments: [ParameterSegment(name: "w", offset: 2, count: 2, decay: true)])) {
            XCTAssertTrue("\($0)".contains("\"w\""))
        }
        XCTAssertThrowsError(try AdamW(parameterCount: 4, segments: [
            ParameterSegment(name: "a", offset: 0, count: 3, decay: true),
            ParameterSegment(name: "b", offset: 2, count: 2, decay: true),
        ])) { XCTAssertTrue("\($0)".contains("overlap")) }
    }

    func testContiguousLayoutAppliesTheDecayRule() {
        let layout = ParameterSegment.contiguous([
            ("logit_scale", []), ("visual.proj", [4, 2]), ("visual.ln_post.weight", [4]),
        ])
        XCTAssertEqual(layout, [
            ParameterSegment(name: "logit_scale", offset: 0, count: 1, decay: false),
            ParameterSegment(name: "visual.proj", offset: 1, count: 8, decay: true),
            ParameterSegment(name: "visual.ln_post.weight", offset: 9, count: 4, decay: false),
        ])
    }
}

final class DecayRuleTests: XCTestCase {
    func testOpenCLIPNames() {
        XCTAssertFalse(openCLIPDecays(name: "visual.ln_pre.weight", ndim: 1))
        XCTAssertTrue(openCLIPDecays(name: "visual.proj", ndim: 2))
        XCTAssertFalse(openCLIPDecays(name: "logit_scale", ndim: 0))
        XCTAssertFalse(openCLIPDecays(name: "visual.class_embedding", ndim: 1))
        XCTAssertTrue(openCLIPDecays(name: "positional_embedding", ndim: 2))
        XCTAssertTrue(openCLIPDecays(name: "visual.transformer.resblocks.0.attn.in_proj_weight", ndim: 2))
        XCTAssertFalse(openCLIPDecays(name: "visual.transformer.resblocks.0.attn.in_proj_bias", ndim: 1))
        XCTAssertTrue(openCLIPDecays(name: "text_projection", ndim: 2))
        XCTAssertTrue(openCLIPDecays(name: "visual.conv1.weight", ndim: 4))
        // The name tests apply whatever the rank.
        XCTAssertFalse(openCLIPDecays(name: "ln_final.weight", ndim: 2))
        XCTAssertFalse(openCLIPDecays(name: "head.bias", ndim: 2))
        XCTAssertFalse(openCLIPDecays(name: "logit_scale", ndim: 2))
    }
}

final class ScheduleTests: XCTestCase {
    func testCosine() throws {
        let schedule = try LearningRateSchedule(kind: .cosine, baseLR: 1e-3, warmup: 10, totalSteps: 110)
        XCTAssertEqual(schedule.lr(at: 0), 1e-4, accuracy: 1e-15)
        XCTAssertEqual(schedule.lr(at: 4), 5e-4, accuracy: 1e-15)
        XCTAssertEqual(schedule.lr(at: 9), 1e-3, accuracy: 1e-15)
        XCTAssertEqual(schedule.lr(at: 10), 1e-3, accuracy: 1e-15)
        XCTAssertEqual(schedule.lr(at: 35), 0.5 * (1 + cos(Double.pi / 4)) * 1e-3, accuracy: 1e-15)
        XCTAssertEqual(schedule.lr(at: 60), 5e-4, accuracy: 1e-15)
        XCTAssertEqual(schedule.lr(at: 109), 0.5 * (1 + cos(Double.pi * 99 / 100)) * 1e-3, accuracy: 1e-15)
        XCTAssertEqual(schedule.lr(at: 110), 0, accuracy: 1e-15)
    }

    func testConstant() throws {
        let schedule = try LearningRateSchedule(kind: .const, baseLR: 2e-3, warmup: 4, totalSteps: 100)
        XCTAssertEqual(schedule.lr(at: 0), 5e-4, accuracy: 1e-15)
        XCTAssertEqual(schedule.lr(at: 3), 2e-3, accuracy: 1e-15)
        XCTAssertEqual(schedule.lr(at: 50), 2e-3)
    }

    func testNoWarmup() throws {
        let schedule = try LearningRateSchedule(kind: .cosine, baseLR: 1, warmup: 0, totalSteps: 4)
        XCTAssertEqual(schedule.lr(at: 0), 1)
        XCTAssertEqual(schedule.lr(at: 2), 0.5, accuracy: 1e-15)
    }

    func testNegativeWarmupIsRejected() {
        XCTAssertThrowsError(try LearningRateSchedule(kind: .cosine, baseLR: 1, warmup: -1, totalSteps: 1)) {
            XCTAssertTrue("\($0)".contains("warmup"))
        }
    }
}

final class GradientClippingTests: XCTestCase {
    let engine = EngineContext()
    func testClipsAboveTheLimit() {
        var gradients: [Float] = [3, 4]
        let norm = clipGradientNorm(engine: engine, &gradients, count: 2, maxNorm: 1)
        XCTAssertEqual(norm, 5, accuracy: 1e-12)
        XCTAssertEqual(Double(gradients[0]), 3 / (5 + 1e-6), accuracy: 1e-7)
        XCTAssertEqual(Double(gradients[1]), 4 / (5 + 1e-6), accuracy: 1e-7)
    }

    func testLeavesGradientsUnderTheLimit() {
        var gradients: [Float] = [3, 4]
        XCTAssertEqual(clipGradientNorm(engine: engine, &gradients, count: 2, maxNorm: 10), 5, accuracy: 1e-12)
        XCTAssertEqual(gradients, [3, 4])
    }

    func testZeroLimitTurnsClippingOff() {
        var gradients: [Float] = [3, 4]
        XCTAssertEqual(clipGradientNorm(engine: engine, &gradients, count: 2, maxNorm: 0), 5, accuracy: 1e-12)
        XCTAssertEqual(gradients, [3, 4])
    }

    func testNonFiniteNormIsReportedNotApplied() {
        var gradients: [Float] = [3, .nan]
        XCTAssertTrue(clipGradientNorm(engine: engine, &gradients, count: 2, maxNorm: 1).isNaN)
        XCTAssertEqual(gradients[0], 3)
    }

    func testOnlyTheGivenSegmentsCount() {
        var gradients: [Float] = [100, 3, 4]
        let segments = [ParameterSegment(name: "w", offset: 1, count: 2, decay: true)]
        XCTAssertEqual(clipGradientNorm(engine: engine, &gradients, count: 3, maxNorm: 2.5, segments: segments), 5, accuracy: 1e-12)
        XCTAssertEqual(gradients[0], 100)
        XCTAssertEqual(Double(gradients[1]), 1.5, accuracy: 1e-6)
    }
}

final class NonFiniteTests: XCTestCase {
    let engine = EngineContext()
    func testFindsTheFirstNonFiniteValue() {
        let values: [Float] = [1, 2, .nan, .infinity]
        XCTAssertEqual(firstNonFiniteIndex(values, count: 4), 2)
        XCTAssertEqual(firstNonFiniteIndex(values, count: 2), nil)
        let segments = [
            ParameterSegment(name: "a", offset: 0, count: 2, decay: true),
            ParameterSegment(name: "b", offset: 2, count: 2, decay: false),
        ]
        let found = firstNonFinite(engine: engine, values, segments: segments)
        XCTAssertEqual(found?.segment.name, "b")
        XCTAssertEqual(found?.index, 0)
        XCTAssertNil(firstNonFinite(engine: engine, [1, -.infinity], segments: [ParameterSegment(name: "a", offset: 0, count: 1, decay: true)]))
    }
}
