import GapData
import GapEngine
import GapModel

/// Embeds a data split with a model through the engine's inference path and gathers everything the
/// evaluation needs: images, every caption with its image, zero-shot prompt sets per label axis and,
/// given a training split, linear-probe sets.
public enum SplitEmbedding {
    public static func images(_ model: CLIPModel, _ split: ImageTextDataset, limit: Int? = nil) throws -> EmbeddingMatrix {
        let n = min(split.imageCount, limit ?? split.imageCount)
        let size = model.config.vision.imageSize, per = 3 * size * size, E = model.config.embedDim
        let chunk = model.maxBatch
        let pixels = FloatBuffer(count: chunk * per)
        var out = [Float](repeating: 0, count: n * E)
        var start = 0
        while start < n {
            let count = min(chunk, n - start)
            split.writeImages(start..<(start + count), size: size, into: pixels.pointer)
            out.withUnsafeMutableBufferPointer { model.encodeImages(pixels.pointer, count: count, into: $0.baseAddress! + start * E) }
            start += count
        }
        return try EmbeddingMatrix(values: out, rows: n, dim: E)
    }

    public static func texts(_ model: CLIPModel, tokens: [Int32], count n: Int) throws -> EmbeddingMatrix {
        let E = model.config.embedDim
        var out = [Float](repeating: 0, count: n * E)
        tokens.withUnsafeBufferPointer { t in
            out.withUnsafeMutableBufferPointer { model.encodeTexts(t.baseAddress!, count: n, into: $0.baseAddress!) }
        }
        return try EmbeddingMatrix(values: out, rows: n, dim: E)
    }

    public static func captions(_ model: CLIPModel, _ split: ImageTextDataset) throws -> EmbeddingMatrix {
        let ctx = model.config.text.contextLength
        var tokens = [Int32](repeating: 0, count: split.captionCount * ctx)
        tokens.withUnsafeMutableBufferPointer { split.writeTokens(0..<split.captionCount, into: $0.baseAddress!) }
        return try texts(model, tokens: tokens, count: split.captionCount)
    }

    /// The evaluation input for `split`; `probeTrain` (usually the training split, capped at `probeLimit`
    /// images) adds linear-probe sets for the axes both splits share.
    public static func input(model: CLIPModel, split: ImageTextDataset, tokenizer: Tokenizer,
                             probeTrain: ImageTextDataset? = nil, probeLimit: Int = 5000) throws -> EvaluationInput {
        let images = try Self.images(model, split)
        let captions = try Self.captions(model, split)
        var zeroShot: [String: ZeroShotTask] = [:]
        let ctx = model.config.text.contextLength
        for axis in split.labelAxes where !axis.classNames.isEmpty && !axis.templates.isEmpty {
            let prompts = axis.promptTokens(tokenizer, contextLength: ctx)
            let embedded = try texts(model, tokens: prompts, count: prompts.count / ctx)
            let weights = try ZeroShot.classWeights(promptEmbeddings: embedded, classes: axis.classNames.count, templates: axis.templates.count)
            zeroShot[axis.name] = ZeroShotTask(images: images, labels: axis.labels, classWeights: weights, ks: [1, 5])
        }
        var probes: [String: LinearProbeTask] = [:]
        if let probeTrain {
            let n = min(probeTrain.imageCount, probeLimit)
            let trainImages = try Self.images(model, probeTrain, limit: n)
            for axis in split.labelAxes {
                guard let trainAxis = probeTrain.labelAxis(named: axis.name), trainAxis.classNames == axis.classNames else { continue }
                probes[axis.name] = LinearProbeTask(trainFeatures: trainImages, trainLabels: Array(trainAxis.labels.prefix(n)),
                                                    testFeatures: images, testLabels: axis.labels, classes: axis.classNames.count)
            }
        }
        return EvaluationInput(images: images, texts: captions, captionImage: split.captionImage, zeroShot: zeroShot, linearProbe: probes)
    }
}
