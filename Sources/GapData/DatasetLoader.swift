import Crypto
import Foundation
import GapSpec

/// Everything a run needs from the data stage.
public struct LoadedDataset: Sendable {
    public var train: ImageTextDataset
    public var val: ImageTextDataset
    public var test: ImageTextDataset
    /// Further evaluation splits a dataset offers (scenes: "test_held_out", "test_shifted"; emoji: the test
    /// concepts in another style).
    public var extraSplits: [ImageTextDataset]
    public var tokenizer: Tokenizer
    public var report: LoadReport

    public var allSplits: [ImageTextDataset] { [train, val, test] + extraSplits }

    public func split(named name: String) -> ImageTextDataset? { allSplits.first { $0.name == name } }
}

/// Settings of loading that are not part of `DataConfig`.
public struct LoadOptions: Sendable {
    /// A missing or undecodable file is an error instead of being skipped (dataset option `strict=true` too).
    public var strict: Bool = false
    /// How non-square images become square (dataset option `fit=centre_crop|letterbox|stretch`).
    public var fit: FitMode = .centreCrop
    /// open_clip's `bpe_simple_vocab_16e6.txt.gz`, used instead of training BPE (dataset option `bpe=PATH`).
    public var openCLIPVocabulary: URL? = nil
    public init() {}
}

/// The splits a source produces before tokenisation (what the cache stores).
struct SourceSplits {
    var splits: [ImageTextDataset]
    var report: LoadReport
}

/// Loads `config.dataset` at `imageSize`, splits it by `config.split_seed`, trains (or loads) the tokenizer on the
/// training captions and tokenises every split. Decoded splits are cached in `cacheDirectory` when given.
public func loadDataset(_ config: DataConfig, imageSize: Int, contextLength: Int, vocabSize: Int,
                        cacheDirectory: URL?, options: LoadOptions = LoadOptions()) throws -> LoadedDataset {
    let started = Date()
    let spec: DatasetSpec
    do { spec = try DatasetSpec.checked(config.dataset) } catch let error as DatasetSpecError { throw DataError.invalid(error.description) }
    var options = options
    if spec.options["strict"] != nil { options.strict = try spec.bool("strict")! }
    if let fit = spec.options["fit"] {
        // The catalog has checked the name against `DatasetCatalog.fitModes`.
        guard let mode = FitMode(rawValue: fit) else { throw DataError.invalid("dataset option fit=\(fit): not a fit mode") }
        options.fit = mode
    }
    if let bpe = spec.url("bpe") { options.openCLIPVocabulary = bpe }
    guard imageSize >= 4 else { throw DataError.invalid("image size \(imageSize) is too small (at least 4)") }

    let source = try makeSource(spec, config: config)
    var splits: SourceSplits
    var key: String? = nil
    if let cacheDirectory {
        key = try DatasetCache.key(config: config, imageSize: imageSize, fit: options.fit, sourceDigest: source.contentDigest())
        if let cached = DatasetCache.read(directory: cacheDirectory, key: key!) {
            splits = cached
            splits.report.fromCache = true
            splits.report.decodeSeconds = 0
        } else {
            let decodeStart = Date()
            splits = try source.load(config: config, imageSize: imageSize, options: options)
            splits.report.decodeSeconds = Date().timeIntervalSince(decodeStart)
            splits.report.cacheKey = key
            do { try DatasetCache.write(splits, directory: cacheDirectory, key: key!) } catch {
                splits.report.notes.append("cache not written to \(cacheDirectory.path): \(error.localizedDescription)")
            }
        }
        splits.report.cacheKey = key
    } else {
        let decodeStart = Date()
        splits = try source.load(config: config, imageSize: imageSize, options: options)
        splits.report.decodeSeconds = Date().timeIntervalSince(decodeStart)
    }
    guard splits.splits.count >= 3 else { throw DataError.invalid("dataset \(spec.name) produced \(splits.splits.count) splits, expected train, val and test") }
    var report = splits.report
    report.dataset = config.dataset
    report.splitSeed = config.splitSeed
    var all = splits.splits
    guard all[0].imageCount > 0 else {
        throw DataError.invalid("dataset \(config.dataset): no usable training images (\(report.skippedCount) skipped: \(report.skippedExamples.joined(separator: "; ")))")
    }

    let tokenizer: Tokenizer
    if let vocab = options.openCLIPVocabulary {
        tokenizer = try Tokenizer.loadOpenCLIPVocabulary(vocab)
        report.tokenizer = "openclip \(vocab.path) (vocabulary \(tokenizer.vocabSize))"
        if tokenizer.vocabSize != vocabSize { report.notes.append("vocabulary size follows \(vocab.lastPathComponent): \(tokenizer.vocabSize), not \(vocabSize)") }
    } else {
        tokenizer = try Tokenizer.train(on: all[0].captions, vocabSize: vocabSize)
        report.tokenizer = "gaplab byte-level BPE, \(tokenizer.merges.count) merges, vocabulary \(vocabSize)"
    }
    for i in all.indices { all[i].tokenize(with: tokenizer, contextLength: contextLength) }
    report.splitSizes = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0.imageCount) })
    report.splitDigests = Dictionary(uniqueKeysWithValues: all.map { ($0.name, ContentHash.sha256(Data($0.sourceIDs.joined(separator: "\n").utf8))) })
    report.loadSeconds = Date().timeIntervalSince(started)
    return LoadedDataset(train: all[0], val: all[1], test: all[2], extraSplits: Array(all.dropFirst(3)),
                         tokenizer: tokenizer, report: report)
}

/// A named source of image–caption data.
protocol DatasetSource {
    /// SHA-256 (hex) of everything the data is made from, for the cache key.
    func contentDigest() throws -> String
    /// train, val, test, then any extra evaluation splits, at `imageSize`.
    func load(config: DataConfig, imageSize: Int, options: LoadOptions) throws -> SourceSplits
}

/// The source of a spec that `DatasetSpec.checked` accepted.
func makeSource(_ spec: DatasetSpec, config: DataConfig) throws -> DatasetSource {
    switch spec.name {
    case "scenes": return try ScenesSource(spec: spec)
    case "digits": return try DigitsSource(spec: spec)
    case "fashion-mnist": return try FashionMNISTSource(spec: spec)
    case "emoji": return try EmojiSource(spec: spec)
    case "csv": return try CSVSource(spec: spec, path: spec.argument ?? "")
    default:
        // `DatasetSpec.checked` lets only catalogued names through; a name there without a source is a gap here.
        throw DataError.invalid("data.dataset \"\(config.dataset)\": dataset \"\(spec.name)\" has no source")
    }
}

enum ContentHash {
    static func hex<D: Crypto.Digest>(_ digest: D) -> String { digest.map { String(format: "%02x", $0) }.joined() }

    static func sha256(_ data: Data) -> String { hex(SHA256.hash(data: data)) }

    static func sha256(files: [URL]) throws -> String {
        var hasher = SHA256()
        for url in files {
            hasher.update(data: Data(url.path.utf8))
            guard let data = try? Data(contentsOf: url, options: .alwaysMapped) else {
                hasher.update(data: Data("missing".utf8))
                continue
            }
            hasher.update(data: data)
        }
        return hex(hasher.finalize())
    }
}
