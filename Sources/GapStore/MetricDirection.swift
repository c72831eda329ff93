import Foundation

/// Whether larger or smaller values of a metric are better; decides its "best" summary.
public enum MetricDirection: String, CaseIterable, Codable, Sendable {
    case max, min

    /// Words in a metric key that mean "smaller is better". A key is split at `.`, `_`, `/` and `-`,
    /// so `val.loss`, `modality_gap` and `mean_rank` minimise while `recall_at_1` maximises.
    public static let minimisingWords: Set<String> = ["loss", "gap", "rank", "error", "err", "perplexity", "distance"]

    /// The default for a key without an explicit direction in the store.
    public static func defaultDirection(forKey key: String) -> MetricDirection {
        let words = key.lowercased().split(whereSeparator: { ".-_/ ".contains($0) }).map(String.init)
        return words.contains(where: { minimisingWords.contains($0) }) ? .min : .max
    }

    /// True when `candidate` is strictly better than `incumbent`; NaN is never better.
    public func prefers(_ candidate: Double, over incumbent: Double) -> Bool {
        if candidate.isNaN { return false }
        if incumbent.isNaN { return true }
        return self == .max ? candidate > incumbent : candidate < incumbent
    }
}
