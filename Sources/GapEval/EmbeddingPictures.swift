import Foundation
import GapEngine
import GapPlot
import GapRandom

public enum ProjectionMethod: String, Sendable, CaseIterable {
    case pca
    case tsne
}

/// Pictures of the embedding space: a fixed, seeded sample of pairs projected to 2-D, images and captions
/// coloured by modality and each pair joined by a faint line.
public enum EmbeddingPictures {
    public static let imageColor = RGBColor.series(0)
    public static let textColor = RGBColor.series(1)

    /// `sample` pair indices out of `count`, drawn without replacement by the seed, in ascending order.
    public static func samplePairs(count: Int, sample: Int, seed: UInt64) -> [Int] {
        guard sample < count else { return Array(0..<count) }
        var generator = SeededRandom(seed: seed)
        return Array(generator.permutation(count).prefix(max(0, sample))).sorted()
    }

    /// Projects the sampled images and captions jointly (one projection for both, so distances between the
    /// modalities mean something) and draws them. t-SNE uses cosine distance and `tsne` settings (its seed
    /// is replaced by `seed`).
    public static func projectionPlot(engine: EngineContext, images: EmbeddingMatrix, texts: EmbeddingMatrix, method: ProjectionMethod,
                                      sample: Int = 500, seed: UInt64 = 0, title: String? = nil,
                                      tsne: TSNEConfig = TSNEConfig()) throws -> ScatterPlot {
        try requirePaired(images, texts, "embedding picture")
        let chosen = samplePairs(count: images.rows, sample: sample, seed: seed)
        guard chosen.count >= 2 else {
            throw EvalError.invalidArgument(what: "embedding picture sample", expected: "at least 2 pairs", got: "\(chosen.count)")
        }
        let joint = try images.selecting(rows: chosen).stacked(with: texts.selecting(rows: chosen))
        let projection: PlanarProjection
        switch method {
        case .pca:
            projection = try PCA.project(joint).projection
        case .tsne:
            var settings = tsne
            settings.seed = seed
            projection = try TSNE.project(engine: engine, joint, config: settings)
        }
        let defaultTitle = method == .pca ? "Image and caption embeddings (PCA)" : "Image and caption embeddings (t-SNE, cosine)"
        return scatterPlot(projection: projection, pairs: chosen.count, title: title ?? defaultTitle)
    }

    /// Rows 0..<pairs of `projection` are images and rows pairs..<2·pairs their captions.
    public static func scatterPlot(projection: PlanarProjection, pairs: Int, title: String) -> ScatterPlot {
        let images = 0..<pairs, captions = pairs..<(2 * pairs)
        return ScatterPlot(title: title, xLabel: projection.xName, yLabel: projection.yName, groups: [
            ScatterPlot.Group(name: "image", x: Array(projection.x[images]), y: Array(projection.y[images]), color: imageColor),
            ScatterPlot.Group(name: "caption", x: Array(projection.x[captions]), y: Array(projection.y[captions]), color: textColor),
        ], pairing: ScatterPlot.Pairing(name: "pair", first: 0, second: 1))
    }

    /// Writes `<folder>/embeddings_pca`, `embeddings_tsne` and `paired_cosine_cdf` (.svg and .png) for one run.
    @discardableResult
    public static func writeRunPictures(engine: EngineContext, images: EmbeddingMatrix, texts: EmbeddingMatrix, folder: URL,
                                        sample: Int = 500, seed: UInt64 = 0, runName: String = "run",
                                        tsne: TSNEConfig = TSNEConfig()) throws -> [URL] {
        var written = [URL]()
        for method in ProjectionMethod.allCases {
            let plot = try projectionPlot(engine: engine, images: images, texts: texts, method: method, sample: sample, seed: seed, tsne: tsne)
            let urls = try plot.drawing().write(to: folder.appendingPathComponent("embeddings_\(method.rawValue)"))
            written += [urls.svg, urls.png]
        }
        let cosines = GeometryMetrics.pairedCosines(images: images, texts: texts)
        let cdf = try CosineCDFPlot(title: "Paired cosine similarity (CDF)", curves: [(runName, cosines)]).drawing()
        let urls = try cdf.write(to: folder.appendingPathComponent("paired_cosine_cdf"))
        written += [urls.svg, urls.png]
        return written
    }
}
