import XCTest
@testable import GapSpec

final class RunConfigResolverTests: XCTestCase {
    private func issues(_ text: String, file: String = "run.json") -> [ConfigIssue] {
        do {
            let doc = try JSONParser.parse(text, file: file)
            _ = try RunConfigResolver.resolve(doc.value, source: SourceRef(doc))
            XCTFail("accepted \(text)")
            return []
        } catch let error as ConfigIssues {
            return error.issues
        } catch {
            XCTFail("unexpected error \(error)")
            return []
        }
    }

    func testEmptyObjectResolvesToDefaults() throws {
        XCTAssertEqual(try RunConfigResolver.resolve(.object([])), RunConfig())
    }

    func testPartialConfigIsMergedOverDefaults() throws {
        let config = try RunConfigResolver.resolve(["train": ["lr": 0.0005], "model": ["sharing": ["depth": 2]]])
        var expected = RunConfig()
        expected.train.lr = 0.0005
        expected.model.sharing.depth = 2
        XCTAssertEqual(config, expected)
    }

    func testSchemaKnowsIntegersFromNumbers() {
        XCTAssertEqual(ConfigSchema.runConfig.descendant(["train", "epochs"]), .integer)
        XCTAssertEqual(ConfigSchema.runConfig.descendant(["train", "lr"]), .number)
        XCTAssertEqual(ConfigSchema.runConfig.descendant(["loss", "clip_weight"]), .number)
        XCTAssertEqual(ConfigSchema.runConfig.descendant(["eval", "retrieval_k"]), .array(.integer))
        XCTAssertEqual(ConfigSchema.runConfig.descendant(["eval", "posthoc_shift"]), .array(.number))
        XCTAssertEqual(ConfigSchema.runConfig.descendant(["model", "vision_cfg", "heads"]), .integer)
        XCTAssertEqual(ConfigSchema.runConfig.descendant(["model", "vision_cfg", "head_width"]), .integer)
    }

    func testUnknownKeyWithSuggestionAndPath() {
        let found = issues(#"{"train": {"lr_sheduler": "cosine"}, "modle": {}}"#)
        XCTAssertEqual(found.count, 2)
        XCTAssertEqual(found[0].path, "train.lr_sheduler")
        XCTAssertEqual(found[0].file, "run.json")
        XCTAssertTrue(found[0].message.hasPrefix(#"unknown key "lr_sheduler"; did you mean "lr_scheduler"?"#), found[0].message)
        XCTAssertTrue(found[0].message.hasSuffix("(line 1, column 12)"), found[0].message)
        XCTAssertEqual(found[1].path, "modle")
        XCTAssertTrue(found[1].message.contains(#"did you mean "model"?"#))
    }

    func testKeyInTheWrongSectionNamesItsFullPath() {
        let found = issues(#"{"batch_size": 64}"#)
        XCTAssertEqual(found.map(\.path), ["batch_size"])
        XCTAssertTrue(found[0].message.contains(#"did you mean "train.batch_size" or "finetune.batch_size"?"#), found[0].message)
    }

    func testTypeMismatchesNameExpectedAndFound() {
        let found = issues(#"{"train": {"epochs": 2.5, "lr": "fast", "learn_logit_scale": 1}, "eval": {"retrieval_k": [1, "5"]}, "model": {"text_cfg": []}}"#)
        let byPath = Dictionary(found.map { ($0.path, $0.message) }, uniquingKeysWith: { a, _ in a })
        XCTAssertTrue(byPath["train.epochs"]?.hasPrefix("expected an integer, found a number (2.5)") ?? false)
        XCTAssertTrue(byPath["train.lr"]?.hasPrefix(#"expected a number, found a string ("fast")"#) ?? false)
        XCTAssertTrue(byPath["train.learn_logit_scale"]?.hasPrefix("expected a boolean, found an integer (1)") ?? false)
        XCTAssertTrue(byPath["eval.retrieval_k[1]"]?.hasPrefix(#"expected an integer, found a string ("5")"#) ?? false)
        XCTAssertTrue(byPath["model.text_cfg"]?.hasPrefix("expected an object, found an empty array") ?? false)
        XCTAssertEqual(found.count, 5)
    }

    func testIntegralNumberIsAcceptedForAnIntegerField() throws {
        XCTAssertEqual(try RunConfigResolver.resolve(["train": ["epochs": 3.0]]).train.epochs, 3)
    }

    func testRangeIssuesAreCollectedTogether() {
        let found = issues(#"{"train": {"epochs": 0, "batch_size": 1, "beta1": 1, "lr_scheduler": "linear"}, "loss": {"cross_reduction": "avg", "imsep_weight": -1}, "data": {"dataset": "mnist"}, "runtime": {"threads": 0}}"#)
        XCTAssertEqual(Set(found.map(\.path)), ["train.epochs", "train.batch_size", "train.beta1", "train.lr_scheduler", "loss.cross_reduction",
                                                "loss.imsep_weight", "data.dataset", "runtime.threads"])
        XCTAssertTrue(found.allSatisfy { $0.file == "run.json" })
        XCTAssertTrue(found.first { $0.path == "train.lr_scheduler" }!.message.contains(#"expected one of "cosine", "const", got "linear""#))
    }

    func testDatasetNames() throws {
        let table = try temporaryDirectory().appendingPathComponent("pairs.csv")
        XCTAssertTrue(FileManager.default.createFile(atPath: table.path, contents: Data()))
        var data = DataConfig()
        for name in ["scenes", "fashion-mnist", "emoji", "digits", "csv:" + table.path] {
            data.dataset = name
            XCTAssertEqual(data.issues(), [], name)
        }
        data.dataset = "csv:"
        XCTAssertEqual(data.issues().map(\.path), ["data.dataset"])
        data.dataset = "emoij"
        XCTAssertTrue(data.issues()[0].message.contains(#"did you mean "emoji"?"#))
    }

    func testImpossibleSharingIsNamed() {
        let found = issues(#"{"model": {"text_cfg": {"width": 64}, "sharing": {"depth": 2}}}"#)
        XCTAssertEqual(found.map(\.path), ["model.sharing"])
        XCTAssertTrue(found[0].message.contains("needs equal widths"))
    }

    func testVisionHeadsMayReplaceHeadWidthButNotBoth() throws {
        let config = try RunConfigResolver.resolve(["model": ["vision_cfg": ["heads": 4]]])
        XCTAssertEqual(config.model.vision.heads, 4)
        XCTAssertNil(config.model.vision.headWidth)
        let found = issues(#"{"model": {"vision_cfg": {"heads": 4, "head_width": 32}}}"#)
        XCTAssertEqual(found.map(\.path), ["model.vision_cfg.heads"])
    }

    func testRootMustBeAnObject() {
        let found = issues("[1]")
        XCTAssertEqual(found.count, 1)
        XCTAssertTrue(found[0].message.hasPrefix("expected an object, found an array"))
    }

    func testLoadFromFile() throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("c.json").path
        try #"{"seed": 4, "train": {"epochs": 1}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        let config = try RunConfigResolver.load(contentsOfFile: path)
        XCTAssertEqual(config.seed, 4)
        XCTAssertEqual(config.train.epochs, 1)
        XCTAssertThrowsError(try RunConfigResolver.load(contentsOfFile: dir.appendingPathComponent("missing.json").path)) { error in
            XCTAssertTrue((error as? ConfigIssues)?.description.contains("no such file") ?? false)
        }
    }
}

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("gapspec-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
