import Foundation
import GapData
import GapModel
@testable import GapPipeline
import GapSpec
import GapStore
import GapTestSupport
import XCTest

/// `train.engine: "command"`: a command's stream or open_clip's log becomes the run's metrics, a failing command
/// fails the run with its status, and open_clip_train itself trains a run whose checkpoint GapLab evaluates.
final class CommandEngineTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-command-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    static let tiny = """
    {"model": {"embed_dim": 16,
               "vision_cfg": {"image_size": 16, "patch_size": 8, "width": 32, "layers": 1, "head_width": 16},
               "text_cfg": {"context_length": 12, "vocab_size": 300, "width": 32, "heads": 2, "layers": 1}},
     "data": {"dataset": "scenes", "train_size": 32, "val_size": 16, "test_size": 24},
     "train": {"engine": "command", "epochs": 2, "batch_size": 8, "warmup": 1, "lr": 0.001},
     "eval": {"every_epoch": false, "pictures": false, "linear_probe": false, "zeroshot": false},
     "runtime": {"log_every": 1}}
    """

    func config(_ overrides: [String: JSONValue]) throws -> RunConfig {
        var json = try JSONParser.parse(Self.tiny).value
        for (path, value) in overrides { json = json.setting(keys: path.split(separator: ".").map(String.init), to: value) }
        let config = try RunConfigResolver.resolve(json)
        XCTAssertEqual(config.issues().map(\.description), [])
        return config
    }

    func store(_ name: String, _ config: RunConfig) throws -> (SQLiteStorage, String) {
        try plannedStore(in: directory.appendingPathComponent(name), experiment: "command", variant: name, config: config)
    }

    func session(_ storage: SQLiteStorage, _ runID: String, _ config: RunConfig) throws -> RunSession {
        let session = try RunSession(storage: storage, runID: runID, config: config, artifacts: storage.artifactDirectory(runID: runID),
                                     cacheDirectory: nil)
        session.output = { _ in }
        return session
    }

    func strings(_ values: [String]) -> JSONValue { .array(values.map { .string($0) }) }

    func testOpenCLIPLogLineGivesTheStepsValues() throws {
        let line = "2026-12-03,14:32:26 | INFO | Train Epoch: 1 [ 16/32 (50%)] Data (t): 0.006 Batch (t): 0.028, 285.383/s, "
            + "285.383/s/gpu LR: 0.000750 Logit Scale: 14.279 Contrastive_loss: 2.1725 (2.4229) Loss: 2.1725 (2.4229)"
        let entry = try XCTUnwrap(OpenCLIPLogLine(parsing: line, globalBatch: 8))
        XCTAssertEqual(entry.epoch, 1)
        XCTAssertEqual(entry.stepsPerEpoch, 4)
        XCTAssertEqual(entry.stepInEpoch, 1)
        XCTAssertEqual(entry.lr, 0.00075)
        XCTAssertEqual(entry.scale, 14.279)
        XCTAssertEqual(entry.loss, 2.1725, "the step's loss, not the running mean in parentheses")
        XCTAssertEqual(entry.terms.map(\.name), ["loss/cross"])
        XCTAssertEqual(entry.terms.map(\.value), [2.1725])
        XCTAssertEqual(entry.samplesPerSecond, 285.383)
        XCTAssertNil(OpenCLIPLogLine(parsing: "2026-12-03,14:32:25 | INFO | Start epoch 0", globalBatch: 8))
        XCTAssertNil(OpenCLIPLogLine(parsing: "Train Epoch: 0 [8/32 (25%)] LR: 0.1", globalBatch: 8), "no logit scale or loss")
    }

    /// A command that speaks GapLab's stream: its steps are the run's `train/*` metrics; with no checkpoint named
    /// there is nothing to evaluate, and the run's metrics are its training metrics.
    func testStreamCommandsStepsAreRecorded() throws {
        let events = (0..<4).map { step in
            "{\"event\": \"step\", \"step\": \(step), \"epoch\": \(step / 2), \"steps_per_epoch\": 2, \"loss\": \(3.0 - Double(step) * 0.25), "
                + "\"terms\": [[\"loss/cross\", \(3.0 - Double(step) * 0.25)]], \"lr\": 0.001, \"logit_scale\": 2.5}"
        }
        // A brace the command needs is doubled: a single one opens a placeholder.
        let script = "echo 'seed {seed}, lr {train.lr}'; " + events.map { line in
            "echo '" + line.replacingOccurrences(of: "{", with: "{{").replacingOccurrences(of: "}", with: "}}") + "'"
        }.joined(separator: "; ")
        let config = try config(["train.command": strings(["/bin/sh", "-c", script])])
        let (storage, runID) = try store("stream", config)
        var lines: [String] = []
        let session = try session(storage, runID, config)
        session.output = { lines.append($0) }
        try session.execute()
        XCTAssertEqual(try storage.metrics(runID: runID, key: "train/loss").map(\.value), [3.0, 2.75, 2.5, 2.25])
        XCTAssertEqual(try storage.metrics(runID: runID, key: "train/loss").map(\.step), [0, 1, 2, 3])
        XCTAssertEqual(try storage.metrics(runID: runID, key: "train/logit_scale").map(\.value), [2.5, 2.5, 2.5, 2.5])
        XCTAssertEqual(try storage.metrics(runID: runID, key: "test/alignment"), [], "no checkpoint, no evaluation")
        XCTAssertTrue(lines.contains { $0.contains("training metrics only") }, "\(lines)")
    }

    func testAFailingCommandFailsTheRunWithItsStatus() throws {
        let config = try config(["train.command": strings(["/bin/sh", "-c", "echo starting; exit 3"])])
        let (storage, runID) = try store("failing", config)
        XCTAssertThrowsError(try session(storage, runID, config).execute()) { error in
            XCTAssertTrue("\(error)".contains("ended with status 3"), "\(error)")
        }
    }

    func testAMissingCheckpointIsAnErrorNamingThePath() throws {
        let config = try config(["train.command": strings(["/bin/true"]), "train.command_checkpoint": .string("{artifacts}/never.pt")])
        let (storage, runID) = try store("missing", config)
        XCTAssertThrowsError(try session(storage, runID, config).execute()) { error in
            XCTAssertTrue("\(error)".contains("never.pt"), "\(error)")
        }
    }

    /// GapLab hands open_clip_train the run's training split as its CSV and the model as its config; open_clip
    /// trains; its log lines are the run's training metrics and its last checkpoint, converted, is evaluated.
    func testOpenCLIPTrainTrainsARunThatGapLabEvaluates() throws {
        try XCTSkipUnless(TorchEngineAvailability.installed, TorchEngineAvailability.hint)
        let vocabulary = DataPaths.openCLIPVocabulary
        try XCTSkipUnless(FileManager.default.fileExists(atPath: vocabulary.path), "open_clip's vocabulary: run `make data`")
        let command = ["python3", "-m", "gaplab_torch", "open-clip-train",
                       "--train-data", "{data.train_csv}", "--dataset-type", "csv", "--model", "{open_clip_model}",
                       "--epochs", "{train.epochs}", "--batch-size", "{train.batch_size}", "--lr", "{train.lr}",
                       "--warmup", "{train.warmup}", "--seed", "{seed}", "--workers", "0", "--device", "cpu",
                       "--log-every-n-steps", "1", "--logs", "{artifacts}/logs", "--name", "run"]
        let config = try config([
            "data.dataset": .string("scenes?bpe=\(vocabulary.path)"), "model.text_cfg.vocab_size": .number(49408),
            "train.command": strings(command), "train.command_metrics": .string("open_clip"),
            "train.command_checkpoint": .string("{artifacts}/logs/run/checkpoints/epoch_{train.epochs}.pt"),
        ])
        let (storage, runID) = try store("open_clip", config)
        try session(storage, runID, config).execute()

        // The table open_clip read is the run's training split: its 32 images, one row per caption, as open_clip
        // reads a caption table (an open_clip epoch is a pass over every pair, its last partial batch dropped).
        let table = try String(contentsOf: storage.artifactDirectory(runID: runID).appendingPathComponent("engine/pretrain/train-data/train.csv"), encoding: .utf8)
        let rows = table.split(separator: "\n")
        XCTAssertEqual(rows.first, "filepath\ttitle")
        XCTAssertEqual(Set(rows.dropFirst().map { $0.split(separator: "\t")[0] }).count, 32)
        let steps = 2 * ((rows.count - 1) / 8)

        // Every step logged (--log-every-n-steps 1) is a training metric of the run.
        let losses = try storage.metrics(runID: runID, key: "train/loss")
        XCTAssertEqual(losses.map(\.step), Array(0..<steps))
        XCTAssertTrue(losses.allSatisfy { $0.value.isFinite && $0.value > 0 }, "\(losses)")
        let scales = try storage.metrics(runID: runID, key: "train/logit_scale")
        XCTAssertEqual(try XCTUnwrap(scales.first).value, config.model.initLogitScale, accuracy: 0.01, "recorded as ln(scale)")

        let alignment = try XCTUnwrap(try storage.metrics(runID: runID, key: "test/alignment").last)
        XCTAssertEqual(alignment.step, steps, "the final evaluation, after the last step")
        XCTAssertTrue(alignment.value.isFinite)
        // What GapLab evaluated is open_clip's trained model, not an initialisation.
        let weights = storage.artifactDirectory(runID: runID).appendingPathComponent("command-final.safetensors")
        let trained = CLIPModel(config: config.model, maxBatch: 8)
        try trained.loadWeights(from: weights.path)
        XCTAssertEqual(Double(trained.logitScale), try XCTUnwrap(scales.last).value, accuracy: 0.01)
        let initial = CLIPModel(config: config.model, seed: UInt64(config.seed), maxBatch: 8)
        XCTAssertNotEqual(trained.logitScale, initial.logitScale)
    }
}
