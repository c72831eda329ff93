/// What loading a dataset did: where the data came from, what was skipped and why, whether the cache served it.
public struct LoadReport: Codable, Equatable, Sendable {
    public var dataset: String
    /// Files or generator the data came from.
    public var source: String = ""
    public var splitSeed: Int = 0
    public var splitSizes: [String: Int] = [:]
    /// SHA-256 of each split's image source ids in order: equal digests mean the same split, to record with a run.
    public var splitDigests: [String: String] = [:]
    /// Images or rows that could not be used.
    public var skippedCount: Int = 0
    /// The first few skipped items, each "path or line: reason".
    public var skippedExamples: [String] = []
    /// Adjustments worth knowing (sizes capped to what the source has, defaults taken).
    public var notes: [String] = []
    public var fromCache: Bool = false
    public var cacheKey: String? = nil
    /// Seconds spent decoding or generating (0 when served from the cache).
    public var decodeSeconds: Double = 0
    public var loadSeconds: Double = 0
    public var tokenizer: String = ""

    public static let exampleLimit = 5

    public init(dataset: String) { self.dataset = dataset }

    public mutating func skip(_ item: String, reason: String) {
        skippedCount += 1
        if skippedExamples.count < LoadReport.exampleLimit { skippedExamples.append("\(item): \(reason)") }
    }

    public var summary: String {
        var lines = ["dataset \(dataset) from \(source)"]
        lines.append("splits: " + splitSizes.keys.sorted().map { "\($0) \(splitSizes[$0]!)" }.joined(separator: ", "))
        if skippedCount > 0 { lines.append("skipped \(skippedCount): " + skippedExamples.joined(separator: "; ")) }
        lines += notes
        if fromCache { lines.append("served from cache \(cacheKey ?? "")") }
        return lines.joined(separator: "\n")
    }
}
