import GapEngine
import XCTest
#if canImport(FoundationXML)
import FoundationXML
#endif
import GapData
@testable import GapEval
import GapPlot

final class PicturesTests: XCTestCase {
    let engine = EngineContext()
    private func isWellFormedXML(_ url: URL) throws -> Bool {
        XMLParser(data: try Data(contentsOf: url)).parse()
    }

    private func pairedCones() throws -> (EmbeddingMatrix, EmbeddingMatrix) {
        let images = try cone(40, 8, axis: 0, noiseAxes: [2, 3, 4, 5, 6, 7], spread: 0.5, seed: 21)
        var texts = images.values
        for i in 0..<images.rows { texts[i * 8] = images.values[i * 8 + 1]; texts[i * 8 + 1] = images.values[i * 8] }
        return (images, try EmbeddingMatrix(values: texts, rows: images.rows, dim: 8))
    }

    func testProjectionPicturesAreDeterministicAndLabelled() throws {
        let (images, texts) = try pairedCones()
        let fastTSNE = TSNEConfig(perplexity: 10, iterations: 150)
        for method in ProjectionMethod.allCases {
            let first = try EmbeddingPictures.projectionPlot(engine: engine, images: images, texts: texts, method: method, sample: 30, seed: 5, tsne: fastTSNE)
            let second = try EmbeddingPictures.projectionPlot(engine: engine, images: images, texts: texts, method: method, sample: 30, seed: 5, tsne: fastTSNE)
            XCTAssertEqual(first, second, "\(method) picture must not change for a fixed seed")
            XCTAssertEqual(first.groups.map(\.name), ["image", "caption"])
            XCTAssertEqual(first.groups.map(\.x.count), [30, 30])
            XCTAssertEqual(first.pairing, ScatterPlot.Pairing(name: "pair", first: 0, second: 1))
            let axisNames = method == .pca ? ["PC 1", "PC 2"] : ["t-SNE 1", "t-SNE 2"]
            XCTAssertEqual([first.xLabel, first.yLabel], axisNames)
            let drawing = try first.drawing()
            let circles = drawing.items.filter { if case .circle = $0.primitive { return true } else { return false } }
            XCTAssertEqual(circles.count, 60 + 2, "30 images, 30 captions, 2 legend marks")
            let texts = drawing.items.compactMap { item -> String? in
                if case let .text(text, _, _, _, _, _) = item.primitive { return text } else { return nil }
            }
            for label in [first.title, "image", "caption", "pair"] + axisNames { XCTAssertTrue(texts.contains(label), label) }
        }
    }

    func testPCAFindsTheDominantAxis() throws {
        // Large spread along x, small along y: the first component is x (sign fixed positive).
        var rows = [[Float]]()
        for i in 0..<21 { rows.append([Float(i - 10), Float(i % 2 == 0 ? 0.1 : -0.1), 0]) }
        let x = try EmbeddingMatrix(rows: rows)
        let (projection, explained) = try PCA.project(x)
        let meanY = 0.1 / 21 // eleven +0.1 and ten −0.1
        for i in 0..<21 {
            XCTAssertEqual(projection.x[i], Double(i - 10), accuracy: 1e-3)
            XCTAssertEqual(abs(projection.y[i]), abs((i % 2 == 0 ? 0.1 : -0.1) - meanY), accuracy: 1e-4)
        }
        XCTAssertGreaterThan(explained[0], 0.99)
        XCTAssertEqual(try PCA.project(x).projection, try PCA.project(x).projection)
    }

    func testTSNEKeepsClustersApartAndRepeats() throws {
        let a = try cone(15, 6, axis: 0, noiseAxes: [3, 4, 5], spread: 0.1, seed: 1)
        let b = try cone(15, 6, axis: 1, noiseAxes: [3, 4, 5], spread: 0.1, seed: 2)
        let x = try a.stacked(with: b)
        let config = TSNEConfig(perplexity: 5, iterations: 1000, seed: 3)
        let first = try TSNE.project(engine: engine, x, config: config)
        XCTAssertEqual(first, try TSNE.project(engine: engine, x, config: config))
        func distance(_ i: Int, _ j: Int) -> Double {
            ((first.x[i] - first.x[j]) * (first.x[i] - first.x[j]) + (first.y[i] - first.y[j]) * (first.y[i] - first.y[j])).squareRoot()
        }
        // Neighbour preservation: each point's nearest neighbour in the plane is from its own cluster.
        var agreeing = 0
        for i in 0..<30 {
            let nearest = (0..<30).filter { $0 != i }.min { distance(i, $0) < distance(i, $1) }!
            if (nearest < 15) == (i < 15) { agreeing += 1 }
        }
        XCTAssertEqual(agreeing, 30)
    }

    func testRunPicturesAreWrittenAsSVGAndPNG() throws {
        let (images, texts) = try pairedCones()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gapeval-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let written = try EmbeddingPictures.writeRunPictures(engine: engine, images: images, texts: texts, folder: folder, sample: 20, seed: 2,
                                                             tsne: TSNEConfig(perplexity: 5, iterations: 100))
        XCTAssertEqual(written.map(\.lastPathComponent).sorted(), [
            "embeddings_pca.png", "embeddings_pca.svg", "embeddings_tsne.png", "embeddings_tsne.svg",
            "paired_cosine_cdf.png", "paired_cosine_cdf.svg",
        ])
        for url in written where url.pathExtension == "png" {
            let image = try PNGCodec.decode(Data(contentsOf: url), source: url.path)
            XCTAssertEqual(image.width, 840)
            XCTAssertEqual(image.height, 600)
            XCTAssertTrue(image.pixels.contains { $0 < 128 }, "\(url.lastPathComponent) has drawn content")
        }
        for url in written where url.pathExtension == "svg" {
            XCTAssertTrue(try isWellFormedXML(url), url.lastPathComponent)
        }
    }
}
