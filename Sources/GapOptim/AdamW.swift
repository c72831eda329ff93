import Foundation
import GapEngine

/// torch.optim.AdamW (amsgrad off, maximize off) over one flat parameter buffer.
///
/// Only values inside `segments` are updated; a parameter left out of every segment (for example a frozen
/// logit scale) is never touched. The arithmetic follows torch's single-tensor CPU path operation by
/// operation, in Float32 with the scalar coefficients formed in Double, so the results match torch's:
///   p ← p·(1 − lr·wd)                     (decayed segments only, before the Adam step)
///   m ← m + (1 − β1)·(g − m)              (torch's lerp, equal to β1·m + (1 − β1)·g)
///   v ← v·β2 + (1 − β2)·g·g
///   p ← p − (lr / (1 − β1^t))·m / (√v / √(1 − β2^t) + eps)
public struct AdamW {
    public let parameterCount: Int
    public let segments: [ParameterSegment]
    public var beta1: Double
    public var beta2: Double
    public var eps: Double
    public var weightDecay: Double
    /// First and second moment estimates, one per parameter (zeros before the first step).
    public private(set) var firstMoment: [Float]
    public private(set) var secondMoment: [Float]
    /// Steps taken; the first update runs with t = 1.
    public private(set) var step: Int = 0

    public init(parameterCount: Int, segments: [ParameterSegment], beta1: Double = 0.9, beta2: Double = 0.999,
                eps: Double = 1e-8, weightDecay: Double = 0.01) throws {
        try segments.validate(parameterCount: parameterCount)
        self.parameterCount = parameterCount
        self.segments = segments
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
        firstMoment = [Float](repeating: 0, count: parameterCount)
        secondMoment = [Float](repeating: 0, count: parameterCount)
    }

    /// One optimiser step with learning rate `lr` (from the schedule) on `parameters` given `gradients`,
    /// both `parameterCount` long, split across `engine`'s threads (the model's).
    public mutating func update(engine: EngineContext, parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>, lr: Double) {
        step += 1
        let t = Double(step)
        let c = StepCoefficients(
            decayFactor: Float(1 - lr * weightDecay), firstWeight: Float(1 - beta1), secondDecay: Float(beta2),
            secondWeight: Float(1 - beta2), negativeStepSize: Float(-(lr / (1 - pow(beta1, t)))),
            biasCorrection2Sqrt: Float((1 - pow(beta2, t)).squareRoot()), epsilon: Float(eps),
            applyDecay: weightDecay != 0)
        firstMoment.withUnsafeMutableBufferPointer { mBuffer in
            secondMoment.withUnsafeMutableBufferPointer { vBuffer in
                forEachSegmentPiece(engine: engine, segments,
                                    StepPass(parameters: parameters, gradients: gradients, m: mBuffer.baseAddress!,
                                             v: vBuffer.baseAddress!, c: c))
            }
        }
    }

    /// The update of a piece of the buffer, element by element, so pieces on the context's threads give the same bits
    /// as one pass.
    struct StepPass: SegmentPass {
        let parameters: UnsafeMutablePointer<Float>
        let gradients: UnsafePointer<Float>
        let m, v: UnsafeMutablePointer<Float>
        let c: StepCoefficients

        func run(_ range: Range<Int>, decay: Bool) {
            let (decayFactor, firstWeight, secondDecay, secondWeight) = (c.decayFactor, c.firstWeight, c.secondDecay, c.secondWeight)
            let (negativeStepSize, biasCorrection2Sqrt, epsilon) = (c.negativeStepSize, c.biasCorrection2Sqrt, c.epsilon)
            let lerpTowardsGradient = abs(firstWeight) < 0.5
            let decays = c.applyDecay && decay
            for k in range {
                let g = gradients[k]
                if decays { parameters[k] *= decayFactor }
                // torch's lerp picks the form by the weight to keep either end exact.
                m[k] = lerpTowardsGradient ? m[k] + firstWeight * (g - m[k]) : g - (g - m[k]) * (1 - firstWeight)
                v[k] = v[k] * secondDecay + secondWeight * g * g
                let denominator = v[k].squareRoot() / biasCorrection2Sqrt + epsilon
                parameters[k] = parameters[k] + negativeStepSize * m[k] / denominator
            }
        }
    }

    /// One step's scalars, in Float32 as torch applies them, shared with the threads updating pieces of the buffer.
    struct StepCoefficients {
        var decayFactor, firstWeight, secondDecay, secondWeight, negativeStepSize, biasCorrection2Sqrt, epsilon: Float
        var applyDecay: Bool
    }

    /// Puts back the state a checkpoint saved (`step`, `firstMoment`, `secondMoment`).
    public mutating func restore(step: Int, firstMoment: [Float], secondMoment: [Float]) throws {
        guard step >= 0 else {
            throw OptimizerStateError(description: "optimiser state: step \(step), expected ≥ 0")
        }
        guard firstMoment.count == parameterCount, secondMoment.count == parameterCount else {
            throw OptimizerStateError(description: "optimiser state: moments of \(firstMoment.count) and "
                + "\(secondMoment.count) values, expected \(parameterCount) each")
        }
        self.step = step
        self.firstMoment = firstMoment
        self.secondMoment = secondMoment
    }
}

/// Saved optimiser state that does not fit the optimiser it is restored into.
public struct OptimizerStateError: Error, CustomStringConvertible, Equatable {
    public var description: String
}
