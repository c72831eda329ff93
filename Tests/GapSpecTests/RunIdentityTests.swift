import XCTest
@testable import GapSpec

final class RunIdentityTests: XCTestCase {
    private func identity(_ text: String) throws -> RunIdentity {
        try RunIdentity(config: RunConfigResolver.resolve(JSONParser.parse(text).value))
    }

    func testKeyOrderDoesNotChangeTheHash() throws {
        let a = try identity(#"{"train": {"lr": 0.002, "epochs": 3}, "model": {"sharing": {"depth": 2, "head": true}}}"#)
        let b = try identity(#"{"model": {"sharing": {"head": true, "depth": 2}}, "train": {"epochs": 3, "lr": 2e-3}}"#)
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.configHash.count, 64)
        XCTAssertTrue(a.configHash.allSatisfy(\.isHexDigit))
    }

    func testRuntimeSettingsDoNotChangeTheIdentity() throws {
        let a = try identity(#"{"runtime": {"threads": 1, "log_every": 10}}"#)
        let b = try identity(#"{"runtime": {"threads": 2, "log_every": 50}}"#)
        XCTAssertEqual(a.configHash, b.configHash)
        XCTAssertEqual(a.runID, b.runID)
        XCTAssertNil(a.identityJSON["runtime"])
        XCTAssertNil(a.identityJSON["seed"])
    }

    func testResultSettingsChangeTheHash() throws {
        let a = try identity(#"{"train": {"lr": 0.001}}"#)
        let b = try identity(#"{"train": {"lr": 0.0005}}"#)
        XCTAssertNotEqual(a.configHash, b.configHash)
        XCTAssertNotEqual(a.runID, b.runID)
    }

    func testSeedChangesTheRunButNotTheConfigHash() throws {
        let a = try identity(#"{"seed": 0}"#)
        let b = try identity(#"{"seed": 1}"#)
        XCTAssertEqual(a.configHash, b.configHash)
        XCTAssertNotEqual(a.runID, b.runID)
    }

    func testIntegerAndDoubleSpellingsHashAlike() throws {
        XCTAssertEqual(try identity(#"{"loss": {"clip_weight": 1}}"#), try identity(#"{"loss": {"clip_weight": 1.0}}"#))
    }

    func testHashIsTheSHA256OfTheCanonicalJSON() throws {
        let id = try identity("{}")
        XCTAssertEqual(id.configHash, RunIdentity.sha256Hex(id.identityJSON.canonicalString))
        let keyed: JSONValue = ["seed": 0, "config": id.identityJSON]
        XCTAssertEqual(id.runID, RunIdentity.sha256Hex(keyed.canonicalString))
        XCTAssertEqual(RunIdentity.sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(id.shortRunID, String(id.runID.prefix(12)))
    }
}

final class EngineIdentityTests: XCTestCase {
    func testTheDefaultEngineLeavesTheIdentityAsBefore() throws {
        var config = RunConfig()
        let withDefault = try RunIdentity(config: config)
        XCTAssertEqual(config.train.engine, "gaplab")
        XCTAssertNil(withDefault.identityJSON.members?.first { $0.key == "train" }?.value.members?.first { $0.key == "engine" },
                     "train.engine at its default is not part of the identity JSON")
        // Another engine is another run.
        config.train.engine = "other"
        XCTAssertNotEqual(try RunIdentity(config: config).runID, withDefault.runID)
    }

    func testPrecisionIsPartOfTheIdentityAwayFromItsDefault() throws {
        var config = RunConfig()
        let fp32 = try RunIdentity(config: config)
        XCTAssertNil(fp32.identityJSON.members?.first { $0.key == "train" }?.value.members?.first { $0.key == "precision" })
        config.train.engine = "torch"
        let torch = try RunIdentity(config: config)
        config.train.precision = .ampBF16
        XCTAssertNotEqual(try RunIdentity(config: config).runID, torch.runID)
        // Where the torch engine trains is not part of what it computes.
        config.runtime.device = .cuda
        config.runtime.gpus = 4
        XCTAssertEqual(try RunIdentity(config: config).runID, try RunIdentity(config: { var c = config; c.runtime = RuntimeConfig(); return c }()).runID)
    }

    func testOnlyTheTorchEngineTakesAnotherPrecisionOrAGPU() throws {
        var config = RunConfig()
        config.train.precision = .ampBF16
        config.runtime.device = .cuda
        config.runtime.gpus = 2
        XCTAssertEqual(config.issues().map(\.path), ["train.precision", "runtime.device", "runtime.gpus"])
        config.train.engine = "torch"
        XCTAssertEqual(config.issues().map(\.path), [])
    }

    func testAnUnknownEngineIsAValidationError() throws {
        var config = RunConfig()
        config.train.engine = "gaplap"
        let issues = config.train.issues()
        XCTAssertEqual(issues.map(\.path), ["train.engine"])
        XCTAssertTrue(issues.first?.message.contains("expected one of \"gaplab\", \"torch\", \"command\", got \"gaplap\"; did you mean \"gaplab\"?") ?? false,
                      "\(issues)")
    }
}

/// The run ids of a shipped experiment, as its committed report lists them: a change to the configuration types
/// or to the identity rule that moved them would orphan every recorded run.
final class ShippedRunIdentityTests: XCTestCase {
    func testQuickstartRunIDsAreThoseOfItsReport() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let plan = try ExperimentPlanner.plan(file: root.appendingPathComponent("Experiments/quickstart.json").path, overrides: [])
        XCTAssertEqual(plan.runs.map { "\($0.variant) \(RunIdentity.short($0.runID))" },
                       ["clip 44a8c3ecb49b", "sharedclip e57c42ff260e", "alignclip 52fe18bb2524"])
    }
}
