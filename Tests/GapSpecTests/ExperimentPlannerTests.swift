import XCTest
@testable import GapSpec

final class ExperimentPlannerTests: XCTestCase {
    private func plan(_ text: String, overrides: [String] = [], file: String = "Experiments/x.json") throws -> ExperimentPlan {
        try ExperimentPlanner.plan(text: text, file: file, overrides: overrides)
    }

    private func issues(_ text: String, overrides: [String] = []) -> [ConfigIssue] {
        do {
            let p = try plan(text, overrides: overrides)
            XCTFail("planned \(p.runs.count) runs from invalid input")
        } catch let error as ConfigIssues {
            return error.issues
        } catch {
            XCTFail("unexpected error \(error)")
        }
        return []
    }

    private let sweep = #"""
    {
      "name": "sharing",
      "description": "depth sweep",
      "base": {"model": {"vision_cfg": {"layers": 4}, "text_cfg": {"layers": 4}}, "train": {"epochs": 2}},
      "variants": [
        {"name": "clip"},
        {"name": "alignclip", "overrides": {"loss.imsep_weight": 0.5}}
      ],
      "grid": {"model.sharing.depth": [0, 2, 4], "train.lr": [0.001, 0.0005]},
      "seeds": 2
    }
    """#

    func testGridVariantsAndSeedsMultiply() throws {
        let p = try plan(sweep)
        XCTAssertEqual(p.name, "sharing")
        XCTAssertEqual(p.description, "depth sweep")
        XCTAssertEqual(p.runs.count, 2 * 3 * 2 * 2)
        XCTAssertEqual(Set(p.runs.map(\.runID)).count, p.runs.count)
        // Order: variant, then grid with the last axis fastest, then seeds.
        let first = p.runs[0], second = p.runs[1], third = p.runs[2]
        XCTAssertEqual([first.variant, second.variant], ["clip", "clip"])
        XCTAssertEqual([first.seed, second.seed, third.seed], [0, 1, 0])
        XCTAssertEqual(first.configHash, second.configHash)
        XCTAssertEqual(third.config.train.lr, 0.0005)
        XCTAssertEqual(third.axes, ["model.sharing.depth": 0, "train.lr": 0.0005])
        let last = p.runs.last!
        XCTAssertEqual(last.variant, "alignclip")
        XCTAssertEqual(last.config.model.sharing.depth, 4)
        XCTAssertEqual(last.config.loss.imsepWeight, 0.5)
        XCTAssertEqual(last.config.train.epochs, 2)
        XCTAssertEqual(last.seed, 1)
        XCTAssertEqual(last.config.seed, 1)
        XCTAssertEqual(last.configJSON, try RunConfigResolver.json(of: last.config))
        XCTAssertEqual(last.runID, try RunIdentity(config: last.config).runID)
    }

    func testShortNamesShowTheDiffAgainstTheBaseline() throws {
        let names = try plan(sweep).runs.filter { $0.seed == 0 }.map(\.shortName)
        XCTAssertEqual(names, [
            "clip", "clip lr=0.0005", "clip depth=2", "clip depth=2 lr=0.0005", "clip depth=4", "clip depth=4 lr=0.0005",
            "alignclip", "alignclip lr=0.0005", "alignclip depth=2", "alignclip depth=2 lr=0.0005", "alignclip depth=4", "alignclip depth=4 lr=0.0005",
        ])
    }

    func testClashingLastComponentsKeepMoreOfThePath() {
        let labels = ExperimentPlanner.shortLabels(for: [["train", "lr"], ["finetune", "lr"], ["model", "sharing", "depth"]])
        XCTAssertEqual(labels[["train", "lr"]], "train.lr")
        XCTAssertEqual(labels[["finetune", "lr"]], "finetune.lr")
        XCTAssertEqual(labels[["model", "sharing", "depth"]], "depth")
    }

    func testWithoutVariantsThereIsOneBaseVariantAndTheConfigSeed() throws {
        let p = try plan(#"{"name": "one", "base": {"seed": 7}}"#)
        XCTAssertEqual(p.runs.count, 1)
        XCTAssertEqual(p.runs[0].variant, "base")
        XCTAssertEqual(p.runs[0].shortName, "base")
        XCTAssertEqual(p.runs[0].seed, 7)
        XCTAssertEqual(p.runs[0].axes, [:])
    }

    func testPlainRunConfigIsASingleRun() throws {
        let p = try plan(#"{"train": {"epochs": 1}}"#, file: "configs/quick.json")
        XCTAssertEqual(p.name, "quick")
        XCTAssertEqual(p.runs.map(\.config.train.epochs), [1])
    }

    func testSeedList() throws {
        let p = try plan(#"{"seeds": [3, 11]}"#)
        XCTAssertEqual(p.runs.map(\.seed), [3, 11])
        XCTAssertEqual(Set(p.runs.map(\.configHash)).count, 1)
    }

    func testZipVariesTogether() throws {
        let p = try plan(#"{"zip": {"train.lr": [0.001, 0.002, 0.004], "train.batch_size": [64, 128, 256]}, "grid": {"train.epochs": [1, 2]}}"#)
        XCTAssertEqual(p.runs.count, 6)
        let pairs = p.runs.map { "\($0.config.train.epochs):\($0.config.train.lr):\($0.config.train.batchSize)" }
        XCTAssertEqual(pairs, ["1:0.001:64", "1:0.002:128", "1:0.004:256", "2:0.001:64", "2:0.002:128", "2:0.004:256"])
        XCTAssertEqual(p.runs[4].shortName, "base epochs=2 lr=0.002 batch_size=128")
    }

    func testZipLengthsMustMatch() {
        let found = issues(#"{"zip": {"train.lr": [0.001, 0.002], "train.batch_size": [64]}}"#)
        XCTAssertEqual(found.map(\.path), ["zip"])
        XCTAssertTrue(found[0].message.contains("equal lengths"))
    }

    func testExcludeDropsMatchingCombinations() throws {
        let p = try plan(#"""
        {"variants": [{"name": "clip"}, {"name": "shared", "overrides": {"model.sharing.head": true}}],
         "grid": {"model.sharing.depth": [0, 2, 4], "train.lr": [0.001, 0.0005]},
         "exclude": [{"variant": "clip", "model.sharing.depth": 4}, {"model.sharing.depth": 0, "train.lr": 0.0005}]}
        """#)
        // 2 variants × 6 combinations = 12; the first rule drops 2 (clip, depth 4), the second 2 (both variants).
        XCTAssertEqual(p.runs.count, 8)
        XCTAssertFalse(p.runs.contains { $0.variant == "clip" && $0.config.model.sharing.depth == 4 })
        XCTAssertFalse(p.runs.contains { $0.config.model.sharing.depth == 0 && $0.config.train.lr == 0.0005 })
        XCTAssertTrue(p.warnings.isEmpty, "\(p.warnings)")
    }

    func testExcludingEverythingIsAnError() {
        XCTAssertEqual(issues(#"{"grid": {"train.epochs": [1]}, "exclude": [{"train.epochs": 1}]}"#).map(\.path), ["exclude"])
    }

    func testExcludeThatMatchesNothingIsNoted() throws {
        let p = try plan(#"{"grid": {"train.epochs": [1, 2]}, "exclude": [{"train.epochs": 3}]}"#)
        XCTAssertEqual(p.runs.count, 2)
        XCTAssertEqual(p.warnings, ["exclude[0] matches no run"])
    }

    func testDuplicateCombinationsArePlannedOnce() throws {
        let p = try plan(#"{"variants": [{"name": "a"}, {"name": "b", "overrides": {"train.epochs": 6}}]}"#)
        XCTAssertEqual(p.runs.map(\.variant), ["a"])  // 6 is the default, so b is the same run
        XCTAssertEqual(p.warnings.count, 1)
    }

    func testDottedOverrideReplacesAWholeObject() throws {
        let p = try plan(#"""
        {"base": {"model": {"vision_cfg": {"layers": 2, "width": 64}}},
         "variants": [{"name": "v", "overrides": {"model.vision_cfg": {"width": 32, "head_width": 16}}}]}
        """#)
        let vision = p.runs[0].config.model.vision
        XCTAssertEqual(vision.width, 32)
        XCTAssertEqual(vision.headWidth, 16)
        XCTAssertEqual(vision.layers, ModelConfig.reference.vision.layers)  // base's layers were replaced; the default fills in
    }

    func testExtendsMergesTheParentFirstAndDetectsCycles() throws {
        let dir = try temporaryDirectory()
        let sub = dir.appendingPathComponent("sub")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        try #"""
        {"name": "parent", "description": "from the parent", "base": {"train": {"epochs": 2, "lr": 0.01}},
         "grid": {"model.sharing.depth": [0, 2]}, "seeds": 2, "exclude": [{"model.sharing.depth": 2, "seed": 1}]}
        """#.write(to: dir.appendingPathComponent("parent.json"), atomically: true, encoding: .utf8)
        try #"""
        {"extends": "../parent.json", "base": {"train": {"lr": 0.02}}, "grid": {"train.warmup": [0, 10]}}
        """#.write(to: sub.appendingPathComponent("child.json"), atomically: true, encoding: .utf8)
        let p = try ExperimentPlanner.plan(file: sub.appendingPathComponent("child.json").path)
        XCTAssertEqual(p.name, "child")
        XCTAssertEqual(p.description, "from the parent")
        // 2 depths × 2 warmups × 2 seeds, minus the 2 excluded (depth 2, seed 1).
        XCTAssertEqual(p.runs.count, 6)
        XCTAssertTrue(p.runs.allSatisfy { $0.config.train.epochs == 2 && $0.config.train.lr == 0.02 })

        try #"{"extends": "b.json"}"#.write(to: dir.appendingPathComponent("a.json"), atomically: true, encoding: .utf8)
        try #"{"extends": "a.json", "name": "b"}"#.write(to: dir.appendingPathComponent("b.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ExperimentPlanner.plan(file: dir.appendingPathComponent("a.json").path)) { error in
            let found = (error as? ConfigIssues)?.issues ?? []
            XCTAssertEqual(found.map(\.path), ["extends"])
            XCTAssertTrue(found[0].message.hasPrefix("extends cycle: a.json → b.json → a.json"), found[0].message)
        }
        XCTAssertEqual(issues(#"{"extends": "nowhere.json"}"#).map(\.path), ["extends"])
    }

    func testIssuesNameTheFileAndTheSourceOfTheValue() {
        let text = #"{"base": {"model": {"vision_cfg": {"layers": 4}, "text_cfg": {"layers": 4}}}, "grid": {"model.sharing.depth": [0, 2, 5]}}"#
        let found = issues(text)
        let column = text.distance(from: text.startIndex, to: text.range(of: "5]")!.lowerBound) + 1
        XCTAssertEqual(found.count, 1)
        XCTAssertEqual(found[0].file, "Experiments/x.json")
        XCTAssertEqual(found[0].path, #"grid["model.sharing.depth"][2]"#)
        XCTAssertTrue(found[0].description.hasPrefix(#"Experiments/x.json: grid["model.sharing.depth"][2]: sharing.depth = 5 exceeds"#), found[0].description)
        XCTAssertTrue(found[0].message.hasSuffix("(line 1, column \(column))"), found[0].message)
    }

    func testStructuralIssuesAreReportedTogether() {
        let found = issues(#"""
        {"nmae": "x", "train": {},
         "variants": [{"name": "a", "overrides": {"model.sharing.dept": 2, "train.epochs": "3"}}, {"name": "a"}],
         "grid": {"train.lr": [], "train.wd": 0.1, "loss.imsep_wieght": [1, 2]},
         "seeds": 0,
         "exclude": [{"variant": "b"}]}
        """#)
        let paths = found.map(\.path)
        XCTAssertEqual(paths, ["nmae", "train", #"variants[0].overrides["model.sharing.dept"]"#, #"variants[0].overrides["train.epochs"]"#,
                               "variants[1].name", #"grid["train.lr"]"#, #"grid["train.wd"]"#, #"grid["loss.imsep_wieght"][0]"#,
                               "seeds", "exclude[0].variant"])
        XCTAssertTrue(found[0].message.contains(#"did you mean "name"?"#))
        XCTAssertTrue(found[1].message.contains(#"inside "base""#))
        XCTAssertTrue(found[2].message.contains(#"did you mean "depth"?"#))
        XCTAssertTrue(found[3].message.hasPrefix(#"expected an integer, found a string ("3")"#))
        XCTAssertTrue(found[4].message.contains("used twice"))
        XCTAssertTrue(found[7].message.contains(#"did you mean "imsep_weight"?"#))
    }

    func testSeedsAndAGridOverSeedConflict() {
        XCTAssertEqual(issues(#"{"seeds": 2, "grid": {"seed": [0, 1]}}"#).map(\.path), ["grid.seed[0]"])
    }

    func testTooLargeAnExpansionIsRefused() {
        let values = (0..<100).map(String.init).joined(separator: ",")
        let found = issues(#"{"grid": {"train.epochs": [\#(values)], "train.warmup": [\#(values)], "data.split_seed": [\#(values)]}}"#)
        XCTAssertTrue(found.first?.message.contains("more than the limit") ?? false)
    }

    // MARK: - Command-line overrides

    func testOverrideParsing() throws {
        let fixed = try Override.parse("train.lr=1e-3")
        XCTAssertEqual(fixed.values, [0.001])
        XCTAssertFalse(fixed.isSweep)
        XCTAssertEqual(try Override.parse("eval.retrieval_k=[1,5]").values, [[1, 5]])
        XCTAssertEqual(try Override.parse("data.dataset=emoji").values, ["emoji"])
        XCTAssertEqual(try Override.parse(#"data.dataset="a,b""#).values, ["a,b"])
        XCTAssertEqual(try Override.parse("data.dataset=csv:x=y.csv").values, ["csv:x=y.csv"])
        let sweep = try Override.parse("model.sharing.depth=0,2,4")
        XCTAssertTrue(sweep.isSweep)
        XCTAssertEqual(sweep.values, [0, 2, 4])
        XCTAssertEqual(try Override.parse("data.dataset=scenes,emoji").values, ["scenes", "emoji"])
        XCTAssertEqual(try Override.parse("eval.retrieval_k=[1,5],[1,10]").values, [[1, 5], [1, 10]])
        XCTAssertThrowsError(try Override.parse("train.lr"))
        XCTAssertThrowsError(try Override.parse("=3"))
        XCTAssertThrowsError(try Override.parse("a..b=3"))
        XCTAssertThrowsError(try Override.parse("train.lr=1,,2"))
    }

    func testOverridesApplyOnTopAndSweepsJoinTheGrid() throws {
        let p = try plan(sweep, overrides: ["train.epochs=5", "train.lr=0.01", "train.warmup=0,10"])
        XCTAssertEqual(p.overrides, ["train.epochs=5", "train.lr=0.01", "train.warmup=0,10"])
        // train.lr no longer sweeps (the fixed override replaces the axis); imsep_weight now sweeps.
        XCTAssertEqual(p.runs.count, 2 * 3 * 2 * 2)
        XCTAssertTrue(p.runs.allSatisfy { $0.config.train.epochs == 5 && $0.config.train.lr == 0.01 })
        XCTAssertEqual(Set(p.runs.map(\.config.train.warmup)), [0, 10])
        XCTAssertEqual(p.runs[2].axes, ["model.sharing.depth": 0, "train.warmup": 10])
        XCTAssertEqual(p.runs[2].shortName, "clip warmup=10")
        XCTAssertEqual(p.warnings, ["grid axis train.lr is replaced by the command-line override of train.lr"])
    }

    func testSeedOverrideReplacesTheSeedAxis() throws {
        XCTAssertEqual(try plan(#"{"seeds": 3}"#, overrides: ["seed=5,6"]).runs.map(\.seed), [5, 6])
        XCTAssertEqual(try plan(#"{"seeds": 3}"#, overrides: ["seed=9"]).runs.map(\.seed), [9])
    }

    func testBadOverridesAreIssues() {
        let found = issues("{}", overrides: ["train.lrr=0.1", "train.epochs=many", "train.lr"])
        XCTAssertEqual(found.count, 3)
        XCTAssertTrue(found.allSatisfy { $0.file == "command line" })
        XCTAssertEqual(found[0].path, #"override "train.lrr=0.1""#)
        XCTAssertTrue(found[0].message.contains(#"did you mean "lr"?"#), found[0].message)
        XCTAssertTrue(found[1].message.hasPrefix(#"train.epochs: expected an integer, found a string ("many")"#), found[1].message)
        let range = issues("{}", overrides: ["train.lr=0,0.1"])
        XCTAssertEqual(range.map(\.path), [#"override "train.lr=0,0.1"[0]"#])
    }

    // MARK: - Listing

    func testPlanListingFormats() throws {
        let p = try plan(#"{"name": "demo", "grid": {"train.epochs": [1, 2]}}"#)
        let table = PlanListing.render(p, format: .table, status: { $0 == p.runs[1].runID ? "completed" : nil })
        let lines = table.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0], "experiment demo: 2 runs from Experiments/x.json")
        XCTAssertEqual(lines[1].split(separator: " ", omittingEmptySubsequences: true), ["RUN", "NAME", "SEED", "CONFIG", "STATUS"])
        XCTAssertTrue(lines[2].hasPrefix(p.runs[0].shortRunID) && lines[2].hasSuffix("new"))
        XCTAssertTrue(lines[3].contains("base epochs=2 ") && lines[3].contains(p.runs[1].shortConfigHash) && lines[3].hasSuffix("completed"))

        let csv = PlanListing.render(p, format: .csv).split(separator: "\n")
        XCTAssertEqual(csv[0], "run_id,short_name,variant,seed,config_hash,status")
        XCTAssertEqual(csv[1], "\(p.runs[0].runID),base,base,0,\(p.runs[0].configHash),new")

        let json = try JSONParser.parse(PlanListing.render(p, format: .json)).value
        XCTAssertEqual(json["experiment"], "demo")
        XCTAssertEqual(json["runs"]?.arrayValue?.count, 2)
        XCTAssertEqual(json["runs"]?.arrayValue?[1]["axes"], ["train.epochs": 2])
        XCTAssertEqual(json["runs"]?.arrayValue?[1]["config"], p.runs[1].configJSON)
    }
}

final class ZipRepeatsTests: XCTestCase {
    /// Zipped lists may repeat a value as long as the tuples differ; a grid axis may not repeat one.
    func testZipListsMayRepeatValuesButGridAxesMayNot() throws {
        let zip = #"{"name": "z", "zip": {"train.lr": [0.001, 0.002, 0.001], "train.learn_logit_scale": [true, true, false]}}"#
        let plan = try ExperimentPlanner.plan(text: zip, file: "z.json")
        XCTAssertEqual(plan.runs.count, 3)
        let grid = #"{"name": "g", "grid": {"train.lr": [0.001, 0.001]}}"#
        XCTAssertThrowsError(try ExperimentPlanner.plan(text: grid, file: "g.json")) { error in
            XCTAssertTrue("\(error)".contains("appears twice"), "\(error)")
        }
    }
}
