import GapModel
import GapSpec
import XCTest

/// An example's embedding does not depend on the batch it is embedded in: alone, among others, in batches of any
/// size and in any order, `encodeImages` and `encodeTexts` give the same floats, bit for bit. A run's evaluation
/// (batches of the training batch size) and `gaplab eval` of its checkpoint (larger batches) must agree exactly:
/// one flipped ranking changes a recall.
final class BatchIndependenceTests: XCTestCase {
    /// The end-to-end test's model (widths of 16, one block a tower, shared), a three-block text tower (its first
    /// blocks run whole, over however many rows the batch's longest caption needs) and widths the engine's tiles
    /// take.
    static let configs: [ModelConfig] = [
        ModelConfig(embedDim: 16,
                    vision: VisionConfig(imageSize: 16, patchSize: 8, width: 16, layers: 1, headWidth: 8, mlpRatio: 4),
                    text: TextConfig(contextLength: 12, vocabSize: 300, width: 16, heads: 2, layers: 1, mlpRatio: 4),
                    sharing: SharingConfig(depth: 1, head: true)),
        ModelConfig(embedDim: 16,
                    vision: VisionConfig(imageSize: 16, patchSize: 8, width: 16, layers: 2, headWidth: 8, mlpRatio: 4),
                    text: TextConfig(contextLength: 20, vocabSize: 300, width: 24, heads: 3, layers: 3, mlpRatio: 2),
                    sharing: SharingConfig(depth: 0, head: false)),
        ModelConfig(embedDim: 64,
                    vision: VisionConfig(imageSize: 8, patchSize: 4, width: 64, layers: 2, headWidth: 32, mlpRatio: 2),
                    text: TextConfig(contextLength: 19, vocabSize: 50, width: 64, heads: 2, layers: 2, mlpRatio: 2),
                    sharing: SharingConfig(depth: 0, head: false)),
    ]

    /// Caption token rows: a start token, words, and the end-of-text token (the largest id) at positions from 1 to
    /// the end of the context.
    func captions(_ config: ModelConfig, count: Int) -> [Int32] {
        let ctx = config.text.contextLength, vocab = Int32(config.text.vocabSize)
        var tokens = [Int32](repeating: 0, count: count * ctx)
        for row in 0..<count {
            let end = 1 + (row * 7) % (ctx - 1)
            tokens[row * ctx] = vocab - 2
            for t in 1..<end { tokens[row * ctx + t] = Int32(1 + (row * 3 + t * 5) % Int(vocab - 3)) }
            tokens[row * ctx + end] = vocab - 1
        }
        return tokens
    }

    func testImageEmbeddingsDoNotDependOnTheBatch() {
        for config in Self.configs {
            let count = 37, per = 3 * config.vision.imageSize * config.vision.imageSize, E = config.embedDim
            let images = seededFloats(count * per, seed: 21)
            // Batches of 64 (all at once), 32 (as a run's evaluation takes them), 7 and 1.
            var reference: [Float] = []
            for maxBatch in [64, 32, 7, 1] {
                let model = CLIPModel(config: config, seed: 5, maxBatch: maxBatch)
                var embeds = [Float](repeating: .nan, count: count * E)
                images.withUnsafeBufferPointer { model.encodeImages($0.baseAddress!, count: count, into: &embeds) }
                if reference.isEmpty { reference = embeds; continue }
                assertBitIdentical(embeds, reference, E, "image, batches of \(maxBatch), width \(config.vision.width)")
            }
            // The images in reverse order, in one batch: each among other neighbours, at another position.
            let model = CLIPModel(config: config, seed: 5, maxBatch: 64)
            var reversed: [Float] = []
            for row in (0..<count).reversed() { reversed += images[(row * per)..<((row + 1) * per)] }
            var embeds = [Float](repeating: .nan, count: count * E)
            reversed.withUnsafeBufferPointer { model.encodeImages($0.baseAddress!, count: count, into: &embeds) }
            var unreversed: [Float] = []
            for row in (0..<count).reversed() { unreversed += embeds[(row * E)..<((row + 1) * E)] }
            assertBitIdentical(unreversed, reference, E, "image, reversed, width \(config.vision.width)")
        }
    }

    func testTextEmbeddingsDoNotDependOnTheBatch() {
        for config in Self.configs {
            let count = 41, ctx = config.text.contextLength, E = config.embedDim
            let tokens = captions(config, count: count)
            // One batch (cut after the longest caption), batches of 32 and 7 in order of length, and one at a time
            // (each cut after its own end).
            var reference: [Float] = []
            for maxBatch in [64, 32, 7, 1] {
                let model = CLIPModel(config: config, seed: 6, maxBatch: maxBatch)
                var embeds = [Float](repeating: .nan, count: count * E)
                tokens.withUnsafeBufferPointer { model.encodeTexts($0.baseAddress!, count: count, into: &embeds) }
                if reference.isEmpty { reference = embeds; continue }
                assertBitIdentical(embeds, reference, E, "text, batches of \(maxBatch), width \(config.text.width)")
            }
            // Each caption in a batch of two with a caption of full length, which keeps every row of the context.
            let model = CLIPModel(config: config, seed: 6, maxBatch: 2)
            let longest = (0..<count).first { tokens[$0 * ctx + ctx - 1] == Int32(config.text.vocabSize) - 1 }!
            let long = Array(tokens[(longest * ctx)..<((longest + 1) * ctx)])
            var paired = [Float](repeating: .nan, count: count * E)
            for row in 0..<count {
                let pair = Array(tokens[(row * ctx)..<((row + 1) * ctx)]) + long
                var embeds = [Float](repeating: .nan, count: 2 * E)
                pair.withUnsafeBufferPointer { model.encodeTexts($0.baseAddress!, count: 2, into: &embeds) }
                paired.replaceSubrange((row * E)..<((row + 1) * E), with: embeds[0..<E])
            }
            assertBitIdentical(paired, reference, E, "text, beside a full-length caption, width \(config.text.width)")
        }
    }

    func assertBitIdentical(_ got: [Float], _ expected: [Float], _ dim: Int, _ what: String,
                            file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, expected.count, what, file: file, line: line)
        let differing = (0..<min(got.count, expected.count) / dim).filter { row in
            (0..<dim).contains { got[row * dim + $0].bitPattern != expected[row * dim + $0].bitPattern }
        }
        XCTAssertEqual(differing, [], "\(what): rows whose embedding differs", file: file, line: line)
    }
}
