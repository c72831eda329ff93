import Foundation
import XCTest
@testable import GapSpec

final class ConfigChoiceTests: XCTestCase {
    private func issues(_ text: String) -> [ConfigIssue] {
        do {
            _ = try RunConfigResolver.resolve(JSONParser.parse(text).value, source: SourceRef(file: "run.json"))
            return []
        } catch let error as ConfigIssues {
            return error.issues
        } catch {
            XCTFail("unexpected error \(error)")
            return []
        }
    }

    private func quoted(_ values: [String]) -> String { values.map { "\"\($0)\"" }.joined(separator: ", ") }

    func testAWrongValueListsTheCasesOfItsEnumAndTheNearestOne() {
        let cases: [(key: String, value: String, valid: [String], near: String)] = [
            ("train.lr_scheduler", "cosin", LRScheduler.allCases.map(\.rawValue), "cosine"),
            ("finetune.lr_scheduler", "konst", LRScheduler.allCases.map(\.rawValue), "const"),
            ("loss.cross_reduction", "sun", CrossReduction.allCases.map(\.rawValue), "sum"),
            ("loss.imsep_modality", "imag", IMSepModality.allCases.map(\.rawValue), "image"),
            ("loss.imsep_rescale", "holow", IMSepRescale.allCases.map(\.rawValue), "hollow"),
            ("loss.semantic_encoder", "tfdif", SemanticEncoderName.validValues, "tfidf"),
            ("eval.split", "tset", EvalSplit.allCases.map(\.rawValue), "test"),
        ]
        for c in cases {
            let keys = c.key.split(separator: ".").map(String.init)
            let found = issues(#"{"\#(keys[0])": {"\#(keys[1])": "\#(c.value)"}}"#)
            XCTAssertEqual(found.map(\.path), [c.key])
            let expected = #"expected one of \#(quoted(c.valid)), got "\#(c.value)"; did you mean "\#(c.near)"?"#
            XCTAssertTrue(found.first?.message.hasPrefix(expected) ?? false, "\(found)")
        }
    }

    func testTheValidValuesAreTheEnumCases() {
        XCTAssertEqual(LRScheduler.validValues, ["cosine", "const"])
        XCTAssertEqual(CrossReduction.validValues, ["sum", "mean"])
        XCTAssertEqual(IMSepModality.validValues, ["image", "text", "both"])
        XCTAssertEqual(IMSepRescale.validValues, ["semantic", "hollow"])
        XCTAssertEqual(EvalSplit.validValues, ["val", "test"])
        XCTAssertEqual(SemanticEncoderName.validValues, ["tfidf", "labels", "labels:AXIS", "minilm"])
    }

    func testAFarValueGetsNoSuggestion() {
        let found = issues(#"{"train": {"lr_scheduler": "polynomial"}}"#)
        XCTAssertEqual(found.map(\.path), ["train.lr_scheduler"])
        XCTAssertEqual(found[0].message, #"expected one of "cosine", "const", got "polynomial""#)
    }

    func testTheSchemaKnowsEachChoice() {
        let schema = ConfigSchema.runConfig
        XCTAssertEqual(schema.descendant(["train", "lr_scheduler"]), .choice(ChoiceValues(LRScheduler.self)))
        XCTAssertEqual(schema.descendant(["finetune", "lr_scheduler"]), .choice(ChoiceValues(LRScheduler.self)))
        XCTAssertEqual(schema.descendant(["loss", "cross_reduction"]), .choice(ChoiceValues(CrossReduction.self)))
        XCTAssertEqual(schema.descendant(["loss", "semantic_encoder"]), .choice(ChoiceValues(SemanticEncoderName.self)))
        XCTAssertEqual(schema.descendant(["eval", "split"]), .choice(ChoiceValues(EvalSplit.self)))
        XCTAssertNotEqual(schema.descendant(["eval", "split"]), .choice(ChoiceValues(LRScheduler.self)))
        XCTAssertEqual(schema.descendant(["data", "dataset"]), .string)
    }

    func testANonStringChoiceIsATypeIssue() {
        let found = issues(#"{"loss": {"imsep_modality": 2}}"#)
        XCTAssertEqual(found.map(\.path), ["loss.imsep_modality"])
        XCTAssertTrue(found[0].message.hasPrefix(#"expected one of "image", "text", "both", found an integer (2)"#), found[0].message)
    }

    func testLabelsTakeAnAxisAndKeepTheirSpelling() throws {
        for (text, value) in [("labels", SemanticEncoderName.labels(axis: nil)), ("labels:colour", .labels(axis: "colour")),
                              ("tfidf", .tfidf), ("minilm", .minilm)] {
            let config = try RunConfigResolver.resolve(["loss": ["semantic_encoder": .string(text)]])
            XCTAssertEqual(config.loss.semanticEncoder, value)
            XCTAssertEqual(try RunConfigResolver.json(of: config)["loss"]?["semantic_encoder"], .string(text))
        }
        XCTAssertNil(SemanticEncoderName(rawValue: "labels:"))
        XCTAssertEqual(issues(#"{"loss": {"semantic_encoder": "labels:"}}"#).map(\.path), ["loss.semantic_encoder"])
    }

    func testChoicesEncodeAsTheirStrings() throws {
        var config = RunConfig()
        config.train.lrScheduler = .const
        config.loss.crossReduction = .mean
        config.eval.split = .val
        let json = try RunConfigResolver.json(of: config)
        XCTAssertEqual(json["train"]?["lr_scheduler"], "const")
        XCTAssertEqual(json["loss"]?["cross_reduction"], "mean")
        XCTAssertEqual(json["eval"]?["split"], "val")
        XCTAssertEqual(try json.decode(RunConfig.self), config)
    }

    func testDecodingAnUnknownValueGivesTheSameMessage() {
        XCTAssertThrowsError(try JSONDecoder().decode([LRScheduler].self, from: Data(#"["linear"]"#.utf8))) { error in
            guard case DecodingError.dataCorrupted(let context) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(context.debugDescription, LRScheduler.unknownValueMessage("linear"))
        }
        XCTAssertEqual(LRScheduler.unknownValueMessage("linear"), #"expected one of "cosine", "const", got "linear""#)
    }

    func testCommandLineAndExperimentValuesAreChecked() {
        let experiment = #"{"name": "e", "variants": [{"name": "a", "overrides": {"loss.imsep_rescale": "hollw"}}]}"#
        XCTAssertThrowsError(try ExperimentPlanner.plan(text: experiment, file: "e.json")) { error in
            let found = (error as? ConfigIssues)?.issues ?? []
            XCTAssertEqual(found.count, 1)
            XCTAssertTrue(found.first?.message.contains(#"did you mean "hollow"?"#) ?? false, "\(found)")
        }
        let plain = #"{"name": "e", "variants": [{"name": "a"}]}"#
        XCTAssertThrowsError(try ExperimentPlanner.plan(text: plain, file: "e.json", overrides: ["eval.split=vall"])) { error in
            let found = (error as? ConfigIssues)?.issues ?? []
            XCTAssertEqual(found.map(\.file), [Override.sourceName])
            XCTAssertTrue(found.first?.message.contains(#"expected one of "val", "test", got "vall"; did you mean "val"?"#) ?? false, "\(found)")
        }
    }
}
