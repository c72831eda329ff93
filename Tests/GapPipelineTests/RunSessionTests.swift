import Foundation
import GapModel
import GapPipeline
import GapSpec
import GapStore
import GapTestSupport
import XCTest

/// The run pipeline called directly, in this process, over a real SQLite store: a tiny model on generated scenes
/// from data to the last metric, a resume after an injected stop, the fine-tuning stage, and the trainer seam.
final class RunSessionTests: XCTestCase {
    var directory: URL!
    var storage: SQLiteStorage!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-pipeline-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    static let tiny = """
    {"model": {"embed_dim": 16,
               "vision_cfg": {"image_size": 16, "patch_size": 8, "width": 16, "layers": 1, "head_width": 8},
               "text_cfg": {"context_length": 12, "vocab_size": 300, "width": 16, "heads": 2, "layers": 1},
               "sharing": {"depth": 1, "head": true}},
     "data": {"dataset": "scenes", "train_size": 96, "val_size": 32, "test_size": 32},
     "loss": {"imsep_weight": 0.5},
     "train": {"epochs": 2, "batch_size": 32, "warmup": 2, "lr": 0.003},
     "eval": {"picture_sample": 24, "linear_probe": false},
     "runtime": {"log_every": 1}}
    """

    func config(_ text: String = RunSessionTests.tiny, overrides: [String: JSONValue] = [:]) throws -> RunConfig {
        var json = try JSONParser.parse(text).value
        for (path, value) in overrides { json = json.setting(keys: path.split(separator: ".").map(String.init), to: value) }
        return try RunConfigResolver.resolve(json)
    }

    /// A store of its own with the run planned in it.
    func plannedStore(_ name: String, _ config: RunConfig) throws -> (SQLiteStorage, String) {
        try GapTestSupport.plannedStore(in: directory.appendingPathComponent(name), experiment: "pipeline", variant: "alignclip",
                                        config: config)
    }

    func session(_ storage: SQLiteStorage, _ runID: String, _ config: RunConfig, engine: TrainingEngine? = nil) throws -> RunSession {
        let session = try RunSession(storage: storage, runID: runID, config: config, artifacts: storage.artifactDirectory(runID: runID),
                                     cacheDirectory: nil, engine: engine)
        session.output = { _ in }
        return session
    }

    func testSessionRecordsEveryStageInTheStore() throws {
        let config = try config()
        let (storage, runID) = try plannedStore("full", config)
        try session(storage, runID, config).execute()
        let metrics = try metricsByKeyAndStep(storage, runID)
        // 96 images, batches of 32: 3 steps an epoch, 6 in all.
        XCTAssertEqual(try storage.metrics(runID: runID, key: "train/loss").map(\.step), [0, 1, 2, 3, 4, 5])
        for key in ["train/loss/imsep@5", "train/lr@0", "train/logit_scale@5", "val/alignment@3", "val/alignment@6",
                    "test/alignment@6", "test/centroid_gap@6", "test/i2t_r1@6", "test_held_out/alignment@6"] {
            XCTAssertNotNil(metrics[key], "missing \(key) in \(metrics.keys.sorted())")
        }
        let artifacts = Set(try storage.artifacts(runID: runID).map(\.name))
        XCTAssertTrue(artifacts.isSuperset(of: ["checkpoint.safetensors", "tokenizer.json", "embeddings_pca.svg"]), "\(artifacts)")
        let params = try storage.params(runID: runID)
        XCTAssertEqual(params["data_info.train_images"], .int(96))
        XCTAssertEqual(params["data_info.semantic_encoder"], .string("tfidf: 661 unigram+bigram features"))
        XCTAssertEqual(try storage.metricDirection(forKey: "test/centroid_gap"), .min)
        // The checkpoint holds the trained weights: evaluation of it is the pipeline's evaluation.
        let model = CLIPModel(config: config.model, maxBatch: 32)
        try model.loadWeights(from: storage.artifactDirectory(runID: runID).appendingPathComponent("checkpoint.safetensors").path)
        XCTAssertEqual(Double(model.logitScale), metrics["train/logit_scale@5"]!, accuracy: 1e-6)
    }

    func testStoppedSessionResumesToTheUninterruptedNumbers() throws {
        let config = try config()
        let (clean, cleanID) = try plannedStore("clean", config)
        try session(clean, cleanID, config).execute()

        let (resumed, runID) = try plannedStore("resumed", config)
        let first = try session(resumed, runID, config)
        first.fault = InjectedFault(afterEpoch: 1, kind: .throw)
        XCTAssertThrowsError(try first.execute()) { XCTAssertTrue($0 is InjectedFault.Stopped, "\($0)") }
        XCTAssertNil(try metricsByKeyAndStep(resumed, runID)["test/alignment@6"], "stopped before the final evaluation")
        var lines: [String] = []
        let second = try session(resumed, runID, config)
        second.output = { lines.append($0) }
        second.fault = InjectedFault(afterEpoch: 1, kind: .throw)
        try second.execute()
        XCTAssertTrue(lines.contains("resumed from checkpoint.safetensors at epoch 1, step 3"), "\(lines)")
        XCTAssertEqual(try metricsByKeyAndStep(resumed, runID), try metricsByKeyAndStep(clean, cleanID))
    }

    func testFinetuningStageRecordsZeroShotAndFinetunedMetrics() throws {
        let config = try config(overrides: [
            "finetune.epochs": 1, "finetune.batch_size": 32, "finetune.warmup": 1,
            "finetune.data.dataset": "scenes", "finetune.data.train_size": 64, "finetune.data.val_size": 16,
            "finetune.data.test_size": 32, "finetune.data.split_seed": 3,
        ])
        let (storage, runID) = try plannedStore("finetune", config)
        try session(storage, runID, config).execute()
        let metrics = try metricsByKeyAndStep(storage, runID)
        // Pre-training took 6 steps, fine-tuning 2 more.
        XCTAssertNotNil(metrics["zeroshot/i2t_r1@6"], "\(metrics.keys.sorted())")
        XCTAssertNotNil(metrics["finetuned/i2t_r1@8"], "\(metrics.keys.sorted())")
        XCTAssertNotNil(metrics["finetune/loss@1"], "\(metrics.keys.sorted())")
    }

    /// Evaluating a run's checkpoint afterwards, in batches of another size, gives the run's own final metrics.
    func testCheckpointEvaluationGivesTheRunsMetricsBack() throws {
        let config = try config()
        let (storage, runID) = try plannedStore("evaluate", config)
        try session(storage, runID, config).execute()
        let artifacts = storage.artifactDirectory(runID: runID)
        let evaluation = CheckpointEvaluation(model: config.model, checkpoint: artifacts.appendingPathComponent("checkpoint.safetensors"),
                                              data: config.data, split: "test",
                                              tokenizer: artifacts.appendingPathComponent("tokenizer.json"), eval: config.eval,
                                              pictures: nil)
        let metrics = try evaluation.run()
        let recorded = try metricsByKeyAndStep(storage, runID)
        for key in ["alignment", "centroid_gap", "i2t_r1", "i2t_r5", "t2i_r1", "uniformity_image"] {
            XCTAssertNotNil(metrics[key], "\(key) in \(metrics.keys.sorted())")
            XCTAssertEqual(metrics[key], recorded["test/\(key)@6"], key)
        }
        try evaluation.log(metrics, to: storage, runID: runID)
        XCTAssertEqual(try metricsByKeyAndStep(storage, runID)["eval/test/alignment@0"], metrics["alignment"])
        var missing = evaluation
        missing.split = "nowhere"
        XCTAssertThrowsError(try missing.run()) { XCTAssertTrue("\($0)".hasPrefix("--split nowhere: the dataset has the splits"), "\($0)") }
    }

    /// An engine that records what the seam hands it and delegates the training to GapLab's.
    final class RecordingEngine: TrainingEngine {
        var jobs: [TrainingJob] = []
        func train(_ job: TrainingJob, observer: TrainingObserver) throws -> CLIPModel? {
            jobs.append(job)
            return try GapLabEngine().train(job, observer: observer)
        }
    }

    func testTheSessionTrainsThroughTheEngineItIsGiven() throws {
        let config = try config()
        let (storage, runID) = try plannedStore("seam", config)
        let engine = RecordingEngine()
        try session(storage, runID, config, engine: engine).execute()
        XCTAssertEqual(engine.jobs.count, 1)
        XCTAssertEqual(engine.jobs.first?.train, config.train)
        XCTAssertEqual(engine.jobs.first?.split.imageCount, 96)
        XCTAssertNotNil(engine.jobs.first?.captionEmbeddings, "IMSep's semantic distances need caption embeddings")
        XCTAssertEqual(engine.jobs.first?.checkpoint?.lastPathComponent, "checkpoint.safetensors")
        XCTAssertNotNil(try metricsByKeyAndStep(storage, runID)["test/alignment@6"])
    }

    func testEngineIsChosenByTheConfiguration() throws {
        var config = RunConfig()
        XCTAssertTrue(try TrainingEngines.engine(for: config) is GapLabEngine)
        config.train.engine = "torch"
        config.runtime.threads = 2
        let torch = try XCTUnwrap(try TrainingEngines.engine(for: config) as? TorchEngine)
        XCTAssertEqual(torch.runtime.threads, 2)
        config.train.engine = "jax"
        XCTAssertThrowsError(try TrainingEngines.engine(for: config)) {
            XCTAssertEqual("\($0)", "train.engine \"jax\" is not available in this build")
        }
    }
}
