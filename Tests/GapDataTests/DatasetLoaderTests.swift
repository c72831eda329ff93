import Foundation
import GapRandom
import GapSpec
import XCTest
@testable import GapData

final class DatasetLoaderTests: XCTestCase {
    func scenesConfig(train: Int = 60, seed: Int = 0) -> DataConfig {
        var c = DataConfig()
        c.dataset = "scenes"
        c.trainSize = train
        c.valSize = 10
        c.testSize = 12
        c.splitSeed = seed
        return c
    }

    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func testScenesLoadWithAllSplitsTokenised() throws {
        let data = try loadDataset(scenesConfig(), imageSize: 32, contextLength: 32, vocabSize: 512, cacheDirectory: nil)
        XCTAssertEqual(data.train.imageCount, 60)
        XCTAssertEqual(data.val.imageCount, 10)
        XCTAssertEqual(data.test.imageCount, 12)
        XCTAssertEqual(data.extraSplits.map { $0.name }, ["test_held_out", "test_shifted", "test_swapped"])
        XCTAssertEqual(data.report.splitSizes["test_shifted"], 12)
        XCTAssertTrue(Set(data.val.sourceIDs).isDisjoint(with: data.test.sourceIDs), "val and test are different scenes")
        XCTAssertNotEqual(data.val.pixels, Array(data.test.pixels.prefix(data.val.pixels.count)))
        for split in data.allSplits {
            XCTAssertEqual(split.contextLength, 32)
            XCTAssertEqual(split.captionImage.count, split.captionCount)
            XCTAssertEqual(split.labelAxes.map { $0.name }, ["shape", "colour", "shape_colour", "count"])
            XCTAssertTrue(split.labelAxes.allSatisfy { $0.labels.count == split.imageCount })
        }
        var rows = [Int32](repeating: -1, count: 3 * 32)
        data.train.writeTokens([5, 0, 7], into: &rows)
        XCTAssertEqual(Array(rows[0..<32]), data.tokenizer.encode(data.train.captions[5], contextLength: 32))
        XCTAssertEqual(Array(rows[64..<96]), data.tokenizer.encode(data.train.captions[7], contextLength: 32))
        XCTAssertEqual(data.tokenizer.vocabSize, 512)
        let colour = data.train.labelAxis(named: "colour")!
        let prompts = colour.promptTokens(data.tokenizer, contextLength: 32)
        XCTAssertEqual(prompts.count, 8 * colour.templates.count * 32)
        XCTAssertEqual(Array(prompts[32..<64]), data.tokenizer.encode(colour.prompts(forClass: 0)[1], contextLength: 32))
        XCTAssertEqual(data.tokenizer.decode(Array(prompts[0..<32])), "the red shape.")
        var rng = SeededRandom(seed: 9)
        let picked = data.train.sampleCaptions(forImages: 0..<60, rng: &rng)
        XCTAssertEqual(picked.map { data.train.captionImage[$0] }, Array(0..<60))
        XCTAssertGreaterThan(Set(picked.map { $0 - data.train.imageCaptionStart[data.train.captionImage[$0]] }).count, 1)
    }

    func testImageBatchIsCLIPNormalisedCHW() throws {
        let data = try loadDataset(scenesConfig(train: 8), imageSize: 16, contextLength: 16, vocabSize: 300, cacheDirectory: nil)
        let split = data.train
        var batch = [Float](repeating: .nan, count: 2 * 3 * 16 * 16)
        split.writeImages([3, 1], size: 16, into: &batch)
        let image = split.image(1)
        let plane = 16 * 16
        for p in [0, 17, 255] {
            for c in 0..<3 {
                let expected = (Float(image.pixels[3 * p + c]) / 255 - CLIPNormalisation.mean[c]) / CLIPNormalisation.std[c]
                XCTAssertEqual(batch[3 * plane + c * plane + p], expected, accuracy: 1e-5)
            }
        }
        // Resizing to a larger model input keeps the image (a flat region stays flat, values stay in range).
        var large = [Float](repeating: .nan, count: 3 * 24 * 24)
        split.writeImages([1], size: 24, into: &large)
        XCTAssertFalse(large.contains { $0.isNaN })
        XCTAssertTrue(large.allSatisfy { $0 > -2 && $0 < 2.2 })
    }

    func testAugmentationIsSeededAndStaysClose() throws {
        let data = try loadDataset(scenesConfig(train: 8), imageSize: 32, contextLength: 16, vocabSize: 300, cacheDirectory: nil)
        var plain = [Float](repeating: 0, count: 4 * 3 * 32 * 32)
        var a = plain, b = plain
        data.train.writeImages(0..<4, size: 32, into: &plain)
        var rngA = SeededRandom(seed: 42), rngB = SeededRandom(seed: 42)
        data.train.writeImages(0..<4, size: 32, into: &a, augmentingWith: &rngA)
        data.train.writeImages(0..<4, size: 32, into: &b, augmentingWith: &rngB)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, plain)
        for _ in 0..<200 {
            let crop = RandomResizedCrop().sample(width: 32, height: 32, rng: &rngA)
            let scale = crop.width * crop.height / 1024
            XCTAssertTrue(scale >= 0.9 - 1e-9 && scale <= 1.0 + 1e-9, "scale \(scale)")
            XCTAssertTrue(crop.x >= 0 && crop.y >= 0 && crop.x + crop.width <= 32 + 1e-9 && crop.y + crop.height <= 32 + 1e-9)
        }
    }

    func testSplitsAreDeterministicBySeed() {
        let a = SplitPlan.make(count: 500, trainSize: 0, valSize: 50, testSize: 100, seed: 3)
        let b = SplitPlan.make(count: 500, trainSize: 0, valSize: 50, testSize: 100, seed: 3)
        let c = SplitPlan.make(count: 500, trainSize: 0, valSize: 50, testSize: 100, seed: 4)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a.test, c.test)
        XCTAssertEqual(Set(a.train + a.val + a.test).count, 500, "splits are disjoint and cover everything")
        XCTAssertEqual(a.test.count, 100)
        let capped = SplitPlan.make(count: 100, trainSize: 1000, valSize: 50, testSize: 50, seed: 0)
        XCTAssertEqual(capped.test.count, 20)
        XCTAssertEqual(capped.val.count, 10)
        XCTAssertEqual(capped.train.count, 70)
        XCTAssertFalse(capped.notes.isEmpty)
    }

    func testCacheServesIdenticalDataAndInvalidatesOnChange() throws {
        let cache = try temporaryDirectory()
        let first = try loadDataset(scenesConfig(train: 20), imageSize: 16, contextLength: 16, vocabSize: 300, cacheDirectory: cache)
        XCTAssertFalse(first.report.fromCache)
        let second = try loadDataset(scenesConfig(train: 20), imageSize: 16, contextLength: 16, vocabSize: 300, cacheDirectory: cache)
        XCTAssertTrue(second.report.fromCache)
        XCTAssertEqual(first.report.cacheKey, second.report.cacheKey)
        for (x, y) in zip(first.allSplits, second.allSplits) {
            XCTAssertEqual(x.pixels, y.pixels)
            XCTAssertEqual(x.captions, y.captions)
            XCTAssertEqual(x.tokens, y.tokens)
            XCTAssertEqual(x.labelAxes, y.labelAxes)
        }
        // A preprocessing setting, a split setting and the seed each change the key.
        let otherSize = try loadDataset(scenesConfig(train: 20), imageSize: 20, contextLength: 16, vocabSize: 300, cacheDirectory: cache)
        XCTAssertFalse(otherSize.report.fromCache)
        let otherSeed = try loadDataset(scenesConfig(train: 20, seed: 1), imageSize: 16, contextLength: 16, vocabSize: 300, cacheDirectory: cache)
        XCTAssertFalse(otherSeed.report.fromCache)
        XCTAssertEqual(first.report.splitDigests, second.report.splitDigests)
        XCTAssertEqual(first.report.splitDigests.count, 6)
        XCTAssertNotEqual(otherSeed.train.pixels, first.train.pixels)
        // A damaged cache file is a miss, not a crash.
        let file = DatasetCache.fileURL(directory: cache, key: first.report.cacheKey!)
        try Data("GAPDATA1garbage".utf8).write(to: file)
        let repaired = try loadDataset(scenesConfig(train: 20), imageSize: 16, contextLength: 16, vocabSize: 300, cacheDirectory: cache)
        XCTAssertFalse(repaired.report.fromCache)
        XCTAssertEqual(repaired.train.pixels, first.train.pixels)
    }

    func testDescriptionCoversEverySplit() throws {
        let data = try loadDataset(scenesConfig(train: 30), imageSize: 16, contextLength: 24, vocabSize: 300, cacheDirectory: nil)
        let text = DatasetDescription.describe(data, contextLength: 24)
        for split in ["[train] 30 images, 120 captions", "[val] 10 images", "[test] 12 images", "[test_held_out]", "[test_shifted]"] {
            XCTAssertTrue(text.contains(split), "missing \(split) in\n\(text)")
        }
        XCTAssertTrue(text.contains("axis shape_colour: 64 classes"))
        XCTAssertTrue(text.contains("skipped: 0"))
    }

    func testUnknownDatasetAndOptionsAreClearErrors() {
        var c = scenesConfig()
        c.dataset = "cifar"
        XCTAssertThrowsError(try loadDataset(c, imageSize: 32, contextLength: 16, vocabSize: 300, cacheDirectory: nil)) { error in
            XCTAssertTrue("\(error)".contains("unknown dataset \"cifar\""), "\(error)")
        }
        c.dataset = "scenes?captons=3"
        XCTAssertThrowsError(try loadDataset(c, imageSize: 32, contextLength: 16, vocabSize: 300, cacheDirectory: nil)) { error in
            XCTAssertTrue("\(error)".contains("captons"), "\(error)")
        }
        XCTAssertEqual(try DatasetSpec.parse("csv:/a/b.tsv?sep=,&label_key=y"),
                       DatasetSpec(name: "csv", argument: "/a/b.tsv", options: ["sep": ",", "label_key": "y"]))
        // The loader checks a named file before any source opens it, with the message validation gives.
        c.dataset = "scenes?bpe=/no/such/vocab.txt.gz"
        XCTAssertThrowsError(try loadDataset(c, imageSize: 32, contextLength: 16, vocabSize: 300, cacheDirectory: nil)) { error in
            XCTAssertEqual("\(error)", #"data.dataset "scenes?bpe=/no/such/vocab.txt.gz": option "bpe" of "scenes": no such file "/no/such/vocab.txt.gz""#)
        }
    }

    /// The catalog in GapSpec names the fit modes; GapData's enum must have exactly those.
    func testCatalogFitModesAreTheResamplersModes() {
        XCTAssertEqual(DatasetCatalog.fitModes, FitMode.allCases.map(\.rawValue))
        for mode in DatasetCatalog.fitModes {
            var c = scenesConfig()
            c.dataset = "scenes?fit=\(mode)"
            XCTAssertNoThrow(try loadDataset(c, imageSize: 16, contextLength: 16, vocabSize: 300, cacheDirectory: nil), mode)
        }
    }
}
