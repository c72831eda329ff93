import Foundation
import GapEngine
import GapModel
import GapSpec
import GapTrain
import XCTest

/// Two models in one process, each with its own engine context: trained at the same time on two threads, one at
/// one engine thread and one at two, each ends with the same bits as when it trains alone. With a process-wide
/// thread count, product-kernel switch or scratch, the two would see each other's settings or buffers.
final class ConcurrentModelsTests: XCTestCase {
    // Wide enough that at two threads the loops and the products are split across the context's workers.
    let modelConfig = ModelConfig(embedDim: 64,
                                  vision: VisionConfig(imageSize: 16, patchSize: 4, width: 64, layers: 1, headWidth: 32, mlpRatio: 2),
                                  text: TextConfig(contextLength: 8, vocabSize: 50, width: 64, heads: 2, layers: 1, mlpRatio: 2),
                                  sharing: SharingConfig(depth: 0, head: false))
    let batch = 16, images = 48

    func trainer(threads: Int) throws -> Trainer {
        var train = TrainConfig()
        train.epochs = 1
        train.batchSize = batch
        train.warmup = 1
        train.lr = 0.01
        let model = CLIPModel(config: modelConfig, seed: 3, maxBatch: batch, threads: threads)
        return try Trainer(model: model, train: train, loss: LossConfig(), imageCount: images, seed: 3)
    }

    func train(_ trainer: Trainer) throws -> [Float] {
        try trainer.runEpoch(SyntheticPairs(imageCount: images, model: modelConfig)) { _ in }
        return Array(UnsafeBufferPointer(start: trainer.model.weights.pointer, count: trainer.model.parameterCount))
    }

    func testTwoModelsTrainingAtOnceMatchEachAlone() throws {
        let aloneOne = try train(try trainer(threads: 1))
        let aloneTwo = try train(try trainer(threads: 2))

        let one = try trainer(threads: 1), two = try trainer(threads: 2)
        let outcomes = Outcomes()
        // Two threads of their own, so the two trainings overlap.
        let group = DispatchGroup()
        for (index, trainer) in [one, two].enumerated() {
            group.enter()
            Thread { [self] in
                outcomes.record(index, Result { try train(trainer) })
                group.leave()
            }.start()
        }
        group.wait()
        let results = outcomes.results
        XCTAssertEqual(results.count, 2)
        XCTAssertNoThrow(try results.values.forEach { _ = try $0.get() })
        XCTAssertEqual(one.step, images / batch)
        XCTAssertEqual(two.step, images / batch)
        XCTAssertGreaterThan(two.model.engine.loopCounters.loops, 0, "the two-thread model split its loops")
        XCTAssertEqual(one.model.engine.loopCounters.loops, 0, "the one-thread model ran every loop on its caller")
        XCTAssertEqual(try results[0]?.get().map(\.bitPattern), aloneOne.map(\.bitPattern))
        XCTAssertEqual(try results[1]?.get().map(\.bitPattern), aloneTwo.map(\.bitPattern))
    }
}

/// What the two training threads hand back, each under its index.
private final class Outcomes: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [Int: Result<[Float], Error>] = [:]

    func record(_ index: Int, _ result: Result<[Float], Error>) { lock.withLock { recorded[index] = result } }
    var results: [Int: Result<[Float], Error>] { lock.withLock { recorded } }
}
