import Foundation
import GapEngine

/// How a correct item that scores exactly the same as wrong ones is ranked.
public enum TieRule: String, Sendable, Codable {
    /// Ties count against: the correct item ranks after every wrong item with the same score
    /// (rank = 1 + #wrong with score ≥ best correct). The default, so that collapsed embeddings,
    /// where everything ties, get the worst rank rather than a perfect one.
    case pessimistic
    /// The correct item takes the mean of the positions it shares with the tied wrong items
    /// (rank = 1 + #wrong strictly higher + #wrong tied / 2); ranks can then be fractional.
    case average
}

public struct RetrievalMetrics: Sendable, Equatable {
    public var ks: [Int]
    /// Fraction of images with any of their captions in the top K, per K.
    public var imageToTextRecall: [Int: Double]
    /// Fraction of captions whose image is in the top K, per K.
    public var textToImageRecall: [Int: Double]
    /// 1-based rank of the best-ranked correct caption of each image.
    public var imageToTextRanks: [Double]
    /// 1-based rank of each caption's image.
    public var textToImageRanks: [Double]

    public var imageToTextMeanRank: Double { Retrieval.mean(imageToTextRanks) }
    public var imageToTextMedianRank: Double { Retrieval.median(imageToTextRanks) }
    public var textToImageMeanRank: Double { Retrieval.mean(textToImageRanks) }
    public var textToImageMedianRank: Double { Retrieval.median(textToImageRanks) }
}

/// Image↔text retrieval. Similarities come from one sgemm pass in blocks of image rows (both directions read
/// the same product); a rank is a count of the wrong candidates that beat the best correct one, so nothing is
/// ever sorted. Exact ties are detected as long as the BLAS computes each dot product the same way in every
/// product of the same inner dimension, as OpenBLAS does.
public enum Retrieval {
    /// - Parameters:
    ///   - images: [nImages, d] unit image embeddings.
    ///   - texts: [nCaptions, d] unit caption embeddings.
    ///   - captionImage: for each caption, the index of its image; every image needs at least one caption.
    public static func evaluate(engine: EngineContext, images: EmbeddingMatrix, texts: EmbeddingMatrix, captionImage: [Int],
                                ks: [Int] = [1, 5, 10], tieRule: TieRule = .pessimistic,
                                blockRows: Int = 1024) throws -> RetrievalMetrics {
        try requireSameDim(images, texts, "retrieval")
        guard captionImage.count == texts.rows else {
            throw EvalError.shape(what: "retrieval captionImage", expected: "one image index per caption (\(texts.rows))",
                                  got: "\(captionImage.count)")
        }
        guard images.rows > 0, texts.rows > 0 else {
            throw EvalError.shape(what: "retrieval", expected: "at least one image and one caption",
                                  got: "\(images.rows) images, \(texts.rows) captions")
        }
        for k in ks where k < 1 {
            throw EvalError.invalidArgument(what: "retrieval K", expected: ">= 1", got: "\(k)")
        }
        guard blockRows > 0 else {
            throw EvalError.invalidArgument(what: "retrieval block rows", expected: "> 0", got: "\(blockRows)")
        }
        var captionsOfImage = [[Int]](repeating: [], count: images.rows)
        for (caption, image) in captionImage.enumerated() {
            guard image >= 0, image < images.rows else {
                throw EvalError.invalidArgument(what: "captionImage[\(caption)]", expected: "an image index in 0..<\(images.rows)", got: "\(image)")
            }
            captionsOfImage[image].append(caption)
        }
        if let orphan = captionsOfImage.firstIndex(where: { $0.isEmpty }) {
            throw EvalError.invalidArgument(what: "retrieval image \(orphan)", expected: "at least one caption in captionImage", got: "none")
        }

        let (imageRanks, textRanks) = ranks(engine: engine, images: images, texts: texts, captionImage: captionImage,
                                            captionsOfImage: captionsOfImage, tieRule: tieRule, blockRows: blockRows)
        var i2t = [Int: Double](), t2i = [Int: Double]()
        for k in ks {
            i2t[k] = recall(imageRanks, k)
            t2i[k] = recall(textRanks, k)
        }
        return RetrievalMetrics(ks: ks, imageToTextRecall: i2t, textToImageRecall: t2i,
                                imageToTextRanks: imageRanks, textToImageRanks: textRanks)
    }

    /// Both directions from one pass over S = V Tᵀ in blocks of image rows. An image's row is complete in
    /// its block, so its rank is counted there against the best of its captions. A caption's column spans
    /// every block, so its threshold S[image, caption] is taken first from a small product of each image block
    /// with that block's own captions, and the column's counts accumulate block by block; the caption's own
    /// image is then taken back out of its counts using the entry of the main product itself, so the rank
    /// never counts the correct item against itself.
    static func ranks(engine: EngineContext, images: EmbeddingMatrix, texts: EmbeddingMatrix, captionImage: [Int], captionsOfImage: [[Int]],
                      tieRule: TieRule, blockRows: Int) -> (imageToText: [Double], textToImage: [Double]) {
        let nImages = images.rows, nCaptions = texts.rows
        var threshold = [Float](repeating: 0, count: nCaptions)
        var ownBlock = [Float]()
        var start = 0
        while start < nImages {
            let count = min(blockRows, nImages - start)
            let captions = (start..<(start + count)).flatMap { captionsOfImage[$0] }
            let own = texts.selecting(rows: captions)
            similarityBlock(engine: engine, queries: images, rowStart: start, rowCount: count, candidates: own, into: &ownBlock)
            for (column, caption) in captions.enumerated() {
                threshold[caption] = ownBlock[(captionImage[caption] - start) * captions.count + column]
            }
            start += count
        }

        var imageRanks = [Double](repeating: 0, count: nImages)
        var higher = [Int32](repeating: 0, count: nCaptions), tied = [Int32](repeating: 0, count: nCaptions)
        var block = [Float]()
        start = 0
        while start < nImages {
            let count = min(blockRows, nImages - start)
            similarityBlock(engine: engine, queries: images, rowStart: start, rowCount: count, candidates: texts, into: &block)
            block.withUnsafeBufferPointer { scores in
                threshold.withUnsafeBufferPointer { theta in
                    higher.withUnsafeMutableBufferPointer { above in
                        tied.withUnsafeMutableBufferPointer { equal in
                            for r in 0..<count {
                                let image = start + r
                                let row = scores.baseAddress! + r * nCaptions
                                let own = captionsOfImage[image]
                                var best = -Float.infinity
                                for c in own { best = max(best, row[c]) }
                                var rowHigher = 0, rowTied = 0
                                for c in 0..<nCaptions {
                                    let s = row[c]
                                    if s > best { rowHigher += 1 } else if s == best { rowTied += 1 }
                                    let t = theta[c]
                                    if s > t { above[c] += 1 } else if s == t { equal[c] += 1 }
                                }
                                // Correct captions are never above the best of them; drop those tied with it.
                                for c in own where row[c] == best { rowTied -= 1 }
                                imageRanks[image] = rank(higher: rowHigher, tied: rowTied, tieRule)
                                for c in own {
                                    if row[c] > theta[c] { above[c] -= 1 } else if row[c] == theta[c] { equal[c] -= 1 }
                                }
                            }
                        }
                    }
                }
            }
            start += count
        }
        let textRanks = (0..<nCaptions).map { rank(higher: Int(higher[$0]), tied: Int(tied[$0]), tieRule) }
        return (imageRanks, textRanks)
    }

    static func rank(higher: Int, tied: Int, _ rule: TieRule) -> Double {
        switch rule {
        case .pessimistic: return Double(1 + higher + tied)
        case .average: return 1 + Double(higher) + Double(tied) / 2
        }
    }

    static func recall(_ ranks: [Double], _ k: Int) -> Double {
        guard !ranks.isEmpty else { return 0 }
        return Double(ranks.filter { $0 <= Double(k) }.count) / Double(ranks.count)
    }

    static func mean(_ values: [Double]) -> Double {
        values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count)
    }

    /// Middle value; the mean of the two middle values for an even count.
    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }
}
