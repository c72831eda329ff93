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

    /// Captions of different lengths, more than one batch of them: `encodeTexts` takes them in order of length and
    /// cuts each batch after its last end-of-text token. Every embedding lands in its own row and equals the one
    /// the training forward pass gives at full context length, alone in a batch or among the others.
    func testTextsCutAfterTheirEndGiveTheFullLengthEmbeddings() {
        let wide = ModelConfig(embedDim: 16,
                               vision: VisionConfig(imageSize: 8, patchSize: 4, width: 64, layers: 1, headWidth: 32, mlpRatio: 2),
                               text: TextConfig(contextLength: 9, vocabSize: 13, width: 64, heads: 2, layers: 3, mlpRatio: 2),
                               sharing: SharingConfig(depth: 0, head: false))
        for config in [tinyConfig(depth: 0, head: false, textLayers: 3), wide] {
            let ctx = config.text.contextLength, vocab = Int32(config.text.vocabSize), E = config.embedDim
            let maxBatch = 4, count = 11
            let model = CLIPModel(config: config, seed: 12, maxBatch: maxBatch)
            // Start token, then words, then the end-of-text token (the largest id) at a position that varies.
            var tokens = [Int32](repeating: 0, count: count * ctx)
            for row in 0..<count {
                let end = 1 + (row * 5) % (ctx - 1)
                tokens[row * ctx] = vocab - 2
                for t in 1..<end { tokens[row * ctx + t] = Int32(1 + (row + t) % Int(vocab - 3)) }
                tokens[row * ctx + end] = vocab - 1
            }
            var together = [Float](repeating: .nan, count: count * E)
            tokens.withUnsafeBufferPointer { model.encodeTexts($0.baseAddress!, count: count, into: &together) }
            let images = seededFloats(3 * config.vision.imageSize * config.vision.imageSize, seed: 5)
            for row in 0..<count {
                let own = Array(tokens[(row * ctx)..<((row + 1) * ctx)])
                var alone = [Float](repeating: .nan, count: E)
                own.withUnsafeBufferPointer { model.encodeTexts($0.baseAddress!, count: 1, into: &alone) }
                let (_, text) = model.forward(images: images, tokens: own, batch: 1)
                for i in 0..<E {
                    XCTAssertEqual(together[row * E + i], alone[i], accuracy: 1e-6, "row \(row), width \(config.text.width)")
                    XCTAssertEqual(together[row * E + i], text[i], accuracy: 1e-5, "row \(row), width \(config.text.width)")
                }
            }
        }
    }
}
