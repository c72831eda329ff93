import GapSpec
import XCTest

/// `train.command` templates: placeholders from the configuration and the run, escaped braces, and the errors
/// validation reports with the argument's JSON path.
final class CommandTemplateTests: XCTestCase {
    func testPlaceholdersFillFromTheRunThenTheConfiguration() throws {
        var config = RunConfig()
        config.train.lr = 0.0005
        config.seed = 7
        let json = try RunConfigResolver.json(of: config)
        let template = try CommandTemplate(parsing: "--lr={train.lr} --seed {seed} --logs {artifacts}/logs --model {model.vision_cfg.width}")
        XCTAssertEqual(template.placeholders, ["train.lr", "seed", "artifacts", "model.vision_cfg.width"])
        XCTAssertEqual(try template.filled(config: json, values: ["artifacts": "/runs/abc"]),
                       "--lr=0.0005 --seed 7 --logs /runs/abc/logs --model \(config.model.vision.width)")
        // A string is written without its quotes.
        XCTAssertEqual(try CommandTemplate(parsing: "{data.dataset}").filled(config: json, values: [:]), config.data.dataset)
    }

    func testDoubledBracesAreLiteral() throws {
        let template = try CommandTemplate(parsing: "{{\"seed\": {seed}}}")
        XCTAssertEqual(try template.filled(config: try RunConfigResolver.json(of: RunConfig()), values: [:]), "{\"seed\": 0}")
    }

    func testMalformedTemplatesAreErrors() {
        XCTAssertThrowsError(try CommandTemplate(parsing: "--lr {train.lr")) { XCTAssertEqual($0 as? CommandTemplateError, .unclosed("train.lr")) }
        XCTAssertThrowsError(try CommandTemplate(parsing: "{}")) { XCTAssertEqual($0 as? CommandTemplateError, .emptyPlaceholder) }
        XCTAssertThrowsError(try CommandTemplate(parsing: "a}b")) { XCTAssertEqual($0 as? CommandTemplateError, .strayBrace) }
        XCTAssertThrowsError(try CommandTemplate(parsing: "{a{b}")) { XCTAssertEqual($0 as? CommandTemplateError, .unclosed("a")) }
        // An object is no scalar to fill an argument with.
        XCTAssertThrowsError(try CommandTemplate(parsing: "{train}").filled(config: try RunConfigResolver.json(of: RunConfig()), values: [:])) {
            XCTAssertEqual($0 as? CommandTemplateError, .unknown("train"))
        }
    }

    func testValidationNamesTheArgumentAndWhatWasExpected() {
        var config = RunConfig()
        config.train.engine = TrainEngine.command.rawValue
        XCTAssertEqual(config.issues().map(\.path), ["train.command"])

        config.train.command = ["python3", "train.py", "--lr", "{train.lrr}", "--data", "{data.path}", "--x", "{oops"]
        config.train.commandCheckpoint = "{artifacts}/out.pt"
        let issues = config.issues()
        XCTAssertEqual(issues.map(\.path), ["train.command[3]", "train.command[5]", "train.command[7]"], "\(issues)")
        XCTAssertTrue(issues[0].message.contains("unknown placeholder {train.lrr}"), issues[0].message)
        XCTAssertTrue(issues[1].message.contains("{data.path} needs a csv: dataset"), issues[1].message)
        XCTAssertTrue(issues[2].message.contains("not closed"), issues[2].message)

        config.train.command = ["python3", "-m", "open_clip_train.main", "--model", "{open_clip_model}"]
        config.model.sharing = SharingConfig(depth: 1, head: false)
        XCTAssertEqual(config.issues().map(\.path), ["train.command[4]"])
        config.model.sharing = SharingConfig()
        XCTAssertEqual(config.issues().map(\.path), [])
        config.finetune.epochs = 1
        XCTAssertTrue(config.issues().map(\.path).contains("finetune.epochs"))
    }

    func testCommandFieldsBelongToTheCommandEngine() {
        var config = RunConfig()
        config.train.command = ["true"]
        config.train.commandCheckpoint = "x.pt"
        XCTAssertEqual(config.issues().map(\.path), ["train.command", "train.command_checkpoint"])
    }

    func testCommandFieldsAreOmittedFromTheIdentityAtTheirDefaults() throws {
        let plain = try RunIdentity(config: RunConfig())
        var config = RunConfig()
        config.train.engine = TrainEngine.command.rawValue
        config.train.command = ["true"]
        let command = try RunIdentity(config: config)
        XCTAssertNotEqual(command.runID, plain.runID)
        config.train.command = ["false"]
        XCTAssertNotEqual(try RunIdentity(config: config).runID, command.runID, "the command is part of the identity")
    }
}
