import Foundation
import GapData
import GapEval
import GapModel
import GapPipeline
import GapSpec
import GapStore
import GapTestSupport
import XCTest

/// Both engines are right: the same configuration, from the same initial weights (GapLab's seeded
/// initialisation, which the torch engine is handed), on the same exported batches, through the whole pipeline.
/// `train/loss` agrees at every one of 20 steps and the final embeddings of the test split agree, on the CPU in
/// float32, for every architecture and loss arm, with learned and with fixed temperature.
final class CrossEngineParityTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        try XCTSkipUnless(TorchEngineAvailability.installed, TorchEngineAvailability.hint)
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-parity-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    /// 40 pairs in batches of 8: 5 steps an epoch, 4 epochs, 20 steps.
    static let tiny = """
    {"model": {"embed_dim": 16,
               "vision_cfg": {"image_size": 16, "patch_size": 8, "width": 32, "layers": 2, "head_width": 16},
               "text_cfg": {"context_length": 12, "vocab_size": 300, "width": 32, "heads": 2, "layers": 2}},
     "data": {"dataset": "scenes", "train_size": 40, "val_size": 16, "test_size": 24},
     "train": {"epochs": 4, "batch_size": 8, "warmup": 3, "lr": 0.002},
     "eval": {"every_epoch": false, "pictures": false, "linear_probe": false, "zeroshot": false},
     "runtime": {"log_every": 1}}
    """

    static let arms: [(name: String, overrides: [String: JSONValue])] = [
        ("clip", [:]),
        ("sharedclip-depth1", ["model.sharing.depth": 1]),
        ("sharedclip-full-head", ["model.sharing.depth": 2, "model.sharing.head": true]),
        ("alignclip", ["model.sharing.depth": 2, "model.sharing.head": true, "loss.imsep_weight": 0.5,
                       "loss.imsep_modality": "both", "loss.imsep_rescale": "semantic"]),
        ("cyclip", ["loss.cyclip_lambda1": 0.25, "loss.cyclip_lambda2": 0.25, "loss.cross_reduction": "mean"]),
    ]

    func testEnginesAgreeStepByStepForEveryArm() throws {
        for arm in Self.arms {
            for learned in [true, false] {
                var overrides = arm.overrides
                overrides["train.learn_logit_scale"] = .bool(learned)
                try checkParity("\(arm.name)-\(learned ? "learned" : "fixed")", overrides: overrides)
            }
        }
    }

    /// A torch run stopped right after its epoch-2 checkpoint and started again ends with the same records as
    /// one that was never stopped (the throughput figure aside, which is a measurement).
    func testStoppedTorchRunResumesToTheUninterruptedNumbers() throws {
        var config = try Self.config(["eval.every_epoch": true])
        config.train.engine = TrainEngine.torch.rawValue
        let clean = try run("torch-clean", config)
        let resumed = try run("torch-resumed", config, fault: InjectedFault(afterEpoch: 2, kind: .throw))
        func records(_ outcome: Outcome) throws -> [String: Double] {
            try metricsByKeyAndStep(outcome.storage, outcome.runID).filter { !$0.key.hasPrefix("train/samples_per_second") }
        }
        let uninterrupted = try records(clean)
        XCTAssertNotNil(uninterrupted["val/alignment@10"], "\(uninterrupted.keys.sorted())")
        let after = try records(resumed)
        let differing = Set(after.keys).union(uninterrupted.keys).filter { after[$0] != uninterrupted[$0] }.sorted()
        XCTAssertEqual(differing, [], "\(differing.count) differ, e.g. " + differing.prefix(12).map { (key: String) in "\(key): \(after[key] ?? .nan) vs \(uninterrupted[key] ?? .nan)" }.joined(separator: ", "))
    }

    func checkParity(_ name: String, overrides: [String: JSONValue]) throws {
        var config = try Self.config(overrides)
        let swift = try run(name + "-gaplab", config)
        config.train.engine = TrainEngine.torch.rawValue
        let torch = try run(name + "-torch", config)

        XCTAssertEqual(swift.losses.count, 20, name)
        XCTAssertEqual(torch.losses.map(\.step), swift.losses.map(\.step), name)
        for (a, b) in zip(swift.losses, torch.losses) {
            XCTAssertEqual(b.value, a.value, accuracy: 1e-4 * abs(a.value), "\(name): train/loss at step \(a.step)")
        }
        XCTAssertEqual(torch.lastLogitScale, swift.lastLogitScale, accuracy: 1e-5 * swift.lastLogitScale, name)
        let (swiftImages, swiftTexts) = try embeddings(config, weights: swift.checkpoint)
        let (torchImages, torchTexts) = try embeddings(config, weights: torch.checkpoint)
        XCTAssertLessThan(maxDifference(swiftImages, torchImages), 1e-4, "\(name): image embeddings")
        XCTAssertLessThan(maxDifference(swiftTexts, torchTexts), 1e-4, "\(name): text embeddings")
    }

    static func config(_ overrides: [String: JSONValue]) throws -> RunConfig {
        var json = try JSONParser.parse(tiny).value
        for (path, value) in overrides { json = json.setting(keys: path.split(separator: ".").map(String.init), to: value) }
        return try RunConfigResolver.resolve(json)
    }

    struct Outcome {
        var losses: [MetricPoint]
        var lastLogitScale: Double
        var checkpoint: URL
        var storage: SQLiteStorage
        var runID: String
    }

    /// One run through the pipeline in a store of its own.
    func run(_ name: String, _ config: RunConfig, fault: InjectedFault? = nil) throws -> Outcome {
        let (storage, runID) = try plannedStore(in: directory.appendingPathComponent(name), experiment: "parity", variant: name,
                                                config: config)
        let session = try RunSession(storage: storage, runID: runID, config: config,
                                     artifacts: storage.artifactDirectory(runID: runID), cacheDirectory: nil)
        session.output = { _ in }
        if let fault {
            session.fault = fault
            XCTAssertThrowsError(try session.execute()) { XCTAssertTrue($0 is InjectedFault.Stopped, "\($0)") }
            let again = try RunSession(storage: storage, runID: runID, config: config,
                                       artifacts: storage.artifactDirectory(runID: runID), cacheDirectory: nil)
            again.output = { _ in }
            again.fault = fault
            try again.execute()
        } else {
            try session.execute()
        }
        let scales = try storage.metrics(runID: runID, key: "train/logit_scale")
        return Outcome(losses: try storage.metrics(runID: runID, key: "train/loss"),
                       lastLogitScale: try XCTUnwrap(scales.last?.value), checkpoint: session.checkpointURL,
                       storage: storage, runID: runID)
    }

    func embeddings(_ config: RunConfig, weights: URL) throws -> (EmbeddingMatrix, EmbeddingMatrix) {
        let m = config.model
        let data = try loadDataset(config.data, imageSize: m.vision.imageSize, contextLength: m.text.contextLength,
                                   vocabSize: m.text.vocabSize, cacheDirectory: nil)
        let model = CLIPModel(config: m, maxBatch: config.train.batchSize)
        try model.loadWeights(from: weights.path)
        let input = try SplitEmbedding.input(model: model, split: data.test, tokenizer: data.tokenizer)
        return (input.images, input.texts)
    }

    func maxDifference(_ a: EmbeddingMatrix, _ b: EmbeddingMatrix) -> Float {
        XCTAssertEqual(a.values.count, b.values.count)
        return zip(a.values, b.values).map { abs($0 - $1) }.max() ?? .infinity
    }
}
