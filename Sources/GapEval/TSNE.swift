import Foundation
import GapEngine
import GapRandom

public struct TSNEConfig: Sendable, Equatable {
    public var perplexity: Double = 30
    public var iterations: Int = 1000
    public var earlyExaggeration: Double = 12
    public var exaggerationIterations: Int = 250
    /// nil picks scikit-learn's automatic rate max(n / exaggeration / 4, 50); the classic fixed 200 makes
    /// the layout of a few dozen points blow up.
    public var learningRate: Double?
    public var seed: UInt64 = 0

    public init(perplexity: Double = 30, iterations: Int = 1000, learningRate: Double? = nil, seed: UInt64 = 0) {
        self.perplexity = perplexity
        self.iterations = iterations
        self.learningRate = learningRate
        self.seed = seed
        self.exaggerationIterations = min(250, iterations / 4)
    }
}

/// Exact t-SNE (van der Maaten & Hinton) on cosine distance 1 − cos(x_i, x_j), the neighbour-preserving
/// picture of the gap. O(n²) per iteration: meant for the few hundred to thousand points of a picture.
public enum TSNE {
    public static let maximumPoints = 2000

    public static func project(engine: EngineContext, _ x: EmbeddingMatrix, config: TSNEConfig = TSNEConfig()) throws -> PlanarProjection {
        let n = x.rows
        guard n >= 3 else { throw EvalError.shape(what: "t-SNE input", expected: "at least 3 rows", got: "\(n)") }
        guard n <= maximumPoints else {
            throw EvalError.shape(what: "t-SNE input", expected: "at most \(maximumPoints) rows (exact t-SNE is O(n²))", got: "\(n)")
        }
        let learningRate = config.learningRate ?? max(Double(n) / config.earlyExaggeration / 4, 50)
        guard config.perplexity > 0, config.iterations > 0, learningRate > 0 else {
            throw EvalError.invalidArgument(what: "t-SNE settings", expected: "perplexity, iterations and learning rate > 0",
                                            got: "\(config.perplexity), \(config.iterations), \(learningRate)")
        }
        let unit = x.normalisedRows()
        var similarity = [Float]()
        similarityBlock(engine: engine, queries: unit, rowStart: 0, rowCount: n, candidates: unit, into: &similarity)
        let distance = similarity.map { max(0, 1 - Double($0)) }
        let p = jointProbabilities(distance: distance, n: n, perplexity: min(config.perplexity, Double(n - 1) / 3))

        var generator = SeededRandom(seed: config.seed)
        var y = (0..<(2 * n)).map { _ in 1e-4 * generator.gaussian() }
        var velocity = [Double](repeating: 0, count: 2 * n)
        var gains = [Double](repeating: 1, count: 2 * n)
        var numerator = [Double](repeating: 0, count: n * n)
        var gradient = [Double](repeating: 0, count: 2 * n)

        for iteration in 0..<config.iterations {
            let exaggeration = iteration < config.exaggerationIterations ? config.earlyExaggeration : 1
            let momentum = iteration < config.exaggerationIterations ? 0.5 : 0.8
            var total = 0.0
            for i in 0..<n {
                for j in (i + 1)..<n {
                    let dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1]
                    let q = 1 / (1 + dx * dx + dy * dy)
                    numerator[i * n + j] = q
                    numerator[j * n + i] = q
                    total += 2 * q
                }
            }
            let inverseTotal = 1 / max(total, 1e-300)
            for i in 0..<n {
                var gx = 0.0, gy = 0.0
                for j in 0..<n where j != i {
                    let q = numerator[i * n + j]
                    let force = (exaggeration * p[i * n + j] - max(q * inverseTotal, 1e-12)) * q
                    gx += force * (y[2 * i] - y[2 * j])
                    gy += force * (y[2 * i + 1] - y[2 * j + 1])
                }
                gradient[2 * i] = 4 * gx
                gradient[2 * i + 1] = 4 * gy
            }
            for k in 0..<(2 * n) {
                // Delta-bar-delta gains of the reference implementation.
                gains[k] = (gradient[k] > 0) != (velocity[k] > 0) ? gains[k] + 0.2 : max(gains[k] * 0.8, 0.01)
                velocity[k] = momentum * velocity[k] - learningRate * gains[k] * gradient[k]
                y[k] += velocity[k]
            }
            var meanX = 0.0, meanY = 0.0
            for i in 0..<n { meanX += y[2 * i]; meanY += y[2 * i + 1] }
            meanX /= Double(n); meanY /= Double(n)
            for i in 0..<n { y[2 * i] -= meanX; y[2 * i + 1] -= meanY }
        }
        return PlanarProjection(x: (0..<n).map { y[2 * $0] }, y: (0..<n).map { y[2 * $0 + 1] },
                                xName: "t-SNE 1", yName: "t-SNE 2")
    }

    /// Symmetrised P = (P_{j|i} + P_{i|j}) / 2n, each conditional row bisected on its precision until its
    /// entropy equals log(perplexity).
    static func jointProbabilities(distance: [Double], n: Int, perplexity: Double) -> [Double] {
        let target = log(perplexity)
        var conditional = [Double](repeating: 0, count: n * n)
        var row = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var beta = 1.0, low = 0.0, high = Double.infinity
            for _ in 0..<100 {
                var minD = Double.infinity
                for j in 0..<n where j != i { minD = min(minD, distance[i * n + j]) }
                var sum = 0.0, weighted = 0.0
                for j in 0..<n {
                    if j == i { row[j] = 0; continue }
                    let e = exp(-beta * (distance[i * n + j] - minD))
                    row[j] = e
                    sum += e
                    weighted += e * (distance[i * n + j] - minD)
                }
                let entropy = log(sum) + beta * weighted / sum
                for j in 0..<n { row[j] /= sum }
                let difference = entropy - target
                if abs(difference) < 1e-6 { break }
                if difference > 0 {
                    low = beta
                    beta = high.isInfinite ? beta * 2 : (beta + high) / 2
                } else {
                    high = beta
                    beta = (beta + low) / 2
                }
            }
            for j in 0..<n { conditional[i * n + j] = row[j] }
        }
        var joint = [Double](repeating: 0, count: n * n)
        let scale = 1 / (2 * Double(n))
        for i in 0..<n {
            for j in 0..<n where j != i {
                joint[i * n + j] = max((conditional[i * n + j] + conditional[j * n + i]) * scale, 1e-12)
            }
        }
        return joint
    }
}
