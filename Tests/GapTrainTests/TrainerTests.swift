import Foundation
import GapModel
import GapRandom
import GapSpec
import GapTrain
import XCTest

/// Synthetic pairs: image i's pixels and caption are fixed functions of i, so batches depend only on the order.
final class SyntheticPairs: PairBatchSource {
    let imageCount: Int
    let model: ModelConfig

    init(imageCount: Int, model: ModelConfig) {
        self.imageCount = imageCount
        self.model = model
    }

    func writeBatch(images: ArraySlice<Int>, seed: UInt64, epoch: Int, batchIndex: Int, augment: Bool,
                    pixels: UnsafeMutablePointer<Float>, tokens: UnsafeMutablePointer<Int32>) -> [Int] {
        let per = 3 * model.vision.imageSize * model.vision.imageSize, ctx = model.text.contextLength
        for (row, image) in images.enumerated() {
            var rng = SeededRandom(seed: UInt64(image))
            for k in 0..<per { pixels[row * per + k] = Float(rng.uniform(-1, 1)) }
            for k in 0..<ctx { tokens[row * ctx + k] = k == 0 ? 1 : Int32(2 + rng.nextInt(below: model.text.vocabSize - 2)) }
        }
        return Array(images)
    }

    func writeSemanticDistances(captions: [Int], into: UnsafeMutablePointer<Float>) {}
}

final class TrainerTests: XCTestCase {
    let modelConfig = ModelConfig(embedDim: 8,
                                  vision: VisionConfig(imageSize: 4, patchSize: 2, width: 8, layers: 1, headWidth: 4, mlpRatio: 2),
                                  text: TextConfig(contextLength: 5, vocabSize: 13, width: 8, heads: 2, layers: 1, mlpRatio: 2),
                                  sharing: SharingConfig(depth: 0, head: false))

    func trainConfig(epochs: Int) -> TrainConfig {
        var train = TrainConfig()
        train.epochs = epochs
        train.batchSize = 4
        train.warmup = 2
        train.lr = 0.01
        return train
    }

    func trainer(epochs: Int, seed: UInt64 = 5) throws -> Trainer {
        try Trainer(model: CLIPModel(config: modelConfig, seed: seed, maxBatch: 4), train: trainConfig(epochs: epochs),
                    loss: LossConfig(), imageCount: 12, seed: seed)
    }

    /// The data order is GapRandom's, pinned: it must not move with the compiler or the standard library.
    func testEpochOrderIsPinned() throws {
        let trainer = try trainer(epochs: 1)
        XCTAssertEqual(trainer.order(epoch: 0, imageCount: 12), [7, 2, 9, 4, 1, 3, 0, 6, 5, 10, 8, 11])
        XCTAssertNotEqual(trainer.order(epoch: 1, imageCount: 12), trainer.order(epoch: 0, imageCount: 12))
    }

    func testEpochsTakeFullBatchesAndLowerTheLoss() throws {
        let trainer = try trainer(epochs: 4)
        let source = SyntheticPairs(imageCount: 12, model: modelConfig)
        var records: [StepRecord] = []
        while !trainer.isFinished { try trainer.runEpoch(source) { records.append($0) } }
        XCTAssertEqual(trainer.stepsPerEpoch, 3)
        XCTAssertEqual(records.map(\.step), Array(0..<12))
        XCTAssertEqual(records.map(\.epoch), [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3])
        XCTAssertLessThan(records.last!.loss.total, records.first!.loss.total)
    }

    /// Two epochs straight and one epoch, a checkpoint, a new trainer and one more epoch give the same bits.
    func testCheckpointResumesBitForBit() throws {
        let source = SyntheticPairs(imageCount: 12, model: modelConfig)
        let straight = try trainer(epochs: 2)
        while !straight.isFinished { try straight.runEpoch(source) { _ in } }

        let path = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-trainer-\(UUID().uuidString).safetensors").path
        defer {
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.removeItem(atPath: optimizerStatePath(forCheckpoint: path))
        }
        let first = try trainer(epochs: 2)
        try first.runEpoch(source) { _ in }
        try first.saveCheckpoint(to: path)
        let resumed = try trainer(epochs: 2)
        try resumed.loadCheckpoint(from: path)
        XCTAssertEqual(resumed.epoch, 1)
        XCTAssertEqual(resumed.step, 3)
        try resumed.runEpoch(source) { _ in }
        let n = straight.model.parameterCount
        XCTAssertEqual(Array(UnsafeBufferPointer(start: resumed.model.weights.pointer, count: n)),
                       Array(UnsafeBufferPointer(start: straight.model.weights.pointer, count: n)))
    }

    func testACheckpointOfAnotherSeedIsRefused() throws {
        let source = SyntheticPairs(imageCount: 12, model: modelConfig)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-trainer-\(UUID().uuidString).safetensors").path
        defer {
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.removeItem(atPath: optimizerStatePath(forCheckpoint: path))
        }
        let first = try trainer(epochs: 1, seed: 5)
        try first.runEpoch(source) { _ in }
        try first.saveCheckpoint(to: path)
        XCTAssertThrowsError(try trainer(epochs: 1, seed: 6).loadCheckpoint(from: path)) {
            XCTAssertTrue("\($0)".contains("written by a run with seed 5, this run's seed is 6"), "\($0)")
        }
    }

    func testTooFewImagesForOneBatchIsAnError() {
        XCTAssertThrowsError(try Trainer(model: CLIPModel(config: modelConfig, seed: 1, maxBatch: 4), train: trainConfig(epochs: 1),
                                         loss: LossConfig(), imageCount: 3, seed: 1)) {
            XCTAssertEqual("\($0)", "the training split has 3 images, fewer than one batch of 4")
        }
    }
}
