import Foundation
import GapEngine
import GapRandom

/// Training settings of the multinomial logistic regression behind the linear probe and modality separability.
/// Defaults follow the authors' linear-probe code: AdamW, lr 0.005, weight decay 0.01, cosine schedule, 32 epochs.
public struct LogisticRegressionConfig: Sendable, Equatable {
    public var epochs: Int = 32
    public var learningRate: Double = 0.005
    public var weightDecay: Double = 0.01
    /// Minibatch size; a value ≥ the training-set size gives full-batch steps.
    public var batchSize: Int = 256
    public var beta1: Double = 0.9
    public var beta2: Double = 0.999
    public var epsilon: Double = 1e-8
    /// Fixes the minibatch order.
    public var seed: UInt64 = 0

    public init(epochs: Int = 32, learningRate: Double = 0.005, weightDecay: Double = 0.01, batchSize: Int = 256,
                seed: UInt64 = 0) {
        self.epochs = epochs
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.batchSize = batchSize
        self.seed = seed
    }

    func validate() throws {
        guard epochs > 0 else { throw EvalError.invalidArgument(what: "logistic regression epochs", expected: "> 0", got: "\(epochs)") }
        guard batchSize > 0 else { throw EvalError.invalidArgument(what: "logistic regression batch size", expected: "> 0", got: "\(batchSize)") }
        guard learningRate > 0 else { throw EvalError.invalidArgument(what: "logistic regression learning rate", expected: "> 0", got: "\(learningRate)") }
    }
}

/// A linear classifier: logits = x · W + b with W [dim, classes].
public struct LogisticRegressionModel: Sendable, Equatable {
    public let dim: Int
    public let classes: Int
    public var weights: [Float]
    public var bias: [Float]

    public func logits(engine: EngineContext, _ features: EmbeddingMatrix) -> [Float] {
        var out = [Float](repeating: 0, count: features.rows * classes)
        guard features.rows > 0 else { return out }
        for r in 0..<features.rows {
            for c in 0..<classes { out[r * classes + c] = bias[c] }
        }
        features.values.withUnsafeBufferPointer { x in
            weights.withUnsafeBufferPointer { w in
                out.withUnsafeMutableBufferPointer { o in
                    sgemm(engine: engine, transA: false, transB: false, m: features.rows, n: classes, k: dim,
                          a: x.baseAddress!, lda: dim, b: w.baseAddress!, ldb: classes,
                          beta: 1, c: o.baseAddress!, ldc: classes)
                }
            }
        }
        return out
    }

    /// Arg-max class per row; the lowest class index wins a tie, so predictions are reproducible.
    public func predict(engine: EngineContext, _ features: EmbeddingMatrix) -> [Int] {
        let scores = logits(engine: engine, features)
        return (0..<features.rows).map { r in
            var best = 0
            for c in 1..<max(classes, 1) where scores[r * classes + c] > scores[r * classes + best] { best = c }
            return best
        }
    }

    public func accuracy(engine: EngineContext, _ features: EmbeddingMatrix, labels: [Int]) -> Double {
        guard features.rows > 0 else { return 0 }
        let predicted = predict(engine: engine, features)
        let correct = zip(predicted, labels).filter { $0 == $1 }.count
        return Double(correct) / Double(features.rows)
    }
}

public enum LogisticRegression {
    /// Fits W and b by minibatch AdamW on the mean cross-entropy, from zero weights (the problem is convex,
    /// so a zero start loses nothing and removes one source of randomness). Weight decay is decoupled and
    /// applies to every parameter, as `torch.optim.AdamW(model.parameters())` does in the authors' code.
    public static func train(engine: EngineContext, features: EmbeddingMatrix, labels: [Int], classes: Int,
                             config: LogisticRegressionConfig = LogisticRegressionConfig()) throws -> LogisticRegressionModel {
        try config.validate()
        guard features.rows > 0 else {
            throw EvalError.shape(what: "logistic regression training features", expected: "at least one row", got: "none")
        }
        guard labels.count == features.rows else {
            throw EvalError.shape(what: "logistic regression labels", expected: "\(features.rows) labels (one per row)", got: "\(labels.count)")
        }
        guard classes >= 2 else {
            throw EvalError.invalidArgument(what: "logistic regression classes", expected: ">= 2", got: "\(classes)")
        }
        for (i, label) in labels.enumerated() where label < 0 || label >= classes {
            throw EvalError.invalidArgument(what: "logistic regression label \(i)", expected: "0..<\(classes)", got: "\(label)")
        }
        let n = features.rows, d = features.dim, k = classes
        let batch = min(config.batchSize, n)
        let stepsPerEpoch = (n + batch - 1) / batch
        let totalSteps = stepsPerEpoch * config.epochs

        var model = LogisticRegressionModel(dim: d, classes: k,
                                            weights: [Float](repeating: 0, count: d * k),
                                            bias: [Float](repeating: 0, count: k))
        var moment1W = [Double](repeating: 0, count: d * k), moment2W = moment1W
        var moment1B = [Double](repeating: 0, count: k), moment2B = moment1B
        var batchX = [Float](repeating: 0, count: batch * d)
        var gradLogits = [Float](repeating: 0, count: batch * k)
        var gradW = [Float](repeating: 0, count: d * k)
        var generator = SeededRandom(seed: config.seed)
        var step = 0

        for _ in 0..<config.epochs {
            let order = generator.permutation(n)
            var start = 0
            while start < n {
                let size = min(batch, n - start)
                for b in 0..<size {
                    let r = order[start + b]
                    for c in 0..<d { batchX[b * d + c] = features.values[r * d + c] }
                }
                // Forward: logits, softmax, then dL/dlogits = (p − onehot) / size.
                for b in 0..<size { for c in 0..<k { gradLogits[b * k + c] = model.bias[c] } }
                batchX.withUnsafeBufferPointer { x in
                    model.weights.withUnsafeBufferPointer { w in
                        gradLogits.withUnsafeMutableBufferPointer { o in
                            sgemm(engine: engine, transA: false, transB: false, m: size, n: k, k: d,
                                  a: x.baseAddress!, lda: d, b: w.baseAddress!, ldb: k,
                                  beta: 1, c: o.baseAddress!, ldc: k)
                        }
                    }
                }
                var gradB = [Double](repeating: 0, count: k)
                let inverseSize = 1 / Float(size)
                for b in 0..<size {
                    var maxLogit = -Float.infinity
                    for c in 0..<k { maxLogit = max(maxLogit, gradLogits[b * k + c]) }
                    var total: Float = 0
                    for c in 0..<k {
                        let e = expf(gradLogits[b * k + c] - maxLogit)
                        gradLogits[b * k + c] = e
                        total += e
                    }
                    let label = labels[order[start + b]]
                    for c in 0..<k {
                        var g = gradLogits[b * k + c] / total
                        if c == label { g -= 1 }
                        g *= inverseSize
                        gradLogits[b * k + c] = g
                        gradB[c] += Double(g)
                    }
                }
                batchX.withUnsafeBufferPointer { x in
                    gradLogits.withUnsafeBufferPointer { g in
                        gradW.withUnsafeMutableBufferPointer { o in
                            sgemm(engine: engine, transA: true, transB: false, m: d, n: k, k: size,
                                  a: x.baseAddress!, lda: d, b: g.baseAddress!, ldb: k,
                                  c: o.baseAddress!, ldc: k)
                        }
                    }
                }
                step += 1
                let lr = 0.5 * config.learningRate * (1 + cos(Double.pi * Double(step - 1) / Double(totalSteps)))
                let correction1 = 1 - pow(config.beta1, Double(step))
                let correction2 = 1 - pow(config.beta2, Double(step))
                func update(_ parameter: inout Float, _ gradient: Double, _ m1: inout Double, _ m2: inout Double) {
                    var p = Double(parameter) * (1 - lr * config.weightDecay)
                    m1 = config.beta1 * m1 + (1 - config.beta1) * gradient
                    m2 = config.beta2 * m2 + (1 - config.beta2) * gradient * gradient
                    p -= lr * (m1 / correction1) / ((m2 / correction2).squareRoot() + config.epsilon)
                    parameter = Float(p)
                }
                for i in 0..<(d * k) { update(&model.weights[i], Double(gradW[i]), &moment1W[i], &moment2W[i]) }
                for c in 0..<k { update(&model.bias[c], gradB[c], &moment1B[c], &moment2B[c]) }
                start += size
            }
        }
        return model
    }
}
