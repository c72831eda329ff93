import Foundation
import GapEngine

public struct ZeroShotResult: Sendable, Equatable {
    public var classes: Int
    /// Accuracy per requested k, with k capped at the number of classes.
    public var topK: [Int: Double]
    public var top1: Double { topK[1] ?? .nan }
    public var top5: Double { topK[5] ?? .nan }
}

/// Zero-shot classification with a prompt-template ensemble.
public enum ZeroShot {
    /// CLIP's fixed logit scale for zero-shot logits; it does not change the ranking, only the logits' size.
    public static let logitScale: Float = 100

    /// Class weights: for each class, the normalised mean of its normalised prompt embeddings, then normalised.
    /// `promptEmbeddings` is [classes · templates, d] grouped by class: rows c·templates ..< (c+1)·templates
    /// are class c under every template.
    public static func classWeights(promptEmbeddings: EmbeddingMatrix, classes: Int, templates: Int) throws -> EmbeddingMatrix {
        guard classes > 0, templates > 0 else {
            throw EvalError.invalidArgument(what: "zero-shot classes and templates", expected: "both > 0", got: "\(classes) and \(templates)")
        }
        guard promptEmbeddings.rows == classes * templates else {
            throw EvalError.shape(what: "zero-shot prompt embeddings", expected: "\(classes) classes × \(templates) templates = \(classes * templates) rows",
                                  got: "\(promptEmbeddings.rows) rows")
        }
        let unit = promptEmbeddings.normalisedRows()
        let d = unit.dim
        var weights = [Float](repeating: 0, count: classes * d)
        for c in 0..<classes {
            var sum = [Double](repeating: 0, count: d)
            for t in 0..<templates {
                let r = c * templates + t
                for j in 0..<d { sum[j] += Double(unit.values[r * d + j]) }
            }
            for j in 0..<d { weights[c * d + j] = Float(sum[j] / Double(templates)) }
        }
        return EmbeddingMatrix(trusted: weights, rows: classes, dim: d).normalisedRows()
    }

    /// logits = 100 · v · Wᵀ; a prediction is in the top k when fewer than k classes score at least as high
    /// as the true class (other classes tied with it count against it, as in retrieval).
    public static func evaluate(engine: EngineContext, images: EmbeddingMatrix, labels: [Int], classWeights: EmbeddingMatrix,
                                ks: [Int] = [1, 5]) throws -> ZeroShotResult {
        try requireSameDim(images, classWeights, "zero-shot")
        guard labels.count == images.rows else {
            throw EvalError.shape(what: "zero-shot labels", expected: "\(images.rows) labels (one per image)", got: "\(labels.count)")
        }
        guard images.rows > 0 else {
            throw EvalError.shape(what: "zero-shot images", expected: "at least one image", got: "none")
        }
        let classes = classWeights.rows
        for (i, label) in labels.enumerated() where label < 0 || label >= classes {
            throw EvalError.invalidArgument(what: "zero-shot label \(i)", expected: "0..<\(classes)", got: "\(label)")
        }
        for k in ks where k < 1 {
            throw EvalError.invalidArgument(what: "zero-shot k", expected: ">= 1", got: "\(k)")
        }
        let logits = self.logits(engine: engine, images: images, classWeights: classWeights)
        var ranks = [Int](repeating: 0, count: images.rows)
        for i in 0..<images.rows {
            let truth = logits[i * classes + labels[i]]
            var atLeast = 0
            for c in 0..<classes where c != labels[i] && logits[i * classes + c] >= truth { atLeast += 1 }
            ranks[i] = atLeast + 1
        }
        var topK = [Int: Double]()
        for k in ks {
            let effective = min(k, classes)
            topK[k] = Double(ranks.filter { $0 <= effective }.count) / Double(images.rows)
        }
        return ZeroShotResult(classes: classes, topK: topK)
    }

    /// [images, classes] logits, 100 · v · Wᵀ.
    public static func logits(engine: EngineContext, images: EmbeddingMatrix, classWeights: EmbeddingMatrix) -> [Float] {
        var out = [Float]()
        similarityBlock(engine: engine, queries: images, rowStart: 0, rowCount: images.rows, candidates: classWeights, into: &out)
        for i in out.indices { out[i] *= logitScale }
        return out
    }
}
