import Foundation
import GapEngine
import GapLoss
import GapModel
import GapSpec
import GapTrain
import XCTest

/// Serves the fixture's single batch to the real training loop, permuted as the trainer asks
/// (the losses are invariant to permuting pairs together with D).
final class FixtureBatch: PairBatchSource {
    let images: [Float], tokens: [Int32], distances: [Float]
    let imageCount: Int, perImage: Int, context: Int

    init(_ file: SafeTensorsFile) throws {
        images = try file.floats("input.images")
        tokens = try file.int32s("input.tokens")
        let shape = try file.entry("input.images").shape
        imageCount = shape[0]
        perImage = shape[1] * shape[2] * shape[3]
        context = try file.entry("input.tokens").shape[1]
        distances = (try? file.floats("input.semantic_D")) ?? []
    }

    func writeBatch(images order: ArraySlice<Int>, seed: UInt64, epoch: Int, batchIndex: Int, augment: Bool,
                    pixels: UnsafeMutablePointer<Float>, tokens out: UnsafeMutablePointer<Int32>) -> [Int] {
        for (b, i) in order.enumerated() {
            for k in 0..<perImage { pixels[b * perImage + k] = images[i * perImage + k] }
            for k in 0..<context { out[b * context + k] = tokens[i * context + k] }
        }
        return Array(order)
    }

    func writeSemanticDistances(captions: [Int], into: UnsafeMutablePointer<Float>) {
        let n = captions.count
        for (a, i) in captions.enumerated() { for (b, j) in captions.enumerated() { into[a * n + b] = distances[i * imageCount + j] } }
    }
}

/// The engine against PyTorch + open_clip (Tests/Fixtures/make_reference.py): embeddings, loss, every gradient
/// and the weights after 3 AdamW steps with warm-up and the cosine schedule.
final class PyTorchParityTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    /// max |a − b| / max |b| over a tensor (relative to the tensor's scale, so entries that should be 0 count).
    func relativeError(_ a: UnsafePointer<Float>, _ b: [Float], skip: Set<Int> = []) -> Double {
        var err = 0.0, scale = 1e-12
        for i in b.indices where !skip.contains(i) {
            err = max(err, abs(Double(a[i]) - Double(b[i])))
            scale = max(scale, abs(Double(b[i])))
        }
        return err / scale
    }

    func runFixture(_ name: String, sharing: SharingConfig, loss: LossConfig) throws {
        let file = try SafeTensorsFile(path: Self.fixtures.appendingPathComponent("reference_\(name).safetensors").path)
        var config = try JSONDecoder().decode(ModelConfig.self, from: Data(file.metadata["config"]!.utf8))
        config.sharing = sharing
        XCTAssertEqual(config.issues(), [])
        let batch = try FixtureBatch(file)
        let model = CLIPModel(config: config, maxBatch: batch.imageCount)
        try model.loadWeights(from: file, prefix: "param.")
        // Every fixture parameter is one of the model's, and the other way round.
        let fixtureNames = Set(file.names.filter { $0.hasPrefix("param.") }.map { String($0.dropFirst(6)) })
        XCTAssertEqual(fixtureNames, Set(model.layout.tensors.map(\.name)))

        // Embeddings and loss.
        let n = batch.imageCount, E = config.embedDim
        let (v, t) = model.forward(images: batch.images, tokens: batch.tokens, batch: n)
        let imageError = relativeError(v, try file.floats("out.image_embeds"))
        let textError = relativeError(t, try file.floats("out.text_embeds"))
        var objective = try ContrastiveLoss(settings: loss, maxBatch: n)
        var dV = [Float](repeating: 0, count: n * E), dT = dV
        let result = batch.distances.isEmpty
            ? objective.forwardBackward(engine: model.engine, image: v, text: t, count: n, dim: E, logitScale: model.logitScale, semanticDistance: nil,
                                        imageGrad: &dV, textGrad: &dT)
            : objective.forwardBackward(engine: model.engine, image: v, text: t, count: n, dim: E, logitScale: model.logitScale,
                                        semanticDistance: batch.distances, imageGrad: &dV, textGrad: &dT)
        let expectedLoss = try file.floats("out.loss")[0]
        let lossError = abs(Double(result.total - expectedLoss)) / abs(Double(expectedLoss))
        XCTAssertLessThan(imageError, 1e-5, "\(name): image embeddings")
        XCTAssertLessThan(textError, 1e-5, "\(name): text embeddings")
        XCTAssertLessThan(lossError, 1e-5, "\(name): loss \(result.total) vs \(expectedLoss)")

        // Gradients of every parameter.
        model.zeroGrads()
        model.backward(imageEmbedGrad: dV, textEmbedGrad: dT)
        model.gradPointer("logit_scale").pointee = result.logitScaleGrad
        var worstGrad = (0.0, "")
        for tensor in model.layout.tensors {
            let e = relativeError(model.grads.pointer + tensor.offset, try file.floats("grad.\(tensor.name)"))
            if e > worstGrad.0 { worstGrad = (e, tensor.name) }
            XCTAssertLessThan(e, 1e-4, "\(name): gradient of \(tensor.name)")
        }

        // Three AdamW steps through the training loop itself (batch = the whole fixture, 1 step per epoch).
        let fresh = CLIPModel(config: config, maxBatch: n)
        try fresh.loadWeights(from: file, prefix: "param.")
        var train = TrainConfig()
        train.epochs = 3
        train.batchSize = n
        train.lr = 1e-3
        train.warmup = 2
        train.wd = 0.1
        train.beta1 = 0.9
        train.beta2 = 0.98
        train.eps = 1e-6
        let trainer = try Trainer(model: fresh, train: train, loss: loss, imageCount: n, seed: 0)
        var lrs: [Double] = []
        for _ in 0..<3 { try trainer.runEpoch(batch) { lrs.append($0.lr) } }
        let expectedLRs = try file.floats("out.lrs")
        for (a, b) in zip(lrs, expectedLRs) { XCTAssertEqual(a, Double(b), accuracy: 1e-9) }
        var worstStep = (0.0, "")
        let C = config.text.width
        for tensor in fresh.layout.tensors {
            // The key slice of in_proj_bias has an exactly-zero true gradient; both sides hold float rounding
            // noise there that Adam scales up to ~lr, so it is compared with an absolute tolerance below.
            let keyBias = tensor.name.hasSuffix("attn.in_proj_bias") ? Set(C..<(2 * C)) : []
            let expected = try file.floats("step3.\(tensor.name)")
            let e = relativeError(fresh.weights.pointer + tensor.offset, expected, skip: keyBias)
            if e > worstStep.0 { worstStep = (e, tensor.name) }
            XCTAssertLessThan(e, 1e-4, "\(name): weights of \(tensor.name) after 3 steps")
            for i in keyBias { XCTAssertEqual(fresh.weights.pointer[tensor.offset + i], expected[i], accuracy: 1e-3) }
        }
        print(String(format: "parity %@: embeddings %.1e/%.1e, loss %.1e, worst gradient %.1e (%@), worst weight after 3 steps %.1e (%@)",
                     name, imageError, textError, lossError, worstGrad.0, worstGrad.1, worstStep.0, worstStep.1))
    }

    func testTwoTowerCLIP() throws {
        try runFixture("two_tower", sharing: SharingConfig(depth: 0, head: false), loss: LossConfig(crossReduction: .mean))
    }

    func testSharedAlignCLIP() throws {
        try runFixture("shared", sharing: SharingConfig(depth: 2, head: true),
                       loss: LossConfig(clipWeight: 1, crossReduction: .sum, imsepWeight: 0.5, imsepModality: .image, imsepRescale: .semantic))
    }

    func testPartialSharing() throws {
        try runFixture("partial", sharing: SharingConfig(depth: 1, head: false), loss: LossConfig(crossReduction: .mean))
    }

    /// `gaplab init` output and open_clip's names agree: the two-tower fixture loads with strict name checks.
    func testCheckpointRoundTripAndMismatchMessage() throws {
        let file = try SafeTensorsFile(path: Self.fixtures.appendingPathComponent("reference_two_tower.safetensors").path)
        let config = try JSONDecoder().decode(ModelConfig.self, from: Data(file.metadata["config"]!.utf8))
        let model = CLIPModel(config: config, maxBatch: 2)
        try model.loadWeights(from: file, prefix: "param.")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-roundtrip-\(getpid()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.saveWeights(to: path)
        let again = CLIPModel(config: config, maxBatch: 2)
        try again.loadWeights(from: path)
        XCTAssertEqual(model.weights.array, again.weights.array)
        XCTAssertEqual(try SafeTensorsFile(path: path).entry("logit_scale").shape, [])

        var shared = config
        shared.sharing = SharingConfig(depth: 2, head: true)
        XCTAssertThrowsError(try CLIPModel(config: shared, maxBatch: 2).loadWeights(from: path)) { error in
            XCTAssertTrue("\(error)".contains("missing tensor 'text.positional_embedding'"), "\(error)")
        }
    }
}

/// A non-finite loss or gradient stops training with an error naming the step, never a silent NaN run.
final class NonFiniteStopTests: XCTestCase {
    func testNaNWeightStopsTrainingNamingTheStep() throws {
        let file = try SafeTensorsFile(path: PyTorchParityTests.fixtures.appendingPathComponent("reference_two_tower.safetensors").path)
        let config = try JSONDecoder().decode(ModelConfig.self, from: Data(file.metadata["config"]!.utf8))
        let batch = try FixtureBatch(file)
        let model = CLIPModel(config: config, maxBatch: batch.imageCount)
        try model.loadWeights(from: file, prefix: "param.")
        var train = TrainConfig()
        train.epochs = 3
        train.batchSize = batch.imageCount
        let trainer = try Trainer(model: model, train: train, loss: LossConfig(), imageCount: batch.imageCount, seed: 0)
        try trainer.runEpoch(batch) { _ in }
        model.pointer("visual.proj")[0] = .nan
        XCTAssertThrowsError(try trainer.runEpoch(batch) { _ in }) { error in
            XCTAssertEqual("\(error)", "training stopped at step 1: the loss (nan) is not finite")
        }
    }
}
