import Foundation
import GapEngine

/// One δ of the post-hoc shift sweep.
public struct ShiftArm: Sendable, Equatable {
    public var delta: Double
    public var geometry: GeometryMetrics
    public var retrieval: RetrievalMetrics
    /// Zero-shot results per label axis after the same shift (images moved with the images, class weights
    /// with the texts).
    public var zeroShot: [String: ZeroShotResult] = [:]
}

/// A zero-shot classification set: image embeddings, their labels, and class weights built from prompts.
public struct ZeroShotTask: Sendable, Equatable {
    public var images: EmbeddingMatrix
    public var labels: [Int]
    public var classWeights: EmbeddingMatrix
    public var ks: [Int]

    public init(images: EmbeddingMatrix, labels: [Int], classWeights: EmbeddingMatrix, ks: [Int] = [1, 5]) {
        self.images = images
        self.labels = labels
        self.classWeights = classWeights
        self.ks = ks
    }

    public func evaluate(engine: EngineContext) throws -> ZeroShotResult {
        try ZeroShot.evaluate(engine: engine, images: images, labels: labels, classWeights: classWeights, ks: ks)
    }
}

public enum Modality: String, Sendable, Codable {
    case image, text
}

/// The evaluation-time shift of Liang et al.: g = mean(v) − mean(t), u = g/‖g‖,
/// v' = normalise(v − ½δu), t' = normalise(t + ½δu). u is always taken from the unshifted embeddings.
public enum PosthocShift {
    /// The unit gap direction u; throws when the centroids coincide (there is no direction to shift along).
    public static func gapDirection(images: EmbeddingMatrix, texts: EmbeddingMatrix) throws -> [Double] {
        try requireSameDim(images, texts, "post-hoc shift")
        let meanImage = images.columnMean(), meanText = texts.columnMean()
        var g = zip(meanImage, meanText).map { $0 - $1 }
        let norm = g.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard norm > 0 else {
            throw EvalError.invalidArgument(what: "post-hoc shift", expected: "image and text centroids that differ", got: "identical centroids")
        }
        for i in g.indices { g[i] /= norm }
        return g
    }

    /// Shifted, renormalised copies. δ = 0 returns the inputs renormalised (unchanged for unit rows).
    public static func shift(images: EmbeddingMatrix, texts: EmbeddingMatrix, delta: Double) throws -> (images: EmbeddingMatrix, texts: EmbeddingMatrix) {
        guard delta.isFinite else {
            throw EvalError.invalidArgument(what: "post-hoc shift δ", expected: "a finite number", got: "\(delta)")
        }
        if delta == 0 {
            try requireSameDim(images, texts, "post-hoc shift")
            return (images.normalisedRows(), texts.normalisedRows())
        }
        let u = try gapDirection(images: images, texts: texts)
        return (moved(images, along: u, by: -delta / 2), moved(texts, along: u, by: delta / 2))
    }

    /// Shifts other embeddings of one modality (a downstream set's images, zero-shot class weights) along a
    /// direction taken from the evaluation pairs: images by −½δu, texts by +½δu, then renormalised.
    public static func shift(_ x: EmbeddingMatrix, modality: Modality, direction u: [Double], delta: Double) throws -> EmbeddingMatrix {
        guard u.count == x.dim else {
            throw EvalError.shape(what: "post-hoc shift direction", expected: "\(x.dim) components", got: "\(u.count)")
        }
        return moved(x, along: u, by: modality == .image ? -delta / 2 : delta / 2)
    }

    static func moved(_ x: EmbeddingMatrix, along u: [Double], by step: Double) -> EmbeddingMatrix {
        var out = x.values
        let d = x.dim
        for r in 0..<x.rows {
            for c in 0..<d { out[r * d + c] = Float(Double(out[r * d + c]) + step * u[c]) }
        }
        return EmbeddingMatrix(trusted: out, rows: x.rows, dim: d).normalisedRows()
    }

    /// The δ at which the centroid difference has no component left along u: f(δ) = (mean v' − mean t')·u
    /// is ‖g‖ > 0 at δ = 0 and tends to −2 as δ grows, so it is bracketed by doubling and then bisected.
    /// (Components of the gap orthogonal to u are not moved by the shift; for a gap along u this closes it.)
    public static func gapClosingDelta(images: EmbeddingMatrix, texts: EmbeddingMatrix, tolerance: Double = 1e-9) throws -> Double {
        let u = try gapDirection(images: images, texts: texts)
        func alongGap(_ delta: Double) -> Double {
            let v = moved(images, along: u, by: -delta / 2).columnMean()
            let t = moved(texts, along: u, by: delta / 2).columnMean()
            var s = 0.0
            for c in 0..<u.count { s += (v[c] - t[c]) * u[c] }
            return s
        }
        var low = 0.0, high = 1.0
        var attempts = 0
        while alongGap(high) > 0 {
            low = high
            high *= 2
            attempts += 1
            guard attempts < 60 else {
                throw EvalError.invalidArgument(what: "post-hoc shift", expected: "a δ that closes the gap", got: "none up to \(high)")
            }
        }
        while high - low > tolerance {
            let mid = (low + high) / 2
            if alongGap(mid) > 0 { low = mid } else { high = mid }
        }
        return (low + high) / 2
    }

    /// Geometry and retrieval after shifting by each δ. Images are unique and captions map to them through
    /// `captionImage` (identity for one caption per image); the shift direction uses the mean of the unique
    /// images and of the captions, and the geometry is taken over (image of caption, caption) pairs.
    /// Zero-shot `tasks` (per label axis) are shifted along the same u, images with the images and class
    /// weights with the texts.
    public static func sweep(engine: EngineContext, images: EmbeddingMatrix, texts: EmbeddingMatrix, captionImage: [Int]? = nil,
                             deltas: [Double], ks: [Int] = [1, 5, 10], zeroShot tasks: [String: ZeroShotTask] = [:],
                             seed: UInt64 = 0) throws -> [ShiftArm] {
        let mapping = captionImage ?? Array(0..<texts.rows)
        let needsDirection = deltas.contains { $0 != 0 }
        let u = needsDirection ? try gapDirection(images: images, texts: texts) : []
        return try deltas.map { delta in
            let (shiftedImages, shiftedTexts) = try shift(images: images, texts: texts, delta: delta)
            let geometry = try GeometryMetrics.compute(engine: engine, images: shiftedImages.expandedToCaptions(mapping), texts: shiftedTexts, seed: seed)
            let retrieval = try Retrieval.evaluate(engine: engine, images: shiftedImages, texts: shiftedTexts, captionImage: mapping, ks: ks)
            var zeroShot = [String: ZeroShotResult]()
            for (axis, task) in tasks {
                var moved = task
                if delta != 0 {
                    moved.images = try shift(task.images, modality: .image, direction: u, delta: delta)
                    moved.classWeights = try shift(task.classWeights, modality: .text, direction: u, delta: delta)
                }
                zeroShot[axis] = try moved.evaluate(engine: engine)
            }
            return ShiftArm(delta: delta, geometry: geometry, retrieval: retrieval, zeroShot: zeroShot)
        }
    }
}
