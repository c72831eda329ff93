import Foundation
import GapSpec
import XCTest
@testable import GapData

final class CSVDatasetTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-csv-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("img"), withIntermediateDirectories: true)
        // Good files of each kind, in a subfolder (paths in the table are relative to the table).
        for i in 0..<12 {
            let colour: (UInt8, UInt8, UInt8) = (UInt8(i * 20), 100, UInt8(255 - i * 20))
            let image = RGBImage(width: 10 + i, height: 8, fill: colour)
            let data: Data
            switch i % 4 {
            case 0: data = try PNGCodec.encode(image)
            case 1: data = try JPEGCodec.encode(image, progressive: true)
            case 2: data = try PNGCodec.encode(indices: [UInt8](repeating: 0, count: 64), width: 8, height: 8, paletteRGBA: [colour.0, colour.1, colour.2, 200], alpha: true)
            default: data = try JPEGCodec.encode(image)
            }
            try data.write(to: folder.appendingPathComponent("img/\(i).\(i % 2 == 1 ? "jpg" : "png")"))
        }
        let png = try PNGCodec.encode(RGBImage(width: 20, height: 20))
        try png.prefix(png.count / 2).write(to: folder.appendingPathComponent("img/truncated.png"))
        try Data("not an image".utf8).write(to: folder.appendingPathComponent("img/text.png"))
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func config(_ table: String, options: String = "") -> DataConfig {
        var c = DataConfig()
        c.dataset = "csv:" + folder.appendingPathComponent(table).path + options
        c.trainSize = 0
        c.valSize = 2
        c.testSize = 2
        return c
    }

    func write(_ name: String, _ text: String) throws { try Data(text.utf8).write(to: folder.appendingPathComponent(name)) }

    func testTabTableWithBadRowsIsReportedByLine() throws {
        var lines = ["filepath\ttitle"]
        for i in 0..<12 { lines.append("img/\(i).\(i % 2 == 1 ? "jpg" : "png")\ta picture number \(i)") }
        lines.append("img/0.png\ta second caption of picture zero")     // line 14: same image, second caption
        lines.append("img/missing.png\ta missing file")                 // 15
        lines.append("img/truncated.png\ta truncated file")             // 16
        lines.append("img/text.png\ta text file")                       // 17
        lines.append("img/3.png\t   ")                                   // 18: empty caption
        lines.append("img/4.png")                                        // 19: missing field
        try write("pairs.tsv", lines.joined(separator: "\n") + "\n")
        let data = try loadDataset(config("pairs.tsv"), imageSize: 8, contextLength: 16, vocabSize: 300, cacheDirectory: nil)
        let total = data.train.imageCount + data.val.imageCount + data.test.imageCount
        XCTAssertEqual(total, 12)
        XCTAssertEqual(data.train.captionCount + data.val.captionCount + data.test.captionCount, 13)
        XCTAssertEqual(data.report.skippedCount, 5)
        let examples = data.report.skippedExamples.joined(separator: "\n")
        for expected in ["line 18: empty caption", "line 19", "line 15", "missing.png", "line 16", "truncated.png"] {
            XCTAssertTrue(examples.contains(expected), "report should mention \(expected):\n\(examples)")
        }
        XCTAssertEqual(data.report.skippedExamples.count, LoadReport.exampleLimit)
        // Strict mode turns the first problem into an error naming its line.
        XCTAssertThrowsError(try loadDataset(config("pairs.tsv", options: "?strict=true"), imageSize: 8, contextLength: 16, vocabSize: 300, cacheDirectory: nil)) { error in
            XCTAssertTrue("\(error)".contains("line 18"), "\(error)")
        }
    }

    func testQuotedCommaSeparatedTableWithLabels() throws {
        let text = """
        id,image,"caption, quoted",label\r
        1,img/0.png,"a ""red"", round thing",cat\r
        2,img/1.jpg,"two lines,
        one caption",dog\r
        3,img/2.png,plain caption,cat\r
        4,img/3.jpg,"another, caption",bird\r
        5,img/4.png,a fifth,dog\r
        6,img/5.jpg,a sixth,cat\r
        """
        try write("pairs.csv", text)
        var c = config("pairs.csv", options: "?sep=,&img_key=image&caption_key=caption,%20quoted&label_key=label")
        c.valSize = 0
        c.testSize = 0
        let data = try loadDataset(c, imageSize: 8, contextLength: 24, vocabSize: 300, cacheDirectory: nil)
        XCTAssertEqual(data.report.skippedCount, 0, data.report.summary)
        let captions = Set(data.train.captions)
        XCTAssertTrue(captions.contains("a \"red\", round thing"))
        XCTAssertTrue(captions.contains("two lines,\none caption"))
        let axis = try XCTUnwrap(data.train.labelAxis(named: "label"))
        XCTAssertEqual(axis.classNames, ["bird", "cat", "dog"])
        XCTAssertEqual(axis.labels.count, 6)
        let catImage = data.train.sourceIDs.firstIndex { $0.hasSuffix("img/2.png") }!
        XCTAssertEqual(axis.classNames[axis.labels[catImage]], "cat")
    }

    func testMissingColumnNamesTheHeaderAndSeparator() throws {
        try write("commas.csv", "filepath,title\nimg/0.png,a caption\n")
        XCTAssertThrowsError(try loadDataset(config("commas.csv"), imageSize: 8, contextLength: 16, vocabSize: 300, cacheDirectory: nil)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("no column \"filepath\""), text)
            XCTAssertTrue(text.contains("tab"), text)
            XCTAssertTrue(text.contains("line 1"), text)
        }
        try write("unclosed.tsv", "filepath\ttitle\nimg/0.png\t\"never closed\n")
        XCTAssertThrowsError(try loadDataset(config("unclosed.tsv"), imageSize: 8, contextLength: 16, vocabSize: 300, cacheDirectory: nil)) { error in
            XCTAssertTrue("\(error)".contains("line 2"), "\(error)")
        }
        XCTAssertThrowsError(try loadDataset(config("absent.tsv"), imageSize: 8, contextLength: 16, vocabSize: 300, cacheDirectory: nil)) { error in
            XCTAssertTrue("\(error)".contains("absent.tsv"), "\(error)")
        }
    }

    func testAbsolutePathsAndCacheInvalidationOnImageChange() throws {
        var lines = ["filepath\ttitle"]
        for i in 0..<8 { lines.append(folder.appendingPathComponent("img/\(i).\(i % 2 == 1 ? "jpg" : "png")").path + "\tpicture \(i)") }
        try write("absolute.tsv", lines.joined(separator: "\n"))
        let cache = folder.appendingPathComponent("cache")
        let a = try loadDataset(config("absolute.tsv"), imageSize: 8, contextLength: 16, vocabSize: 300, cacheDirectory: cache)
        XCTAssertEqual(a.train.imageCount + a.val.imageCount + a.test.imageCount, 8)
        let b = try loadDataset(config("absolute.tsv"), imageSize: 8, contextLength: 16, vocabSize: 300, cacheDirectory: cache)
        XCTAssertTrue(b.report.fromCache)
        // Changing one image's content changes the key.
        try PNGCodec.encode(RGBImage(width: 9, height: 9, fill: (1, 2, 3))).write(to: folder.appendingPathComponent("img/0.png"))
        let c = try loadDataset(config("absolute.tsv"), imageSize: 8, contextLength: 16, vocabSize: 300, cacheDirectory: cache)
        XCTAssertFalse(c.report.fromCache)
        XCTAssertNotEqual(c.report.cacheKey, a.report.cacheKey)
    }

    func testByteOrderMarkAndSemicolons() throws {
        try write("bom.csv", "\u{FEFF}filepath;title\nimg/0.png;first\nimg/1.jpg;second\nimg/2.png;third\n")
        var c = config("bom.csv", options: "?sep=semicolon")
        c.valSize = 0
        c.testSize = 0
        let data = try loadDataset(c, imageSize: 8, contextLength: 16, vocabSize: 300, cacheDirectory: nil)
        XCTAssertEqual(Set(data.train.captions), ["first", "second", "third"])
    }

    func testSeparatorNames() throws {
        XCTAssertEqual(try CSVTable.separator("\\t"), "\t")
        XCTAssertEqual(try CSVTable.separator("comma"), ",")
        XCTAssertEqual(try CSVTable.separator(";"), ";")
        XCTAssertThrowsError(try CSVTable.separator("::"))
    }
}
