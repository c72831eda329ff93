import GapSpec

extension MetricDirection {
    /// Words in a metric key that mean "smaller is better". A key is split at `.`, `_`, `/` and `-`,
    /// so `val.loss`, `modality_gap` and `mean_rank` minimise while `recall_at_1` maximises.
    public static let minimisingWords: Set<String> = ["loss", "gap", "rank", "error", "err", "perplexity", "distance"]

    /// The store's direction for a key whose direction was never recorded (training losses, custom keys).
    public static func defaultDirection(forKey key: String) -> MetricDirection {
        let words = key.lowercased().split(whereSeparator: { ".-_/ ".contains($0) }).map(String.init)
        return words.contains(where: { minimisingWords.contains($0) }) ? .min : .max
    }
}
