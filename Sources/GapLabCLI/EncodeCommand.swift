import ArgumentParser
import Foundation
import GapEngine
import GapLoss
import GapModel
import GapSpec

struct EncodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Embed a batch of images and token rows with a checkpoint; write the embeddings and the batch's CLIP loss.",
        discussion: """
        IN holds `images` float32 [N, 3, H, W] (already CLIP-normalised) and `tokens` int32 or int64 [N, context]. \
        OUT receives `image_embeds` and `text_embeds` (float32 [N, embed_dim], L2-normalised) and `loss`, the CLIP \
        InfoNCE of the batch (mean of the two directions, as open_clip's ClipLoss) as a 0-dim tensor.
        """)

    @Option(help: "Model config JSON in open_clip's format, with optional \"sharing\".")
    var model: String
    @Option(help: "Checkpoint (.safetensors) that fits the model config.")
    var checkpoint: String
    @Option(help: "Input safetensors with `images` and `tokens`.")
    var inputs: String
    @Option(help: "Output safetensors.")
    var out: String
    @OptionGroup var threadOptions: ThreadOptions

    func run() throws {
        let config = try loadModelConfig(model)
        let input = try SafeTensorsFile(path: inputs)
        let imageEntry = try input.entry("images"), tokenEntry = try input.entry("tokens")
        let v = config.vision, ctx = config.text.contextLength
        guard imageEntry.shape.count == 4, imageEntry.shape[1] == 3, imageEntry.shape[2] == v.imageSize, imageEntry.shape[3] == v.imageSize else {
            throw ValidationError("\(inputs): images has shape \(imageEntry.shape), expected [N, 3, \(v.imageSize), \(v.imageSize)]")
        }
        let n = imageEntry.shape[0]
        guard tokenEntry.shape == [n, ctx] else {
            throw ValidationError("\(inputs): tokens has shape \(tokenEntry.shape), expected [\(n), \(ctx)]")
        }
        let images = try input.floats("images"), tokens = try input.int32s("tokens")
        if let bad = tokens.firstIndex(where: { $0 < 0 || Int($0) >= config.text.vocabSize }) {
            throw ValidationError("\(inputs): tokens[\(bad / ctx)][\(bad % ctx)] = \(tokens[bad]) is outside the vocabulary 0..<\(config.text.vocabSize)")
        }
        let clip = CLIPModel(config: config, maxBatch: max(1, min(n, 256)), threads: threadOptions.threads)
        try clip.loadWeights(from: checkpoint)
        let E = config.embedDim
        var imageEmbeds = [Float](repeating: 0, count: n * E), textEmbeds = [Float](repeating: 0, count: n * E)
        clip.encodeImages(images, count: n, into: &imageEmbeds)
        clip.encodeTexts(tokens, count: n, into: &textEmbeds)
        var loss = try ContrastiveLoss(settings: LossConfig(crossReduction: .mean), maxBatch: max(n, 1))
        let result = loss.forward(engine: clip.engine, image: imageEmbeds, text: textEmbeds, count: n, dim: E, logitScale: clip.logitScale, semanticDistance: nil)
        var writer = SafeTensorsWriter()
        writer.add("image_embeds", floats: imageEmbeds, shape: [n, E])
        writer.add("text_embeds", floats: textEmbeds, shape: [n, E])
        writer.add("loss", floats: [result.total], shape: [])
        try writer.write(to: out)
        print(String(format: "wrote %@: %d pairs, loss %.6f", out, n, result.total))
    }
}
