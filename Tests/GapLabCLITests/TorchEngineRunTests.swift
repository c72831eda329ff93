import Foundation
import GapPipeline
import GapStore
import GapTestSupport
import XCTest

/// The torch engine through `gaplab run`: `train.engine=gaplab,torch` sweeps the engine like any axis, the two
/// runs have their own identities and close numbers, a torch run killed by a crash resumes to the numbers of an
/// uninterrupted one, and the report sets the engines side by side.
final class TorchEngineRunTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        try XCTSkipUnless(TorchEngineAvailability.installed, TorchEngineAvailability.hint)
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-torch-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    func writeExperiment() throws -> String {
        let json = """
        {
          "name": "engines",
          "base": {
            "model": {"embed_dim": 16,
                      "vision_cfg": {"image_size": 16, "patch_size": 8, "width": 16, "layers": 1, "head_width": 8},
                      "text_cfg": {"context_length": 12, "vocab_size": 300, "width": 16, "heads": 2, "layers": 1}},
            "data": {"dataset": "scenes", "train_size": 96, "val_size": 32, "test_size": 32},
            "train": {"epochs": 3, "batch_size": 32, "warmup": 2, "lr": 0.003},
            "eval": {"pictures": false, "linear_probe": false},
            "runtime": {"log_every": 1}
          },
          "variants": [{"name": "alignclip", "overrides": {"model.sharing.depth": 1, "model.sharing.head": true, "loss.imsep_weight": 0.5}}]
        }
        """
        let path = directory.appendingPathComponent("engines.json").path
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func store(_ name: String) throws -> String {
        let folder = directory.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder.appendingPathComponent("gaplab.sqlite").path
    }

    func gaplab(_ arguments: [String], environment: [String: String] = [:], name: String) throws -> GapLabBinary.Launched {
        let launched = try GapLabBinary.Launched(arguments: arguments, environment: environment, logDirectory: directory, name: name)
        launched.wait()
        return launched
    }

    func testEngineSweepResumeAfterACrashAndReport() throws {
        let file = try writeExperiment()
        let clean = try store("clean")
        let sweep = try gaplab(["run", file, "train.engine=gaplab,torch", "--store", clean, "--workers", "1"], name: "sweep")
        XCTAssertEqual(sweep.process.terminationStatus, 0, sweep.stderr + sweep.stdout)
        let storage = try SQLiteStorage(path: clean, create: false)
        let runs = try storage.runs(experiment: "engines", status: nil)
        XCTAssertEqual(runs.map(\.status), [.completed, .completed])
        let byEngine = Dictionary(uniqueKeysWithValues: try runs.map { run in
            (try storage.params(runID: run.runID)["train.engine"]?.description ?? "?", run.runID)
        })
        let gaplabID = try XCTUnwrap(byEngine["gaplab"], "\(byEngine)"), torchID = try XCTUnwrap(byEngine["torch"], "\(byEngine)")
        XCTAssertNotEqual(gaplabID, torchID)
        let swift = try metricsByKeyAndStep(storage, gaplabID), torch = try metricsByKeyAndStep(storage, torchID)
        // 96 pairs in batches of 32: 3 steps an epoch, 9 in all; the same start, data and loss on both engines.
        for step in 0..<9 {
            let key = "train/loss@\(step)"
            XCTAssertEqual(try XCTUnwrap(torch[key], key), try XCTUnwrap(swift[key], key), accuracy: 1e-4 * swift[key]!, key)
        }
        XCTAssertEqual(try XCTUnwrap(torch["test/alignment@9"]), try XCTUnwrap(swift["test/alignment@9"]), accuracy: 1e-3)

        // The torch run crashing after epoch 1 (the GapLab process exits; its trainer child follows), then retried.
        let crashed = try store("crashed")
        let crash = try gaplab(["run", file, "train.engine=torch", "--store", crashed, "--workers", "1"],
                               environment: ["GAPLAB_CRASH_AFTER_EPOCH": "1"], name: "crash")
        XCTAssertNotEqual(crash.process.terminationStatus, 0)
        let crashedStore = try SQLiteStorage(path: crashed, create: false)
        XCTAssertEqual(try crashedStore.run(id: torchID)?.status, .failed)
        let resume = try gaplab(["run", file, "train.engine=torch", "--store", crashed, "--workers", "1", "--retry-failed"],
                                environment: ["GAPLAB_CRASH_AFTER_EPOCH": "1"], name: "resume")
        XCTAssertEqual(resume.process.terminationStatus, 0, resume.stderr + resume.stdout)
        XCTAssertEqual(try crashedStore.run(id: torchID)?.status, .completed)
        let measured = "train/samples_per_second"
        XCTAssertEqual(try metricsByKeyAndStep(crashedStore, torchID).filter { !$0.key.hasPrefix(measured) },
                       torch.filter { !$0.key.hasPrefix(measured) }, "the resumed torch run ends with the uninterrupted run's numbers")
        XCTAssertEqual(try crashedStore.integrityCheck(), "ok")

        // The report treats the engine as a swept axis.
        let reports = directory.appendingPathComponent("report")
        let report = try gaplab(["report", "engines", "--store", clean, "--out", reports.path, "--format", "md"], name: "report")
        XCTAssertEqual(report.process.terminationStatus, 0, report.stderr)
        let text = try String(contentsOf: reports.appendingPathComponent("README.md"), encoding: .utf8)
        XCTAssertTrue(text.contains("train.engine"), text)
        XCTAssertTrue(text.contains("torch") && text.contains("gaplab"), text)
    }
}
