import Foundation
import GapSpec
import GapStore

/// How a metric's history becomes one number per run.
public enum Reduction: Equatable, Sendable {
    /// The value at the last logged step.
    case final
    /// The best value over all steps, by the metric's direction.
    case best
    /// The value at the last logged step at or before this step.
    case atStep(Int)

    public var name: String {
        switch self {
        case .final: return "final"
        case .best: return "best"
        case .atStep(let step): return "at step \(step)"
        }
    }

    /// Parses `KEY=final`, `KEY=best` or `KEY=STEP` (a command-line rule for one metric key).
    public static func parseRule(_ text: String) throws -> (key: String, reduction: Reduction) {
        guard let equals = text.lastIndex(of: "="), equals != text.startIndex else { throw ReportError.invalidReduction(text) }
        let key = String(text[..<equals]), rule = String(text[text.index(after: equals)...])
        switch rule {
        case "final": return (key, .final)
        case "best": return (key, .best)
        default:
            guard let step = Int(rule), step >= 0 else { throw ReportError.invalidReduction(text) }
            return (key, .atStep(step))
        }
    }
}

/// One run of the experiment with everything the report reads about it.
public struct ReportRun: Sendable {
    public var record: RunRecord
    public var params: [String: ParamValue]
    public var summaries: [String: MetricSummary]
    /// Environment of the latest attempt (e.g. `git_commit`, `command_line`).
    public var environment: [String: String]
    /// Full histories, loaded only for the keys reduced at a step.
    public var histories: [String: [MetricPoint]] = [:]

    public var isCompleted: Bool { record.status == .completed }
    /// Wall-clock seconds between start and end of the recorded attempt, when both are known.
    public var duration: Double? {
        guard let start = record.startedAt, let end = record.endedAt else { return nil }
        return max(0, end.timeIntervalSince(start))
    }

    /// The run's number for `key` under `reduction`; only completed runs count, so a crashed run's partial
    /// history never enters a mean.
    public func value(_ key: String, _ reduction: Reduction) -> Double? {
        isCompleted ? recordedValue(key, reduction) : nil
    }

    /// The reduced value whatever the run's status (for the long-form export, which lists every run).
    public func recordedValue(_ key: String, _ reduction: Reduction) -> Double? {
        guard let summary = summaries[key] else { return nil }
        let value: Double
        switch reduction {
        case .final: value = summary.finalValue
        case .best: value = summary.bestValue
        case .atStep(let step):
            guard let point = histories[key]?.filter({ $0.step <= step }).max(by: { $0.step < $1.step }) else { return nil }
            value = point.value
        }
        return value.isFinite ? value : nil
    }
}

/// All runs of one configuration (one variant with one combination of swept values), in seed order; `variant`
/// holds the arm's label, the planner's short name.
public struct Arm: Sendable {
    public var variant: String
    public var shortName: String
    public var runs: [ReportRun]
    /// Swept-axis values of this arm (nil when the parameter is not set for it).
    public var axisValues: [String: ParamValue?]
}

/// A swept parameter: one whose value differs across the runs of the experiment (seed excluded).
public struct SweptAxis: Sendable, Equatable {
    public var key: String
    /// True when every arm sets it to an int or double, so it can be a plot's x axis.
    public var isNumeric: Bool
}

/// The experiment as the report sees it: arms in plan order (baseline first), swept axes, expected seeds.
public struct ExperimentData: Sendable {
    public var experiment: ExperimentRecord
    public var arms: [Arm]
    public var axes: [SweptAxis]
    /// Every seed planned for any arm.
    public var seeds: [Int]
    public var directions: [String: MetricDirection]

    public var baseline: Arm? { arms.first }
    public var allRuns: [ReportRun] { arms.flatMap(\.runs) }

    /// How many runs each arm should contribute to a mean: as many as the arm with the most seeds, so an arm
    /// whose seeds were not all planned (or whose runs are pending or failed) shows as incomplete, while designs
    /// that give each arm its own seeds still count as complete.
    public func expectedCount(_ arm: Arm) -> Int {
        max(arm.runs.count, arms.map { Set($0.runs.map(\.record.seed)).count }.max() ?? 0)
    }

    public func direction(of key: String) -> MetricDirection {
        directions[key] ?? MetricDirection.defaultDirection(forKey: key)
    }

    /// Parameter prefixes that describe the machine or the loaded data rather than the experiment's design.
    public static let nonAxisPrefixes = ["data_info.", "runtime."]

    /// Loads the experiment's runs; `baseline` names the variant to compare against (default: the first planned).
    /// `historyKeys` are the metrics whose full history is needed (those reduced at a step).
    public static func load(from storage: Storage, experiment name: String, baseline: String? = nil,
                            historyKeys: Set<String> = []) throws -> ExperimentData {
        guard let experiment = try storage.experiments().first(where: { $0.name == name }) else {
            let known = try storage.experiments().map(\.name).sorted()
            throw ReportError.unknownExperiment(name, known: known)
        }
        let records = try storage.runs(experiment: name, status: nil).sorted { $0.sequence < $1.sequence }
        guard !records.isEmpty else { throw ReportError.noRuns(name) }
        let runs = try loadRuns(records, from: storage, historyKeys: historyKeys)

        var (order, grouped, labels) = groupByConfiguration(runs)
        if let baseline {
            let index = order.firstIndex { labels[$0] == baseline } ?? order.firstIndex { grouped[$0]?.first?.record.variant == baseline }
            guard let index else { throw ReportError.unknownVariant(baseline, known: order.map { labels[$0]! }) }
            order.insert(order.remove(at: index), at: 0)
        }
        let axes = sweptAxes(of: runs)
        let arms = order.map { key -> Arm in
            let armRuns = grouped[key]!.sorted { ($0.record.seed, $0.record.sequence) < ($1.record.seed, $1.record.sequence) }
            var axisValues = [String: ParamValue?]()
            for axis in axes { axisValues[axis.key] = armRuns.first?.params[axis.key] }
            return Arm(variant: labels[key]!, shortName: armRuns[0].record.shortName, runs: armRuns, axisValues: axisValues)
        }

        let metricKeys = Set(runs.flatMap { $0.summaries.keys })
        var directions = [String: MetricDirection]()
        for key in metricKeys { directions[key] = try storage.metricDirection(forKey: key) }

        return ExperimentData(experiment: experiment, arms: arms, axes: axes,
                              seeds: Array(Set(runs.map(\.record.seed))).sorted(), directions: directions)
    }

    /// Each run with its parameters, metric summaries, latest environment and the histories in `historyKeys`.
    private static func loadRuns(_ records: [RunRecord], from storage: Storage, historyKeys: Set<String>) throws -> [ReportRun] {
        let summaries = try storage.summaries(runIDs: records.map(\.runID))
        var runs = [ReportRun]()
        for record in records {
            var environment = [String: String]()
            for entry in try storage.environment(runID: record.runID).sorted(by: { $0.attempt < $1.attempt }) {
                environment[entry.key] = entry.value
            }
            var byKey = [String: MetricSummary]()
            for summary in summaries[record.runID] ?? [] { byKey[summary.key] = summary }
            var run = ReportRun(record: record, params: try storage.params(runID: record.runID), summaries: byKey, environment: environment)
            for key in historyKeys.sorted() where byKey[key] != nil {
                run.histories[key] = try storage.metrics(runID: record.runID, key: key)
            }
            runs.append(run)
        }
        return runs
    }

    /// The runs grouped into arms by config hash, in plan order, with each arm's label.
    /// An arm is one configuration over its seeds, labelled by the planner's short name (the variant and the
    /// swept values that set it apart); a variant planned with a single configuration keeps its name as the label.
    private static func groupByConfiguration(_ runs: [ReportRun])
        -> (order: [String], grouped: [String: [ReportRun]], labels: [String: String]) {
        var order = [String](), grouped = [String: [ReportRun]](), labels = [String: String]()
        var configsOfVariant = [String: Set<String>]()
        for run in runs { configsOfVariant[run.record.variant, default: []].insert(run.record.configHash) }
        for run in runs {
            let key = run.record.configHash
            if grouped[key] == nil {
                order.append(key)
                let single = configsOfVariant[run.record.variant]?.count == 1
                var label = single || run.record.shortName.isEmpty ? run.record.variant : run.record.shortName
                if labels.values.contains(label) { label += " [\(key.prefix(8))]" }
                labels[key] = label
            }
            grouped[key, default: []].append(run)
        }
        return (order, grouped, labels)
    }

    /// The parameters whose values differ across the runs, by key; seeds and machine or data descriptions
    /// (`nonAxisPrefixes`) are not part of the design.
    private static func sweptAxes(of runs: [ReportRun]) -> [SweptAxis] {
        let keys = Set(runs.flatMap { $0.params.keys })
            .filter { key in key != "seed" && !nonAxisPrefixes.contains(where: { key.hasPrefix($0) }) }
        var axes = [SweptAxis]()
        for key in keys.sorted() {
            let values = runs.map { $0.params[key] }
            let distinct = Set(values.map { $0.map(canonical) ?? "\u{0}unset" })
            guard distinct.count > 1 else { continue }
            let numeric = values.allSatisfy { value in
                if case .int? = value { return true }
                if case .double? = value { return true }
                return false
            }
            axes.append(SweptAxis(key: key, isNumeric: numeric))
        }
        return axes
    }

    /// Equal numbers compare equal whatever their stored type (an int 0 and a double 0.0 are one axis value).
    static func canonical(_ value: ParamValue) -> String {
        if let number = value.numericValue, value.typeName != "bool" { return "n:\(number)" }
        return "\(value.typeName):\(value.description)"
    }
}

public enum ReportError: Error, CustomStringConvertible, Equatable {
    case unknownExperiment(String, known: [String])
    case noRuns(String)
    case unknownVariant(String, known: [String])
    case unknownFormat(String)
    case invalidReduction(String)
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case .unknownExperiment(let name, let known):
            return "no experiment named \"\(name)\" in the store; known: \(known.isEmpty ? "none" : known.joined(separator: ", "))"
        case .noRuns(let name):
            return "experiment \"\(name)\" has no runs in the store; plan them with `gaplab run`"
        case .unknownVariant(let name, let known):
            return "no variant named \"\(name)\" among the experiment's runs; known: \(known.joined(separator: ", "))"
        case .invalidReduction(let text):
            return "invalid reduction rule \"\(text)\"; expected KEY=final, KEY=best or KEY=STEP (a step number ≥ 0)"
        case .unknownFormat(let text):
            return "unknown report format \"\(text)\"; expected a comma-separated list of md, csv, tex, json"
        case .io(let path, let reason):
            return "\(path): \(reason)"
        }
    }
}
