import ArgumentParser
import GapRandom
import Foundation
import GapData
import GapSpec

/// `gaplab data …`: generate, inspect and benchmark datasets.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Generate, inspect and time GapLab's datasets.",
        subcommands: [DataSynthCommand.self, DataInfoCommand.self])
}

/// Writes generated scenes as PNG files plus a caption table in open_clip's CSV convention.
struct DataSynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Write generated scenes as PNGs and a tab-separated caption table (filepath, title, labels).",
        discussion: "The table loads back as dataset csv:DIR/captions.tsv (add ?label_key=shape for a label axis).")

    @Option(help: "Output directory (created if missing).") var out: String
    @Option(help: "Number of images.") var count: Int
    @Option(help: "Generator seed.") var seed: Int = 0
    @Option(name: .customLong("image-size"), help: "Width and height in pixels.") var imageSize: Int = 32
    @Option(help: "Captions per image (one table row each).") var captions: Int = 4
    @Option(help: "Scene distribution: train, iid, held_out or shifted.") var variant: String = "train"

    func validate() throws {
        guard count > 0 else { throw ValidationError("--count must be positive") }
        guard imageSize >= 4 else { throw ValidationError("--image-size must be at least 4") }
        guard (1...20).contains(captions) else { throw ValidationError("--captions must be 1…20") }
        guard SceneVariant(rawValue: variant) != nil else {
            throw ValidationError("--variant \(variant): expected one of \(SceneVariant.allCases.map { $0.rawValue }.joined(separator: ", "))")
        }
    }

    func run() throws {
        var options = SceneGenerator.Options()
        options.imageSize = imageSize
        options.captionsPerImage = captions
        let generator = SceneGenerator(seed: seed, options: options)
        let split = generator.makeSplit(name: variant, variant: SceneVariant(rawValue: variant)!, count: count)
        let root = URL(fileURLWithPath: out)
        let images = root.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        let axes = split.labelAxes
        var table = "filepath\ttitle\t" + axes.map { $0.name }.joined(separator: "\t") + "\n"
        let digits = max(6, String(count - 1).count)
        for i in 0..<split.imageCount {
            let name = "images/" + String(repeating: "0", count: digits - String(i).count) + String(i) + ".png"
            try PNGCodec.encode(split.image(i)).write(to: root.appendingPathComponent(name))
            let labels = axes.map { $0.classNames[$0.labels[i]] }.joined(separator: "\t")
            for caption in split.captions(ofImage: i) { table += "\(name)\t\(caption)\t\(labels)\n" }
        }
        try Data(table.utf8).write(to: root.appendingPathComponent("captions.tsv"))
        print("wrote \(split.imageCount) images and \(split.captionCount) captions to \(root.path)")
        print("held-out shape×colour pairs (never in variant train): " +
              generator.heldOutPairs.map { "\(SceneColour(rawValue: $0 % 8)!.name) \(SceneShape(rawValue: $0 / 8)!.name)" }.joined(separator: ", "))
        print("load it with dataset \"csv:\(root.appendingPathComponent("captions.tsv").path)\"")
    }
}

/// Counts, classes, caption and token statistics, vocabulary coverage and skipped files of a dataset.
struct DataInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Describe a dataset: splits, classes, captions, tokens, vocabulary coverage, skipped files.")

    @Argument(help: "Dataset: scenes, fashion-mnist, emoji, digits or csv:PATH (options after '?').") var name: String
    @Option(name: .customLong("train-size"), help: "Training images (0: all the source has).") var trainSize: Int = DataConfig().trainSize
    @Option(name: .customLong("val-size")) var valSize: Int = DataConfig().valSize
    @Option(name: .customLong("test-size")) var testSize: Int = DataConfig().testSize
    @Option(name: .customLong("split-seed")) var splitSeed: Int = 0
    @Option(name: .customLong("image-size")) var imageSize: Int = 32
    @Option(name: .customLong("context-length")) var contextLength: Int = 32
    @Option(name: .customLong("vocab-size")) var vocabSize: Int = 1024
    @Option(help: "Cache directory of decoded datasets (default ~/.cache/gaplab/datasets).") var cache: String?
    @Flag(name: .customLong("no-cache"), help: "Decode without reading or writing the cache.") var noCache = false
    @Flag(help: "Also time decoding and cached loading (images per second).") var bench = false

    func run() throws {
        var config = DataConfig()
        config.dataset = name
        config.trainSize = trainSize
        config.valSize = valSize
        config.testSize = testSize
        config.splitSeed = splitSeed
        let cacheDirectory = noCache ? nil : (cache.map { URL(fileURLWithPath: $0) } ?? DataPaths.defaultCache)
        let data = try loadDataset(config, imageSize: imageSize, contextLength: contextLength, vocabSize: vocabSize, cacheDirectory: cacheDirectory)
        print(DatasetDescription.describe(data, contextLength: contextLength))
        if bench { try benchmark(config) }
    }

    func benchmark(_ config: DataConfig) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-bench-\(ProcessInfo.processInfo.processIdentifier)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let cold = try loadDataset(config, imageSize: imageSize, contextLength: contextLength, vocabSize: vocabSize, cacheDirectory: directory)
        let images = cold.allSplits.reduce(0) { $0 + $1.imageCount }
        let warmStart = Date()
        let warm = try loadDataset(config, imageSize: imageSize, contextLength: contextLength, vocabSize: vocabSize, cacheDirectory: directory)
        let warmSeconds = Date().timeIntervalSince(warmStart)
        print(String(format: "decode: %d images in %.2f s (%.0f images/s)", images, cold.report.decodeSeconds, Double(images) / max(cold.report.decodeSeconds, 1e-9)))
        print(String(format: "cached load (with tokenising): %d images in %.2f s (%.0f images/s)%@", images, warmSeconds,
                     Double(images) / max(warmSeconds, 1e-9), warm.report.fromCache ? "" : " — cache was not used"))
        var batch = [Float](repeating: 0, count: 256 * 3 * imageSize * imageSize)
        var rng = SeededRandom(seed: 0)
        let batches = max(1, min(20, warm.train.imageCount / 256))
        let start = Date()
        for b in 0..<batches {
            let indices = (0..<256).map { (b * 256 + $0) % warm.train.imageCount }
            warm.train.writeImages(indices, size: imageSize, into: &batch, augmentingWith: &rng)
        }
        let seconds = Date().timeIntervalSince(start)
        print(String(format: "augmented batches: %d images in %.2f s (%.0f images/s)", batches * 256, seconds, Double(batches * 256) / max(seconds, 1e-9)))
    }
}
