import Foundation

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

/// Image↔text retrieval. Similarities come from sgemm in blocks of query rows; a rank is a count of the
/// wrong candidates that beat the best correct one, so no row is ever sorted.
public enum Retrieval {
    /// - Parameters:
    ///   - images: [nImages, d] unit image embeddings.
    ///   - texts: [nCaptions, d] unit caption embeddings.
    ///   - captionImage: for each caption, the index of its image; every image needs at least one caption.
    public static func evaluate(images: EmbeddingMatrix, texts: EmbeddingMatrix, captionImage: [Int],
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

        let imageRanks = ranks(queries: images, candidates: texts, tieRule: tieRule, blockRows: blockRows) { image in
            captionsOfImage[image]
        }
        let textRanks = ranks(queries: texts, candidates: images, tieRule: tieRule, blockRows: blockRows) { caption in
            [captionImage[caption]]
        }
        var i2t = [Int: Double](), t2i = [Int: Double]()
        for k in ks {
            i2t[k] = recall(imageRanks, k)
            t2i[k] = recall(textRanks, k)
        }
        return RetrievalMetrics(ks: ks, imageToTextRecall: i2t, textToImageRecall: t2i,
                                imageToTextRanks: imageRanks, textToImageRanks: textRanks)
    }

    static func ranks(queries: EmbeddingMatrix, candidates: EmbeddingMatrix, tieRule: TieRule, blockRows: Int,
                      correct: (Int) -> [Int]) -> [Double] {
        let n = candidates.rows
        var result = [Double](repeating: 0, count: queries.rows)
        var block = [Float]()
        var start = 0
        while start < queries.rows {
            let count = min(blockRows, queries.rows - start)
            similarityBlock(queries: queries, rowStart: start, rowCount: count, candidates: candidates, into: &block)
            block.withUnsafeBufferPointer { scores in
                for r in 0..<count {
                    let row = scores.baseAddress! + r * n
                    let targets = correct(start + r)
                    var best = -Float.infinity
                    for t in targets { best = max(best, row[t]) }
                    var higher = 0, tied = 0
                    for j in 0..<n {
                        let s = row[j]
                        if s > best { higher += 1 } else if s == best { tied += 1 }
                    }
                    // Correct items are never above the best correct one; remove those tied with it.
                    for t in targets where row[t] == best { tied -= 1 }
                    switch tieRule {
                    case .pessimistic: result[start + r] = Double(1 + higher + tied)
                    case .average: result[start + r] = 1 + Double(higher) + Double(tied) / 2
                    }
                }
            }
            start += count
        }
        return result
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
