import Foundation
import GapEngine
import GapRandom

/// The geometry of the modality gap on paired embeddings (row i of `images` and of `texts` form pair i),
/// with the definitions of METHOD.md §5.
public struct GeometryMetrics: Sendable, Equatable {
    /// Mean over pairs of cos(v_i, t_i): the paper's alignment score.
    public var alignment: Double
    /// Mean over pairs of the angle between v_i and t_i, in degrees.
    public var pairedAngleDegrees: Double
    /// Paired cosines at `GeometryMetrics.quantileLevels` (linear interpolation between order statistics).
    public var pairedCosineQuantiles: [Double]
    /// Every paired cosine in ascending order: the empirical CDF of the paper's Fig. 4.
    public var sortedPairedCosines: [Float]
    /// ‖mean v − mean t‖₂ (Liang et al.).
    public var centroidGap: Double
    /// 1 − (sum of the off-diagonal entries of V Tᵀ) / N² (the authors' notebook).
    public var separation: Double
    /// log mean_{i≠j} exp(−2‖x_i − x_j‖²) over image rows (Wang & Isola); lower is more uniform.
    public var uniformityImage: Double
    public var uniformityText: Double
    /// Held-out accuracy of a linear image-vs-text classifier; 0.5 is inseparable, 1 fully separated cones.
    public var separability: Double

    /// 0%, 5%, ..., 100%.
    public static let quantileLevels: [Double] = (0...20).map { Double($0) / 20 }

    /// Computes every geometry metric. Rows are used as given, so pass unit vectors (the model's output).
    /// `seed` fixes the separability split and minibatch order.
    public static func compute(engine: EngineContext, images: EmbeddingMatrix, texts: EmbeddingMatrix, seed: UInt64 = 0,
                               separabilityConfig: LogisticRegressionConfig? = nil) throws -> GeometryMetrics {
        try requirePaired(images, texts, "geometry metrics")
        let cosines = pairedCosines(images: images, texts: texts)
        let sorted = cosines.sorted()
        var cosineSum = 0.0, angleSum = 0.0
        for c in cosines {
            cosineSum += Double(c)
            angleSum += acos(min(1, max(-1, Double(c)))) * 180 / Double.pi
        }
        let n = Double(images.rows)
        return GeometryMetrics(
            alignment: cosineSum / n,
            pairedAngleDegrees: angleSum / n,
            pairedCosineQuantiles: quantileLevels.map { quantile(sorted: sorted, level: $0) },
            sortedPairedCosines: sorted,
            centroidGap: centroidGap(images: images, texts: texts),
            separation: separation(images: images, texts: texts, diagonalSum: cosineSum),
            uniformityImage: uniformity(engine: engine, images),
            uniformityText: uniformity(engine: engine, texts),
            separability: try modalitySeparability(engine: engine, images: images, texts: texts, seed: seed, config: separabilityConfig))
    }

    public static func pairedCosines(images: EmbeddingMatrix, texts: EmbeddingMatrix) -> [Float] {
        let d = images.dim
        return (0..<images.rows).map { i in
            var dot: Double = 0
            for c in 0..<d { dot += Double(images.values[i * d + c]) * Double(texts.values[i * d + c]) }
            return Float(dot)
        }
    }

    /// Type-7 quantile (the default of NumPy and R) of ascending `sorted`.
    public static func quantile(sorted: [Float], level: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let position = level * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down))
        let upper = min(lower + 1, sorted.count - 1)
        let fraction = position - Double(lower)
        return Double(sorted[lower]) * (1 - fraction) + Double(sorted[upper]) * fraction
    }

    public static func centroidGap(images: EmbeddingMatrix, texts: EmbeddingMatrix) -> Double {
        let meanImage = images.columnMean(), meanText = texts.columnMean()
        var sum = 0.0
        for c in 0..<images.dim { let diff = meanImage[c] - meanText[c]; sum += diff * diff }
        return sum.squareRoot()
    }

    /// The sum of all entries of V Tᵀ is (Σv)·(Σt), so the off-diagonal sum needs no N × N product.
    static func separation(images: EmbeddingMatrix, texts: EmbeddingMatrix, diagonalSum: Double) -> Double {
        let n = Double(images.rows)
        let meanImage = images.columnMean(), meanText = texts.columnMean()
        var total = 0.0
        for c in 0..<images.dim { total += meanImage[c] * meanText[c] * n * n }
        return 1 - (total - diagonalSum) / (n * n)
    }

    /// ‖x_i − x_j‖² = ‖x_i‖² + ‖x_j‖² − 2 x_i·x_j (2 − 2cos on the sphere), with x_i·x_j from blocked sgemm;
    /// the mean of exponentials is accumulated as a running log-sum-exp so that far-apart points, whose
    /// terms underflow Float, still count. Fewer than two rows has no pairs and gives NaN.
    public static func uniformity(engine: EngineContext, _ x: EmbeddingMatrix, blockRows: Int = 512) -> Double {
        let n = x.rows, d = x.dim
        guard n >= 2 else { return .nan }
        var squaredNorms = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var s = 0.0
            for c in 0..<d { let v = Double(x.values[i * d + c]); s += v * v }
            squaredNorms[i] = s
        }
        var runningMax = -Double.infinity
        var scaledSum = 0.0
        var block = [Float]()
        var exponents = [Double](repeating: 0, count: n)
        var start = 0
        while start < n {
            let count = min(blockRows, n - start)
            similarityBlock(engine: engine, queries: x, rowStart: start, rowCount: count, candidates: x, into: &block)
            for r in 0..<count {
                let i = start + r
                var rowMax = -Double.infinity
                for j in 0..<n {
                    let e = -2 * (squaredNorms[i] + squaredNorms[j] - 2 * Double(block[r * n + j]))
                    exponents[j] = e
                    if j != i, e > rowMax { rowMax = e }
                }
                var rowSum = 0.0
                for j in 0..<n where j != i { rowSum += exp(exponents[j] - rowMax) }
                if rowMax > runningMax {
                    scaledSum = scaledSum * exp(runningMax - rowMax) + rowSum
                    runningMax = rowMax
                } else {
                    scaledSum += rowSum * exp(rowMax - runningMax)
                }
            }
            start += count
        }
        return runningMax + log(scaledSum) - log(Double(n) * Double(n - 1))
    }

    /// Splits the pairs (not the single rows) into two seeded halves, so both classes are balanced in each half
    /// and a pair never straddles the split; trains on the first half's images (label 0) and texts (label 1)
    /// and returns the accuracy on the second half. Needs at least two pairs.
    public static func modalitySeparability(engine: EngineContext, images: EmbeddingMatrix, texts: EmbeddingMatrix, seed: UInt64 = 0,
                                            config: LogisticRegressionConfig? = nil) throws -> Double {
        try requirePaired(images, texts, "modality separability")
        guard images.rows >= 2 else {
            throw EvalError.shape(what: "modality separability", expected: "at least 2 pairs (one per half)", got: "\(images.rows)")
        }
        var generator = SeededRandom(seed: seed ^ 0x5E9A_4AB1)
        let order = generator.permutation(images.rows)
        let half = images.rows / 2
        let trainPairs = Array(order[0..<half]).sorted()
        let testPairs = Array(order[half...]).sorted()
        func halfSet(_ pairs: [Int]) throws -> (EmbeddingMatrix, [Int]) {
            let features = try images.selecting(rows: pairs).stacked(with: texts.selecting(rows: pairs))
            return (features, [Int](repeating: 0, count: pairs.count) + [Int](repeating: 1, count: pairs.count))
        }
        let (trainX, trainY) = try halfSet(trainPairs)
        let (testX, testY) = try halfSet(testPairs)
        var settings = config ?? LogisticRegressionConfig()
        if config == nil {
            // The probe recipe's 32 epochs are only a few steps on a small held-out set; at least ~1000 steps
            // let a subtle but real separation show.
            settings.seed = seed
            let stepsPerEpoch = (trainX.rows + settings.batchSize - 1) / settings.batchSize
            settings.epochs = max(settings.epochs, (1000 + stepsPerEpoch - 1) / stepsPerEpoch)
        }
        let model = try LogisticRegression.train(engine: engine, features: trainX, labels: trainY, classes: 2, config: settings)
        return model.accuracy(engine: engine, testX, labels: testY)
    }
}

extension EmbeddingMatrix {
    /// The image row of each caption: turns (unique images, captions) into the pairs the geometry metrics take.
    public func expandedToCaptions(_ captionImage: [Int]) throws -> EmbeddingMatrix {
        for (c, image) in captionImage.enumerated() where image < 0 || image >= rows {
            throw EvalError.invalidArgument(what: "captionImage[\(c)]", expected: "an image index in 0..<\(rows)", got: "\(image)")
        }
        return selecting(rows: captionImage)
    }
}
