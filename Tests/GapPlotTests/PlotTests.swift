import Foundation
import XCTest
#if canImport(FoundationXML)
import FoundationXML
#endif
import GapData
@testable import GapPlot

final class PlotTests: XCTestCase {
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

    /// Renders through librsvg and reads the PNG back with GapData's libpng decoder.
    private func rendered(_ drawing: PlotDrawing) throws -> RGBImage {
        let png = try SVGRenderer.png(svg: drawing.svg(), width: drawing.width, height: drawing.height)
        XCTAssertEqual(Array(png.prefix(8)), PNGCodec.signature)
        return try PNGCodec.decode(png, source: "\(drawing.title).png")
    }

    private func pixel(_ image: RGBImage, _ x: Int, _ y: Int) -> (r: Int, g: Int, b: Int) {
        let i = 3 * (y * image.width + x)
        return (Int(image.pixels[i]), Int(image.pixels[i + 1]), Int(image.pixels[i + 2]))
    }

    private func isWhite(_ p: (r: Int, g: Int, b: Int)) -> Bool { p.r == 255 && p.g == 255 && p.b == 255 }

    /// Pixels in the rectangle darker than mid-grey: text drawn in black leaves many, an empty area none.
    private func darkPixels(_ image: RGBImage, x: Range<Int>, y: Range<Int>) -> Int {
        var count = 0
        for row in y { for column in x { let p = pixel(image, column, row); if p.r + p.g + p.b < 3 * 128 { count += 1 } } }
        return count
    }

    func testLineTextAndLegendAreRenderedWhereTheyAreDrawn() throws {
        let plot = LinePlot(title: "Alignment over steps", xLabel: "step", yLabel: "alignment", series: [
            PlotSeries(name: "CLIP baseline", x: [0, 10], y: [0, 1], showPoints: false),
        ], yRange: 0...1)
        let drawing = try plot.drawing()
        let image = try rendered(drawing)
        XCTAssertEqual(image.width, 840)
        XCTAssertEqual(image.height, 600, "one legend row")

        // The diagonal runs from (plotLeft, plotBottom) to (plotRight, plotTop): sample it at its middle and along it.
        let frame = PlotFrame(xRange: (0, 10), yRange: (0, 1))
        let blue = RGBColor.series(0)
        for t in [0.25, 0.5, 0.75] {
            // The pixel whose centre lies on the line, in the column of x(t).
            let column = Int(frame.px(10 * t))
            let u = (Double(column) + 0.5 - PlotFrame.plotLeft) / (PlotFrame.plotRight - PlotFrame.plotLeft)
            let p = pixel(image, column, Int(frame.py(u)))
            XCTAssertLessThan(abs(p.r - Int(blue.red)) + abs(p.g - Int(blue.green)) + abs(p.b - Int(blue.blue)), 60,
                              "line colour at t=\(t): \(p)")
        }
        // Off the line, between grid lines, the plotting area is background.
        for (x, y) in [(frame.px(7.5) + 30, frame.py(0.25) - 20), (frame.px(2.5) + 20, frame.py(0.75) + 20)] {
            XCTAssertTrue(isWhite(pixel(image, Int(x), Int(y))), "background at \(x), \(y): \(pixel(image, Int(x), Int(y)))")
        }
        // Glyphs in the title band, the x-axis label band and the legend; none in the empty top-left corner.
        XCTAssertGreaterThan(darkPixels(image, x: 300..<540, y: 18..<44), 150, "title")
        XCTAssertGreaterThan(darkPixels(image, x: 400..<510, y: 525..<545), 40, "x-axis label")
        let legendY = Int(PlotFrame.legendTop + PlotFrame.legendRowHeight / 2)
        XCTAssertGreaterThan(darkPixels(image, x: 60..<200, y: (legendY - 8)..<(legendY + 6)), 60, "legend name")
        let mark = pixel(image, Int(PlotFrame.legendLeft + 22), legendY)
        XCTAssertLessThan(abs(mark.r - Int(blue.red)) + abs(mark.b - Int(blue.blue)), 60, "legend mark: \(mark)")
        XCTAssertEqual(darkPixels(image, x: 0..<90, y: 0..<50), 0)
        // Anti-aliasing: the diagonal's edge has pixels between the line colour and white.
        let column = Int(frame.px(5).rounded())
        let partial = (0..<image.height).map { pixel(image, column, $0) }.filter { !isWhite($0) && $0.r > Int(blue.red) + 20 }
        XCTAssertFalse(partial.isEmpty, "edge pixels blend the line into the background")
    }

    func testSmallDrawingRendersToItsSize() throws {
        var drawing = PlotDrawing(width: 60, height: 40, title: "small")
        drawing.add(.line(from: PixelPoint(5, 20), to: PixelPoint(55, 20), color: RGBColor(200, 0, 0), width: 4, opacity: 1), role: .data)
        drawing.add(.text("Gap", at: PixelPoint(5, 12), size: 11, color: .black, anchor: .start, rotated: false), role: .legend)
        let image = try rendered(drawing)
        XCTAssertEqual(image.width, 60)
        XCTAssertEqual(image.height, 40)
        let onLine = pixel(image, 30, 20)
        XCTAssertEqual(onLine.r, 200, accuracy: 2); XCTAssertEqual(onLine.g, 0, accuracy: 2); XCTAssertEqual(onLine.b, 0, accuracy: 2)
        XCTAssertTrue(isWhite(pixel(image, 30, 32)))
        XCTAssertTrue(isWhite(pixel(image, 58, 2)))
        XCTAssertGreaterThan(darkPixels(image, x: 4..<30, y: 2..<14), 10, "the text")
    }

    func testHostileLabelsAreEscapedAndRenderAsText() throws {
        let hostile = "<script>&\"'"
        let plot = LinePlot(title: "title \(hostile)", xLabel: "x \(hostile)", yLabel: "y", series: [
            PlotSeries(name: hostile, x: [1, 2], y: [1, 2]),
            PlotSeries(name: "control \u{1}\u{7} end", x: [1, 2], y: [2, 1]),
        ])
        let drawing = try plot.drawing()
        let svg = drawing.svg()
        XCTAssertFalse(svg.contains("<script"))
        XCTAssertTrue(svg.contains("&lt;script&gt;&amp;&quot;&apos;"))
        XCTAssertFalse(svg.contains("\u{1}") || svg.contains("\u{7}"))
        let parsed = try parse(svg)
        XCTAssertFalse(parsed.elements.contains("script"))
        XCTAssertTrue(parsed.texts.contains(hostile), "legend keeps the label's characters")
        XCTAssertTrue(parsed.texts.contains("title \(hostile)"), "the <title> and the drawn title")
        XCTAssertTrue(parsed.texts.contains("x \(hostile)"))
        XCTAssertTrue(parsed.texts.contains("control \u{FFFD}\u{FFFD} end"))
        XCTAssertEqual(try rendered(drawing).width, 840)
    }

    func testRendererRejectsWhatIsNotSVG() {
        XCTAssertThrowsError(try SVGRenderer.png(svg: "<svg xmlns=\"http://www.w3.org/2000/svg\"", width: 10, height: 10)) { error in
            guard case PlotError.render = error else { return XCTFail("expected a render error, got \(error)") }
        }
        XCTAssertThrowsError(try SVGRenderer.png(svg: "<svg/>", width: 0, height: 10))
    }

    func testCDFAndLinePlotsCarryTitleLegendAndAxisLabels() throws {
        let cdf = try CosineCDFPlot(title: "Paired cosines <CLIP & AlignCLIP>",
                                    curves: [("CLIP", [0.1, 0.3, 0.35, 0.6]), ("AlignCLIP", [0.5, 0.6, 0.8])]).drawing()
        let cdfSVG = try parse(cdf.svg())
        XCTAssertTrue(cdfSVG.texts.contains("Paired cosines <CLIP & AlignCLIP>"), "title with escaped characters")
        XCTAssertTrue(cdfSVG.texts.contains("CLIP") && cdfSVG.texts.contains("AlignCLIP"))
        XCTAssertTrue(cdfSVG.texts.contains("paired cosine similarity"))
        XCTAssertEqual(cdfSVG.elements.filter { $0 == "polyline" }.count, 2, "one step curve per arm")
        XCTAssertTrue(cdfSVG.groupClasses.contains("legend"))

        let plot = LinePlot(title: "Alignment over epochs", xLabel: "epoch", yLabel: "alignment", series: [
            PlotSeries(name: "CLIP", x: [1, 2, 3], y: [0.4, 0.5, 0.55], yError: [0.02, 0.03, 0.01]),
            PlotSeries(name: "SharedCLIP", x: [1, 2, 3], y: [0.5, .nan, 0.7], bandLower: [0.45, 0.5, 0.65], bandUpper: [0.55, 0.7, 0.75]),
        ])
        let lineSVG = try parse(try plot.drawing().svg())
        for label in ["Alignment over epochs", "epoch", "alignment", "CLIP", "SharedCLIP"] {
            XCTAssertTrue(lineSVG.texts.contains(label), label)
        }
        XCTAssertTrue(lineSVG.elements.contains("polygon"), "band")
        XCTAssertThrowsError(try LinePlot(title: "bad", xLabel: "x", yLabel: "y",
                                          series: [PlotSeries(name: "s", x: [1, 2], y: [1])]).drawing())
    }

    func testScatterJoinsPairsUnderThePoints() throws {
        let plot = ScatterPlot(title: "pairs", xLabel: "PC 1", yLabel: "PC 2", groups: [
            ScatterPlot.Group(name: "image", x: [0, 1, 2], y: [0, 1, 0], color: .series(0)),
            ScatterPlot.Group(name: "caption", x: [0, 1, 2], y: [1, 2, 1], color: .series(1)),
        ], pairing: ScatterPlot.Pairing(name: "pair", first: 0, second: 1))
        let drawing = try plot.drawing()
        let data = drawing.items.filter { $0.role == .data }.map(\.primitive)
        XCTAssertEqual(data.count, 3 + 6)
        XCTAssertTrue(data.prefix(3).allSatisfy { if case .line = $0 { return true } else { return false } }, "pair lines first")
        XCTAssertTrue(data.suffix(6).allSatisfy { if case .circle = $0 { return true } else { return false } })
        let svg = try parse(drawing.svg())
        for label in ["pairs", "PC 1", "PC 2", "image", "caption", "pair"] { XCTAssertTrue(svg.texts.contains(label), label) }
        var unequal = plot
        unequal.groups[1].x.removeLast()
        unequal.groups[1].y.removeLast()
        XCTAssertThrowsError(try unequal.drawing())
    }

    func testLegendGivesLongNamesTheWidthAndCutsOnlyWhatCannotFit() throws {
        let long = "imsep_modality=image, imsep_rescale=semantic, semantic_encoder=labels"
        let endless = String(repeating: "very long arm name ", count: 20)
        let plot = LinePlot(title: "t", xLabel: "x", yLabel: "y", series: [
            PlotSeries(name: long, x: [0, 1], y: [0, 1]),
            PlotSeries(name: endless, x: [0, 1], y: [1, 0]),
        ])
        let drawing = try plot.drawing()
        let legendTexts = drawing.items.filter { $0.role == .legend }.compactMap { item -> String? in
            if case let .text(text, _, _, _, _, _) = item.primitive { return text }
            return nil
        }
        XCTAssertEqual(legendTexts.first, long, "kept whole")
        XCTAssertTrue(legendTexts[1].hasSuffix("…") && endless.hasPrefix(String(legendTexts[1].dropLast())))
        XCTAssertEqual(drawing.height, 600 + 24, "one row per long name")

        let short = (0..<6).map { PlotSeries(name: "arm \($0)", x: [0, 1], y: [0, 1]) }
        XCTAssertEqual(try LinePlot(title: "t", xLabel: "x", yLabel: "y", series: short).drawing().height, 600, "short names share a row")
    }

    func testWriteProducesTheSVGAndItsRendering() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gapplot-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let drawing = try LinePlot(title: "written", xLabel: "x", yLabel: "y", series: [PlotSeries(name: "s", x: [0, 1], y: [0, 1])]).drawing()
        let urls = try drawing.write(to: folder.appendingPathComponent("figures/curve"))
        XCTAssertEqual(try String(contentsOf: urls.svg, encoding: .utf8), drawing.svg())
        let image = try PNGCodec.decode(Data(contentsOf: urls.png), source: urls.png.path)
        XCTAssertEqual(image, try rendered(drawing), "the PNG is the rendering of the SVG beside it")
    }
}
