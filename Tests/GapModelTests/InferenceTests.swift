import GapEngine
import GapModel
import GapSpec
import XCTest

/// Inference (`encodeImages`, `encodeTexts`) runs the last block for the pooled row only: its embeddings equal the
/// training forward pass's, for two towers and shared blocks, end-of-text tokens at different positions, and a
/// width the engine's tiles take.
final class InferenceTests: XCTestCase {
    func testPooledLastBlockGivesTheTrainingEmbeddings() {
        let wide = ModelConfig(embedDim: 16,
                               vision: VisionConfig(imageSize: 8, patchSize: 4, width: 64, layers: 2, headWidth: 32, mlpRatio: 2),
                               text: TextConfig(contextLength: 5, vocabSize: 11, width: 64, heads: 2, layers: 3, mlpRatio: 2),
                               sharing: SharingConfig(depth: 0, head: false))
        for config in [tinyConfig(depth: 0, head: false), tinyConfig(depth: 2, head: true), tinyConfig(depth: 1, head: true, visionLayers: 3),
                       wide] {
            let batch = 3, per = 3 * config.vision.imageSize * config.vision.imageSize, E = config.embedDim
            let model = CLIPModel(config: config, seed: 11, maxBatch: batch)
            let images = seededFloats(batch * per, seed: 4)
            let tokens: [Int32] = [9, 3, 10, 0, 0,   9, 10, 0, 0, 0,   9, 4, 5, 6, 10]
            // Copies: the forward pass returns the heads' buffers, which the encoders below write again.
            let (vision, text) = model.forward(images: images, tokens: tokens, batch: batch)
            let v = Array(UnsafeBufferPointer(start: vision, count: batch * E)), t = Array(UnsafeBufferPointer(start: text, count: batch * E))
            var imageEmbeds = [Float](repeating: 0, count: batch * E), textEmbeds = imageEmbeds
            images.withUnsafeBufferPointer { model.encodeImages($0.baseAddress!, count: batch, into: &imageEmbeds) }
            tokens.withUnsafeBufferPointer { model.encodeTexts($0.baseAddress!, count: batch, into: &textEmbeds) }
            for i in 0..<(batch * E) {
                XCTAssertEqual(imageEmbeds[i], v[i], accuracy: 1e-5, "image \(i), vision width \(config.vision.width)")
                XCTAssertEqual(textEmbeds[i], t[i], accuracy: 1e-5, "text \(i), text width \(config.text.width)")
            }
        }
    }
}
