import Foundation

/// One δ of the post-hoc shift sweep.
public struct ShiftArm: Sendable, Equatable {
    public var delta: Double
    public var geometry: GeometryMetrics
    public var retrieval: RetrievalMetrics
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
    public static func sweep(images: EmbeddingMatrix, texts: EmbeddingMatrix, captionImage: [Int]? = nil,
                             deltas: [Double], ks: [Int] = [1, 5, 10], seed: UInt64 = 0) throws -> [ShiftArm] {
        let mapping = captionImage ?? Array(0..<texts.rows)
        return try deltas.map { delta in
            let (shiftedImages, shiftedTexts) = try shift(images: images, texts: texts, delta: delta)
            let geometry = try GeometryMetrics.compute(images: shiftedImages.expandedToCaptions(mapping), texts: shiftedTexts, seed: seed)
            let retrieval = try Retrieval.evaluate(images: shiftedImages, texts: shiftedTexts, captionImage: mapping, ks: ks)
            return ShiftArm(delta: delta, geometry: geometry, retrieval: retrieval)
        }
    }
}
