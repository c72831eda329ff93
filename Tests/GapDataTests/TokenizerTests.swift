import Foundation
import GapSpec
import XCTest
@testable import GapData

final class TokenizerTests: XCTestCase {
    let corpus = SceneGenerator(seed: 0).makeSplit(name: "train", variant: .train, count: 300).captions

    func testRoundTripAndCleanUp() throws {
        let tokenizer = try Tokenizer.train(on: corpus, vocabSize: 512)
        for text in corpus.prefix(50) + ["A  Red\tCIRCLE   left of a zebra!", "naïve café — 42 ✓", "x"] {
            let row = tokenizer.encode(text, contextLength: 77)
            XCTAssertEqual(tokenizer.decode(row), Tokenizer.clean(text))
        }
        XCTAssertEqual(Tokenizer.clean("  Two\n RED  circles "), "two red circles")
    }

    func testSpecialTokensAndPadding() throws {
        let tokenizer = try Tokenizer.train(on: corpus, vocabSize: 1024)
        XCTAssertEqual(tokenizer.eotToken, 1023)
        XCTAssertEqual(tokenizer.sotToken, 1022)
        let row = tokenizer.encode("a red circle", contextLength: 16)
        XCTAssertEqual(row.count, 16)
        XCTAssertEqual(row[0], 1022)
        let eot = row.firstIndex(of: 1023)!
        XCTAssertEqual(row.max(), 1023, "eot has the largest id, so argmax pooling finds it")
        XCTAssertTrue(row[(eot + 1)...].allSatisfy { $0 == 0 })
        XCTAssertTrue(row[1..<eot].allSatisfy { $0 > 0 && $0 < 1022 })
    }

    func testTruncationKeepsEot() throws {
        let tokenizer = try Tokenizer.train(on: corpus, vocabSize: 512)
        let long = Array(repeating: "a small striped red circle left of a blue square", count: 10).joined(separator: " ")
        let row = tokenizer.encode(long, contextLength: 12)
        XCTAssertEqual(row.count, 12)
        XCTAssertEqual(row[0], tokenizer.sotToken)
        XCTAssertEqual(row[11], tokenizer.eotToken)
        XCTAssertFalse(row.contains(0))
    }

    func testTrainingIsDeterministicAndLearnsWords() throws {
        let a = try Tokenizer.train(on: corpus, vocabSize: 700)
        let b = try Tokenizer.train(on: corpus.reversed(), vocabSize: 700)
        XCTAssertEqual(a.merges.map { $0.0 + " " + $0.1 }, b.merges.map { $0.0 + " " + $0.1 }, "caption order must not matter")
        XCTAssertEqual(try a.jsonData(), try b.jsonData())
        // Frequent words become one token each (leading space included).
        XCTAssertEqual(a.tokens("a red circle").count, 3)
    }

    func testSaveAndLoad() throws {
        let tokenizer = try Tokenizer.train(on: corpus, vocabSize: 600)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-tok-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try tokenizer.save(to: url)
        let loaded = try Tokenizer.load(from: url)
        for text in corpus.prefix(30) { XCTAssertEqual(loaded.encode(text, contextLength: 32), tokenizer.encode(text, contextLength: 32)) }
        XCTAssertThrowsError(try Tokenizer.load(json: Data("{\"merges\": 3}".utf8)))
    }

    func testRejectsTinyVocabulary() {
        XCTAssertThrowsError(try Tokenizer.train(on: corpus, vocabSize: 100))
    }

    /// Ids from open_clip's own SimpleTokenizer on the real merges file (computed with open_clip 3.3.0).
    func testRealOpenCLIPVocabularyMatchesReferenceIds() throws {
        let url = DataPaths.openCLIPVocabulary
        guard FileManager.default.fileExists(atPath: url.path) else { throw XCTSkip("open_clip vocabulary not at \(url.path); run `make data`") }
        let tokenizer = try Tokenizer.loadOpenCLIPVocabulary(url)
        let reference: [(String, [Int32])] = [
            ("a photo of a cat.", [320, 1125, 539, 320, 2368, 269]),
            ("A  Diagram", [320, 22697]),
            ("two red circles left of a small blue square", [1237, 736, 19411, 1823, 539, 320, 2442, 1746, 3999]),
            ("grinning face with big eyes", [709, 4415, 1710, 593, 1205, 3095]),
            ("it's 42 o'clock!!", [585, 568, 275, 273, 334, 262, 6716, 748]),
            ("naïve café", [1097, 35689, 563, 15304]),
        ]
        for (text, ids) in reference {
            XCTAssertEqual(tokenizer.encode(text, contextLength: 77), [49406] + ids + [49407] + [Int32](repeating: 0, count: 75 - ids.count), text)
        }
        // open_clip's decoding puts a space after every word-final token.
        XCTAssertEqual(tokenizer.decode(tokenizer.encode("a photo of a cat.", contextLength: 77)), "a photo of a cat .")
        XCTAssertEqual(tokenizer.decode(tokenizer.encode("naïve  Café", contextLength: 77)), "naïve café")
        // Through the loader: the vocabulary follows the file.
        var config = DataConfig()
        config.dataset = "scenes?bpe=" + url.path
        config.trainSize = 10
        config.valSize = 2
        config.testSize = 2
        let data = try loadDataset(config, imageSize: 16, contextLength: 20, vocabSize: 1024, cacheDirectory: nil)
        XCTAssertEqual(data.tokenizer.vocabSize, 49408)
        XCTAssertTrue(data.report.tokenizer.hasPrefix("openclip"))
        XCTAssertEqual(data.train.tokenRow(0).first, 49406)
    }

    /// open_clip's file layout (header line, then merges) in miniature: the full file needs 48,894 merges, so this
    /// writes them synthetically and checks ids against open_clip's rules.
    func testOpenCLIPVocabularyLayout() throws {
        var lines = ["\"bpe_simple_vocab_16e6.txt#version: 0.2"]
        lines.append("r e")
        lines.append("c i")
        lines.append("ci r")
        lines.append("cir c")
        lines.append("l e</w>")
        lines.append("circ le</w>")
        let symbols = ByteAlphabet.symbols
        var k = 0
        while lines.count < 1 + 48894 {
            lines.append("\(symbols[k % 256])\(k) \(symbols[(k / 256) % 256])x\(k)")
            k += 1
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-bpe-\(UUID().uuidString).txt.gz")
        defer { try? FileManager.default.removeItem(at: url) }
        try Gzip.compress(Data(lines.joined(separator: "\n").utf8)).write(to: url)
        let tokenizer = try Tokenizer.loadOpenCLIPVocabulary(url)
        XCTAssertEqual(tokenizer.vocabSize, 49408)
        XCTAssertEqual(tokenizer.sotToken, 49406)
        XCTAssertEqual(tokenizer.eotToken, 49407)
        // "circle" merges to one token: 512 + rank of "circ le</w>" (5).
        XCTAssertEqual(tokenizer.tokens("Circle"), [512 + 5])
        // The merge "r e" does not apply to a word-final "e</w>".
        // open_clip's ids: "r" is byte 114, the 82nd printable symbol (id 81); "e</w>" is 256 + 68.
        XCTAssertEqual(tokenizer.tokens("re"), [81, 256 + 68])
        XCTAssertEqual(tokenizer.decode(tokenizer.encode("a circle", contextLength: 10)), "a circle")
    }
}
