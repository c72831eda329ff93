import Foundation
import GapTestSupport
import GapStore
import XCTest

/// A tiny real model trained through `gaplab run`: the whole path from experiment file to metrics, and a run
/// that crashes after its first epoch resuming to exactly the numbers of an uninterrupted run.
final class EndToEndTrainingTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func writeExperiment() throws -> String {
        let json = """
        {
          "name": "tiny",
          "description": "end-to-end test",
          "base": {
            "model": {"embed_dim": 16,
                      "vision_cfg": {"image_size": 16, "patch_size": 8, "width": 16, "layers": 1, "head_width": 8},
                      "text_cfg": {"context_length": 12, "vocab_size": 300, "width": 16, "heads": 2, "layers": 1}},
            "data": {"dataset": "scenes", "train_size": 128, "val_size": 32, "test_size": 32},
            "train": {"epochs": 3, "batch_size": 32, "warmup": 2, "lr": 0.003},
            "eval": {"picture_sample": 24, "linear_probe": false},
            "runtime": {"log_every": 1}
          },
          "variants": [{"name": "alignclip", "overrides": {"model.sharing.depth": 1, "model.sharing.head": true, "loss.imsep_weight": 0.5}}]
        }
        """
        let path = directory.appendingPathComponent("tiny.json").path
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Each store in its own folder: artifacts (and so checkpoints) live beside the database.
    func storeIn(_ name: String) throws -> String {
        let folder = directory.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder.appendingPathComponent("gaplab.sqlite").path
    }

    func run(_ file: String, store: String, environment: [String: String] = [:], extra: [String] = [], name: String) throws -> GapLabBinary.Launched {
        let launched = try GapLabBinary.Launched(arguments: ["run", file, "--store", store, "--workers", "1"] + extra,
                                                 environment: environment, logDirectory: directory, name: name)
        launched.wait()
        return launched
    }

    func testTrainingRunCrashAndResumeGiveTheUninterruptedNumbers() throws {
        let file = try writeExperiment()
        let clean = try storeIn("clean")
        let first = try run(file, store: clean, name: "clean")
        XCTAssertEqual(first.process.terminationStatus, 0, first.stderr + first.stdout)
        let cleanStore = try SQLiteStorage(path: clean, create: false)
        let runs = try cleanStore.runs(experiment: "tiny", status: nil)
        XCTAssertEqual(runs.count, 1)
        XCTAssertEqual(runs.first?.status, .completed)
        let runID = try XCTUnwrap(runs.first?.runID)
        let uninterrupted = try metricsByKeyAndStep(cleanStore, runID)
        for key in ["test/alignment@12", "test/centroid_gap@12", "test/i2t_r1@12", "val/alignment@4", "train/loss@0", "train/loss/imsep@11"] {
            XCTAssertNotNil(uninterrupted[key], "missing \(key) in \(uninterrupted.keys.sorted())")
        }
        let losses = try cleanStore.metrics(runID: runID, key: "train/loss").map(\.value)
        XCTAssertEqual(losses.count, 12, "one point per step")
        XCTAssertLessThan(losses.last!, losses.first!, "training lowers the loss")
        let artifacts = try cleanStore.artifacts(runID: runID).map(\.name)
        XCTAssertTrue(artifacts.contains("checkpoint.safetensors"))
        XCTAssertTrue(artifacts.contains("embeddings_pca.svg"))
        XCTAssertEqual(try cleanStore.integrityCheck(), "ok")
        let params = try cleanStore.params(runID: runID)
        XCTAssertNotNil(params["data_info.split_digest.train"], "the split is recorded with the run")
        XCTAssertEqual(params["data_info.train_images"], .int(128))

        // The standalone evaluation of the run's checkpoint reproduces its end-of-run metrics.
        let modelPath = directory.appendingPathComponent("model.json").path
        try #"{"embed_dim": 16, "sharing": {"depth": 1, "head": true}, "vision_cfg": {"image_size": 16, "patch_size": 8, "width": 16, "layers": 1, "head_width": 8}, "text_cfg": {"context_length": 12, "vocab_size": 300, "width": 16, "heads": 2, "layers": 1}}"#
            .write(toFile: modelPath, atomically: true, encoding: .utf8)
        let runArtifacts = cleanStore.artifactDirectory(runID: runID)
        let eval = try GapLabBinary.Launched(
            arguments: ["eval", "--model", modelPath, "--checkpoint", runArtifacts.appendingPathComponent("checkpoint.safetensors").path,
                        "--data", "scenes", "--train-size", "128", "--val-size", "32", "--test-size", "32",
                        "--tokenizer", runArtifacts.appendingPathComponent("tokenizer.json").path, "--no-probe", "--format", "json",
                        "--log-run", String(runID.prefix(12)), "--store", clean],
            logDirectory: directory, name: "eval")
        XCTAssertEqual(eval.wait(), 0, eval.stderr)
        let evaluated = try JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Double] ?? [:]
        for key in ["alignment", "centroid_gap", "i2t_r5", "t2i_r10", "zeroshot_colour_top1"] {
            // JSON printing keeps 15 significant digits.
            XCTAssertEqual(try XCTUnwrap(evaluated[key], key), try XCTUnwrap(uninterrupted["test/\(key)@12"]), accuracy: 1e-12, key)
        }
        XCTAssertEqual(try XCTUnwrap(cleanStore.metrics(runID: runID, key: "eval/test/alignment").first?.value),
                       try XCTUnwrap(uninterrupted["test/alignment@12"]), accuracy: 1e-12)

        // Running the experiment again runs nothing.
        let again = try run(file, store: clean, name: "again")
        XCTAssertEqual(again.process.terminationStatus, 0)
        XCTAssertEqual(try cleanStore.attempts(runID: runID).count, 1)

        // The same run crashing after epoch 1, then taken up again with --retry-failed.
        let crashed = try storeIn("crashed")
        let crash = try run(file, store: crashed, environment: ["GAPLAB_CRASH_AFTER_EPOCH": "1"], name: "crash")
        XCTAssertNotEqual(crash.process.terminationStatus, 0)
        let crashedStore = try SQLiteStorage(path: crashed, create: false)
        XCTAssertEqual(try crashedStore.run(id: runID)?.status, .failed)
        XCTAssertTrue(try crashedStore.run(id: runID)?.errorTail?.contains("injected crash after epoch 1") ?? false)
        let resume = try run(file, store: crashed, environment: ["GAPLAB_CRASH_AFTER_EPOCH": "1"], extra: ["--retry-failed"], name: "resume")
        XCTAssertEqual(resume.process.terminationStatus, 0, resume.stderr + resume.stdout)
        XCTAssertEqual(try crashedStore.run(id: runID)?.status, .completed)
        XCTAssertEqual(try metricsByKeyAndStep(crashedStore, runID), uninterrupted.filter { !$0.key.hasPrefix("eval/") }, "the resumed run ends with the uninterrupted run's numbers")
        XCTAssertEqual(try crashedStore.integrityCheck(), "ok")
    }

    /// Table 5's protocol: zero-shot retrieval on a downstream split, fine-tuning, the same metrics again; and the
    /// post-hoc shift arm evaluated at the end of pre-training.
    func testFineTuningStageAndPosthocShiftAreLogged() throws {
        let file = try writeExperiment()
        let store = try storeIn("finetune")
        let launched = try run(file, store: store,
                               extra: ["train.epochs=1", "eval.every_epoch=false", "eval.posthoc_shift=[0.5]",
                                       #"finetune={"epochs": 1, "batch_size": 32, "lr": 0.001, "warmup": 1, "data": {"dataset": "scenes", "train_size": 64, "val_size": 16, "test_size": 32, "split_seed": 1}}"#],
                               name: "finetune")
        XCTAssertEqual(launched.process.terminationStatus, 0, launched.stderr + launched.stdout)
        let storage = try SQLiteStorage(path: store, create: false)
        let runID = try XCTUnwrap(try storage.runs(experiment: "tiny", status: .completed).first?.runID)
        let keys = Set(try storage.metrics(runID: runID, key: nil).map(\.key))
        for key in ["zeroshot/i2t_r1", "zeroshot/t2i_r10", "finetuned/i2t_r1", "finetuned/t2i_r10", "finetuned/alignment",
                    "finetune/loss", "test/shift_0.5/alignment", "test/shift_0.5/centroid_gap"] {
            XCTAssertTrue(keys.contains(key), "missing \(key) in \(keys.sorted())")
        }
        XCTAssertFalse(keys.contains("val/alignment"), "eval.every_epoch=false skips per-epoch evaluation")
    }

    func testBadExperimentFileFailsBeforeAnythingRuns() throws {
        let path = directory.appendingPathComponent("bad.json").path
        try #"{"base": {"model": {"sharing": {"depth": 3}}, "train": {"epochz": 2}}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        let store = directory.appendingPathComponent("bad.sqlite").path
        let launched = try run(path, store: store, name: "bad")
        XCTAssertEqual(launched.process.terminationStatus, 1)
        XCTAssertTrue(launched.stderr.contains("train.epochz"), launched.stderr)
        XCTAssertTrue(launched.stderr.contains("did you mean"), launched.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: store), "nothing is planned from an invalid file")
    }
}
