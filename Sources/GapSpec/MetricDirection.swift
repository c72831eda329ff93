/// Whether larger or smaller values of a metric are better; decides its "best" summary and a report's best arm.
/// The store records one per metric key; the evaluation's `MetricCatalog` says which for each metric it emits.
public enum MetricDirection: String, CaseIterable, Codable, Sendable {
    case max, min

    /// True when `candidate` is strictly better than `incumbent`; NaN is never better.
    public func prefers(_ candidate: Double, over incumbent: Double) -> Bool {
        if candidate.isNaN { return false }
        if incumbent.isNaN { return true }
        return self == .max ? candidate > incumbent : candidate < incumbent
    }
}
