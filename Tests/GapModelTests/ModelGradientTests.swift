import GapEngine
import GapRandom
import GapModel
import GapSpec
import XCTest

func tinyConfig(depth: Int, head: Bool, visionLayers: Int = 2, textLayers: Int = 2) -> ModelConfig {
    ModelConfig(embedDim: 6,
                vision: VisionConfig(imageSize: 4, patchSize: 2, width: 8, layers: visionLayers, headWidth: 4, mlpRatio: 2),
                text: TextConfig(contextLength: 5, vocabSize: 11, width: 8, heads: 2, layers: textLayers, mlpRatio: 2),
                sharing: SharingConfig(depth: depth, head: head))
}

func seededFloats(_ n: Int, seed: UInt64, scale: Double = 1) -> [Float] {
    var rng = SeededRandom(seed: seed)
    return (0..<n).map { _ in Float(rng.gaussian() * scale) }
}

/// The whole model's backward against finite differences, for two towers, partial and full sharing.
final class ModelGradientTests: XCTestCase {
    func check(_ config: ModelConfig, stepSize: Float = 3e-3,
               tokens: [Int32] = [9, 3, 10, 0, 0,   9, 10, 0, 0, 0,   9, 4, 5, 6, 10],
               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(config.issues(), [], file: file, line: line)
        let batch = 3
        let model = CLIPModel(config: config, seed: 7, maxBatch: batch)
        let images = seededFloats(batch * 3 * 16, seed: 1)
        let E = config.embedDim
        let rImage = seededFloats(batch * E, seed: 2), rText = seededFloats(batch * E, seed: 3)
        func loss() -> Double {
            let (v, t) = model.forward(images: images, tokens: tokens, batch: batch)
            var s = 0.0
            for i in 0..<(batch * E) { s += Double(v[i]) * Double(rImage[i]) + Double(t[i]) * Double(rText[i]) }
            return s
        }
        _ = loss()
        model.zeroGrads()
        model.backward(imageEmbedGrad: rImage, textEmbedGrad: rText)
        let analytic = model.grads.array
        var checked = 0
        for tensor in model.layout.tensors where tensor.name != "logit_scale" {
            let slice = Array(analytic[tensor.offset..<(tensor.offset + tensor.count)])
            var rng = SeededRandom(seed: 5, stream: tensor.name)
            let p = model.weights.pointer + tensor.offset
            let scale = max(slice.map { abs(Double($0)) }.max() ?? 0, 1e-3)
            for _ in 0..<6 {
                let i = Int(rng.next() % UInt64(tensor.count))
                let saved = p[i], h: Float = stepSize
                p[i] = saved + h; let plus = loss()
                p[i] = saved - h; let minus = loss()
                p[i] = saved
                let numeric = (plus - minus) / Double(2 * h)
                XCTAssertLessThan(abs(numeric - Double(slice[i])), 3e-2 * max(abs(numeric), scale),
                                  "\(tensor.name)[\(i)] numeric \(numeric) analytic \(slice[i])", file: file, line: line)
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 50, file: file, line: line)
    }

    func testTwoTowers() { check(tinyConfig(depth: 0, head: false)) }
    func testPartialSharing() { check(tinyConfig(depth: 1, head: false)) }
    func testSharedHeadOnly() { check(tinyConfig(depth: 0, head: true)) }
    func testFullSharing() { check(tinyConfig(depth: 2, head: true)) }
    func testPartialSharingUnequalDepths() { check(tinyConfig(depth: 1, head: true, visionLayers: 3, textLayers: 2), stepSize: 1e-3) }
    /// Every end-of-text token before the last position: the text tower runs on the first four rows of each
    /// sequence, and the positional embedding of the row cut gets a zero gradient, as finite differences do.
    func testTextCutAfterTheLastEndOfText() {
        let tokens: [Int32] = [9, 3, 5, 10, 0,   9, 10, 0, 0, 0,   9, 4, 10, 0, 0]
        check(tinyConfig(depth: 0, head: false), stepSize: 1e-3, tokens: tokens)
        check(tinyConfig(depth: 1, head: true), stepSize: 5e-4, tokens: tokens)
        let config = tinyConfig(depth: 0, head: false)
        let model = CLIPModel(config: config, seed: 7, maxBatch: 3)
        _ = model.forward(images: seededFloats(3 * 3 * 16, seed: 1), tokens: tokens, batch: 3)
        model.zeroGrads()
        model.backward(imageEmbedGrad: seededFloats(3 * 6, seed: 2), textEmbedGrad: seededFloats(3 * 6, seed: 3))
        let positional = model.gradPointer(model.layout.textEmbeddingNames.positional), width = config.text.width
        XCTAssertTrue((0..<(4 * width)).contains { positional[$0] != 0 })
        XCTAssertTrue((4 * width..<(5 * width)).allSatisfy { positional[$0] == 0 })
    }

    func testSharedTensorsAreUsedByBothTowers() {
        let config = tinyConfig(depth: 2, head: true)
        let layout = ParameterLayout(config: config)
        XCTAssertEqual(layout.visionBlockNames, layout.textBlockNames)
        XCTAssertEqual(layout.visionHead.projection, "projection")
        XCTAssertNil(layout.info("visual.proj"))
        XCTAssertNil(layout.info("text_projection"))
        XCTAssertNotNil(layout.info("text.token_embedding.weight"))
        // Both towers add to the shared projection's gradient: zeroing one tower's upstream gradient changes it.
        let model = CLIPModel(config: config, seed: 1, maxBatch: 2)
        let images = seededFloats(2 * 3 * 16, seed: 4)
        let tokens: [Int32] = [9, 3, 10, 0, 0, 9, 10, 0, 0, 0]
        _ = model.forward(images: images, tokens: tokens, batch: 2)
        let g = seededFloats(2 * 6, seed: 5), zero = [Float](repeating: 0, count: 12)
        model.zeroGrads(); model.backward(imageEmbedGrad: g, textEmbedGrad: zero)
        let imageOnly = model.gradPointer("projection")[0]
        model.zeroGrads(); model.backward(imageEmbedGrad: g, textEmbedGrad: g)
        XCTAssertNotEqual(imageOnly, model.gradPointer("projection")[0])
    }
}
