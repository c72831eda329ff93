import XCTest
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import GapEval

final class PicturesTests: XCTestCase {
    private final class SVGCollector: NSObject, XMLParserDelegate {
        var elements = [String]()
        var groupClasses = [String]()
        var texts = [String]()
        private var current = ""

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            elements.append(name)
            if name == "g", let cls = attributes["class"] { groupClasses.append(cls) }
            current = ""
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { current += string }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            if name == "text" || name == "title" { texts.append(current) }
            current = ""
        }
    }

    private func parse(_ svg: String) throws -> SVGCollector {
        let parser = XMLParser(data: Data(svg.utf8))
        let collector = SVGCollector()
        parser.delegate = collector
        XCTAssertTrue(parser.parse(), "SVG is not well-formed: \(String(describing: parser.parserError))")
        return collector
    }

    private func pairedCones() throws -> (EmbeddingMatrix, EmbeddingMatrix) {
        let images = try cone(40, 8, axis: 0, noiseAxes: [2, 3, 4, 5, 6, 7], spread: 0.5, seed: 21)
        var texts = images.values
        for i in 0..<images.rows { texts[i * 8] = images.values[i * 8 + 1]; texts[i * 8 + 1] = images.values[i * 8] }
        return (images, try EmbeddingMatrix(values: texts, rows: images.rows, dim: 8))
    }

    func testProjectionPicturesAreDeterministicAndWellFormed() throws {
        let (images, texts) = try pairedCones()
        let fastTSNE = TSNEConfig(perplexity: 10, iterations: 150)
        for method in ProjectionMethod.allCases {
            let first = try EmbeddingPictures.projectionScene(images: images, texts: texts, method: method, sample: 30, seed: 5, tsne: fastTSNE)
            let second = try EmbeddingPictures.projectionScene(images: images, texts: texts, method: method, sample: 30, seed: 5, tsne: fastTSNE)
            XCTAssertEqual(first, second, "\(method) picture must not change for a fixed seed")
            let svg = try parse(first.svg())
            XCTAssertEqual(svg.elements.first, "svg")
            XCTAssertEqual(svg.elements.filter { $0 == "circle" }.count, 60 + 2, "30 images, 30 captions, 2 legend marks")
            XCTAssertTrue(svg.groupClasses.contains("legend"))
            XCTAssertTrue(svg.texts.contains(first.title))
            XCTAssertTrue(svg.texts.contains("image") && svg.texts.contains("caption"))
            let axisNames = method == .pca ? ["PC 1", "PC 2"] : ["t-SNE 1", "t-SNE 2"]
            for name in axisNames { XCTAssertTrue(svg.texts.contains(name), "axis label \(name)") }
        }
    }

    func testPCAFindsTheDominantAxis() throws {
        // Large spread along x, small along y: the first component is x (sign fixed positive).
        var rows = [[Float]]()
        for i in 0..<21 { rows.append([Float(i - 10), Float(i % 2 == 0 ? 0.1 : -0.1), 0]) }
        let x = try EmbeddingMatrix(rows: rows)
        let (projection, explained) = try PCA.project(x, seed: 1)
        let meanY = 0.1 / 21 // eleven +0.1 and ten −0.1
        for i in 0..<21 {
            XCTAssertEqual(projection.x[i], Double(i - 10), accuracy: 1e-3)
            XCTAssertEqual(abs(projection.y[i]), abs((i % 2 == 0 ? 0.1 : -0.1) - meanY), accuracy: 1e-4)
        }
        XCTAssertGreaterThan(explained[0], 0.99)
        XCTAssertEqual(try PCA.project(x, seed: 1).projection, try PCA.project(x, seed: 1).projection)
    }

    func testTSNEKeepsClustersApartAndRepeats() throws {
        let a = try cone(15, 6, axis: 0, noiseAxes: [3, 4, 5], spread: 0.1, seed: 1)
        let b = try cone(15, 6, axis: 1, noiseAxes: [3, 4, 5], spread: 0.1, seed: 2)
        let x = try a.stacked(with: b)
        let config = TSNEConfig(perplexity: 5, iterations: 1000, seed: 3)
        let first = try TSNE.project(x, config: config)
        XCTAssertEqual(first, try TSNE.project(x, config: config))
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

    func testCDFAndLinePlotsCarryTitleLegendAndAxisLabels() throws {
        let cdf = try CosineCDFPlot(title: "Paired cosines <CLIP & AlignCLIP>",
                                    curves: [("CLIP", [0.1, 0.3, 0.35, 0.6]), ("AlignCLIP", [0.5, 0.6, 0.8])]).scene()
        let cdfSVG = try parse(cdf.svg())
        XCTAssertTrue(cdfSVG.texts.contains("Paired cosines <CLIP & AlignCLIP>"), "title with escaped characters")
        XCTAssertTrue(cdfSVG.texts.contains("CLIP") && cdfSVG.texts.contains("AlignCLIP"))
        XCTAssertTrue(cdfSVG.texts.contains("paired cosine similarity"))
        XCTAssertEqual(cdfSVG.elements.filter { $0 == "polyline" }.count, 2, "one step curve per arm")

        let plot = LinePlot(title: "Alignment over epochs", xLabel: "epoch", yLabel: "alignment", series: [
            PlotSeries(name: "CLIP", x: [1, 2, 3], y: [0.4, 0.5, 0.55], yError: [0.02, 0.03, 0.01]),
            PlotSeries(name: "SharedCLIP", x: [1, 2, 3], y: [0.5, .nan, 0.7], bandLower: [0.45, 0.5, 0.65], bandUpper: [0.55, 0.7, 0.75]),
        ])
        let lineSVG = try parse(try plot.scene().svg())
        for label in ["Alignment over epochs", "epoch", "alignment", "CLIP", "SharedCLIP"] {
            XCTAssertTrue(lineSVG.texts.contains(label), label)
        }
        XCTAssertTrue(lineSVG.elements.contains("polygon"), "band")
        XCTAssertThrowsError(try LinePlot(title: "bad", xLabel: "x", yLabel: "y",
                                          series: [PlotSeries(name: "s", x: [1, 2], y: [1])]).scene())
    }

    func testPNGRoundTripAndRasterContent() throws {
        var scene = Scene(width: 40, height: 30, title: "raster")
        scene.add(.rectangle(origin: ScenePoint(5, 5), width: 10, height: 10, fill: RGBColor(255, 0, 0), stroke: nil, strokeWidth: 0), role: .data)
        scene.add(.circle(center: ScenePoint(30, 20), radius: 4, fill: RGBColor(0, 0, 255), opacity: 1), role: .data)
        scene.add(.text("A", at: ScenePoint(20, 10), scale: 1, color: .black, anchor: .start, rotated: false), role: .title)
        let image = scene.rasterise()
        XCTAssertEqual(image.pixel(x: 10, y: 10), RGBColor(255, 0, 0))
        XCTAssertEqual(image.pixel(x: 30, y: 20), RGBColor(0, 0, 255))
        XCTAssertEqual(image.pixel(x: 1, y: 28), .white)
        // "A": top row of the glyph is ".###." 7 pixels above the baseline.
        XCTAssertEqual(image.pixel(x: 21, y: 3), .black)
        XCTAssertEqual(image.pixel(x: 20, y: 3), .white)

        let png = try PNGCodec.encode(image)
        XCTAssertEqual(Array(png.prefix(8)), PNGCodec.signature)
        XCTAssertEqual(try PNGCodec.decode(png), image)
        var corrupted = png
        corrupted[20] ^= 0xFF
        XCTAssertThrowsError(try PNGCodec.decode(corrupted))
    }

    func testRunPicturesAreWrittenAsSVGAndPNG() throws {
        let (images, texts) = try pairedCones()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gapeval-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let written = try EmbeddingPictures.writeRunPictures(images: images, texts: texts, folder: folder, sample: 20, seed: 2,
                                                             tsne: TSNEConfig(perplexity: 5, iterations: 100))
        XCTAssertEqual(written.map(\.lastPathComponent).sorted(), [
            "embeddings_pca.png", "embeddings_pca.svg", "embeddings_tsne.png", "embeddings_tsne.svg",
            "paired_cosine_cdf.png", "paired_cosine_cdf.svg",
        ])
        for url in written where url.pathExtension == "png" {
            let image = try PNGCodec.decode(Data(contentsOf: url))
            XCTAssertEqual(image.width, 840)
            XCTAssertEqual(image.height, 600)
        }
        for url in written where url.pathExtension == "svg" {
            _ = try parse(String(contentsOf: url, encoding: .utf8))
        }
    }

    func testFontCoversPrintableASCII() {
        for code in 32...126 {
            let rows = BitmapFont.rows(Character(UnicodeScalar(UInt8(code))))
            let descender = "gjpqy".contains(Character(UnicodeScalar(UInt8(code))))
            XCTAssertEqual(rows.count, descender ? 9 : 7, "glyph \(code)")
            XCTAssertTrue(rows.allSatisfy { $0 < 32 }, "glyph \(code) wider than 5")
            if code > 32 { XCTAssertTrue(rows.contains { $0 != 0 }, "glyph \(code) is blank") }
        }
    }
}
