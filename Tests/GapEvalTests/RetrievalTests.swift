import GapEngine
import XCTest
import GapRandom
@testable import GapEval

final class RetrievalTests: XCTestCase {
    let engine = EngineContext()
    /// Two identical captions: every correct item ties with a wrong one.
    func testTiesCountAgainstOrAverage() throws {
        let images = try EmbeddingMatrix(rows: [[1, 0], [0, 1]])
        let texts = try EmbeddingMatrix(rows: [[1, 0], [1, 0]])
        let pessimistic = try Retrieval.evaluate(engine: engine, images: images, texts: texts, captionImage: [0, 1], ks: [1, 2])
        XCTAssertEqual(pessimistic.imageToTextRanks, [2, 2])
        XCTAssertEqual(pessimistic.textToImageRanks, [1, 2])
        XCTAssertEqual(pessimistic.imageToTextRecall[1], 0)
        XCTAssertEqual(pessimistic.imageToTextRecall[2], 1)
        XCTAssertEqual(pessimistic.textToImageRecall[1], 0.5)
        let average = try Retrieval.evaluate(engine: engine, images: images, texts: texts, captionImage: [0, 1], ks: [1], tieRule: .average)
        XCTAssertEqual(average.imageToTextRanks, [1.5, 1.5])
        XCTAssertEqual(average.textToImageRanks, [1, 2])
    }

    /// Three images, five captions (image 0 and image 2 have two each); ranks worked out by hand in the comments.
    func testSeveralCaptionsPerImage() throws {
        let images = try EmbeddingMatrix(rows: [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
        let texts = try EmbeddingMatrix(rows: [[0, 1, 0], [0.6, 0.8, 0], [0, 0.8, 0.6], [0.8, 0, 0.6], [0, 0, 1]])
        let captionImage = [0, 0, 1, 2, 2]
        let metrics = try Retrieval.evaluate(engine: engine, images: images, texts: texts, captionImage: captionImage, ks: [1, 2, 5])
        // image 0: best own caption 0.6, beaten by caption 3 (0.8) → 2.
        // image 1: own 0.8, caption 0 (1.0) above, caption 1 (0.8) tied → 3.
        // image 2: own caption 4 scores 1 → 1.
        XCTAssertEqual(metrics.imageToTextRanks, [2, 3, 1])
        XCTAssertEqual(metrics.imageToTextRecall[1]!, 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(metrics.imageToTextRecall[2]!, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(metrics.imageToTextRecall[5], 1)
        XCTAssertEqual(metrics.imageToTextMeanRank, 2)
        XCTAssertEqual(metrics.imageToTextMedianRank, 2)
        // caption 0: own image 0 scores 0, image 1 (1) above, image 2 (0) tied → 3; caption 1 → 2;
        // caption 2 → 1; caption 3: own 0.6 below image 0 (0.8) → 2; caption 4 → 1.
        XCTAssertEqual(metrics.textToImageRanks, [3, 2, 1, 2, 1])
        XCTAssertEqual(metrics.textToImageRecall[1]!, 0.4, accuracy: 1e-12)
        XCTAssertEqual(metrics.textToImageRecall[2]!, 0.8, accuracy: 1e-12)
        XCTAssertEqual(metrics.textToImageMeanRank, 1.8, accuracy: 1e-12)
        XCTAssertEqual(metrics.textToImageMedianRank, 2)

        let average = try Retrieval.evaluate(engine: engine, images: images, texts: texts, captionImage: captionImage, tieRule: .average)
        XCTAssertEqual(average.imageToTextRanks, [2, 2.5, 1])
        XCTAssertEqual(average.textToImageRanks, [2.5, 2, 1, 2, 1])
    }

    /// Blocked counting agrees with ranks read off a full sort, whatever the block size.
    func testCountedRanksMatchSortedRanks() throws {
        let images = try randomUnitRows(40, 8, seed: 5)
        var generator = SeededRandom(seed: 9)
        let captionImage = (0..<70).map { $0 < 40 ? $0 : generator.nextInt(below: 40) }
        let texts = try randomUnitRows(70, 8, seed: 6)
        let small = try Retrieval.evaluate(engine: engine, images: images, texts: texts, captionImage: captionImage, blockRows: 7)
        let large = try Retrieval.evaluate(engine: engine, images: images, texts: texts, captionImage: captionImage, blockRows: 1000)
        XCTAssertEqual(small, large)
        for i in 0..<images.rows {
            let scores = (0..<texts.rows).map { c in zip(images.row(i), texts.row(c)).reduce(Float(0)) { $0 + $1.0 * $1.1 } }
            let order = scores.indices.sorted { scores[$0] > scores[$1] }
            let firstCorrect = order.firstIndex { captionImage[$0] == i }! + 1
            XCTAssertEqual(small.imageToTextRanks[i], Double(firstCorrect))
        }
        for c in 0..<texts.rows {
            let scores = (0..<images.rows).map { i in zip(images.row(i), texts.row(c)).reduce(Float(0)) { $0 + $1.0 * $1.1 } }
            let order = scores.indices.sorted { scores[$0] > scores[$1] }
            XCTAssertEqual(small.textToImageRanks[c], Double(order.firstIndex(of: captionImage[c])! + 1))
        }
    }

    /// Every embedding the same: everything ties, so every correct item ranks last.
    func testCollapsedEmbeddingsRankLast() throws {
        let same = try EmbeddingMatrix(values: [Float](repeating: 0.5, count: 5 * 4), rows: 5, dim: 4)
        let metrics = try Retrieval.evaluate(engine: engine, images: same, texts: same, captionImage: Array(0..<5), ks: [1], blockRows: 2)
        XCTAssertEqual(metrics.imageToTextRanks, [5, 5, 5, 5, 5])
        XCTAssertEqual(metrics.textToImageRanks, [5, 5, 5, 5, 5])
        XCTAssertEqual(metrics.imageToTextRecall[1], 0)
    }

    func testImageWithoutCaptionIsRejected() throws {
        let images = try randomUnitRows(3, 4, seed: 1), texts = try randomUnitRows(2, 4, seed: 2)
        XCTAssertThrowsError(try Retrieval.evaluate(engine: engine, images: images, texts: texts, captionImage: [0, 1])) { error in
            XCTAssertTrue(error.localizedDescription.contains("image 2"), error.localizedDescription)
        }
    }
}
