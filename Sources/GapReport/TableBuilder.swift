import Foundation
import GapSpec
import GapStore

/// One arm-vs-baseline comparison on one metric.
public struct Comparison: Equatable, Sendable {
    public var variant: String
    public var metric: String
    public var difference: Double
    public var test: TestResult?
    /// Holm-adjusted p over every comparison of the same table.
    public var adjustedP: Double?
}

/// Builds the report's tables from the loaded experiment.
public struct TableBuilder {
    public var data: ExperimentData
    /// How each metric is reduced to one number per run; keys not listed use their final value.
    public var reductions: [String: Reduction]

    public init(data: ExperimentData, reductions: [String: Reduction] = [:]) {
        self.data = data
        self.reductions = reductions
    }

    public func reduction(for key: String) -> Reduction { reductions[key] ?? .final }

    /// Values of `key` for the arm's completed runs, in seed order, with their seeds.
    public func values(_ arm: Arm, _ key: String) -> [(seed: Int, value: Double)] {
        arm.runs.compactMap { run in run.value(key, reduction(for: key)).map { (run.record.seed, $0) } }
    }

    public func summary(_ arm: Arm, _ key: String) -> SampleSummary? {
        let values = values(arm, key).map(\.value)
        return values.isEmpty ? nil : SampleSummary(values)
    }

    public var presentKeys: Set<String> { Set(data.allRuns.filter(\.isCompleted).flatMap { $0.summaries.keys }) }

    /// Most columns a table gets when the runs log none of the known metrics.
    public static let fallbackColumnLimit = 12

    /// Columns of the main table: the known geometry and downstream metrics, or, for runs that log none of them,
    /// every logged key in order (up to `fallbackColumnLimit`).
    public var mainKeys: [String] {
        let known = ReportColumns.mainColumns(present: presentKeys)
        return known.isEmpty ? Array(presentKeys.sorted().prefix(Self.fallbackColumnLimit)) : known
    }

    /// Metrics compared against the baseline and shown in the ablation tables.
    public var keyColumns: [String] {
        let known = ReportColumns.keyMetrics.filter(presentKeys.contains)
        return known.isEmpty ? mainKeys : known
    }

    // MARK: Tables

    public func mainTable() -> ReportTable {
        var columns = mainKeys
        // A metric given an explicit reduction rule is one the reader asked for: show it too.
        columns += reductions.keys.sorted().filter { presentKeys.contains($0) && !columns.contains($0) }
        var table = statTable(id: "main", title: "Main comparison", arms: data.arms, columns: columns, leading: [])
        guard let baseline = data.baseline, data.arms.count > 1 else { return table }
        // Δ columns for the key metrics, with the Holm-adjusted p of the Δ table below.
        let comparisons = comparisons()
        let deltaKeys = keyColumns.filter { key in comparisons.contains { $0.metric == key } }
        table.header += deltaKeys.map { "Δ \(MetricCatalog.label($0)) (p Holm)" }
        for (index, arm) in data.arms.enumerated() {
            table.rows[index] += deltaKeys.map { key in
                guard let c = comparisons.first(where: { $0.variant == arm.variant && $0.metric == key }) else { return .delta(nil, adjustedP: nil) }
                return .delta(c.difference, adjustedP: c.adjustedP)
            }
        }
        if !deltaKeys.isEmpty {
            table.notes.append("Δ columns: difference of means to the baseline (\(baseline.variant)) with the Holm-adjusted p of the next table.")
        }
        return table
    }

    /// Δ = mean(arm) − mean(baseline) on the key metrics, with Welch's test (or the paired test when both arms
    /// have the same seeds) and Holm's correction across all rows.
    public func comparisons() -> [Comparison] {
        guard let baseline = data.baseline else { return [] }
        let keys = keyColumns
        var result = [Comparison]()
        for arm in data.arms.dropFirst() {
            for key in keys {
                let a = values(arm, key), b = values(baseline, key)
                guard !a.isEmpty, !b.isEmpty else { continue }
                let difference = Statistics.mean(a.map(\.value)) - Statistics.mean(b.map(\.value))
                let test: TestResult?
                if a.map(\.seed) == b.map(\.seed) {
                    test = Statistics.paired(a.map(\.value), b.map(\.value)) ?? Statistics.welch(a.map(\.value), b.map(\.value))
                } else {
                    test = Statistics.welch(a.map(\.value), b.map(\.value))
                }
                result.append(Comparison(variant: arm.variant, metric: key, difference: difference, test: test, adjustedP: nil))
            }
        }
        let adjusted = Statistics.holm(result.map { $0.test?.p })
        for index in result.indices { result[index].adjustedP = adjusted[index] }
        return result
    }

    public func comparisonTable() -> ReportTable? {
        guard let baseline = data.baseline, data.arms.count > 1 else { return nil }
        let rows = comparisons().map { c -> [TableCell] in
            [.text(c.variant), .text(MetricCatalog.label(c.metric)), .number(c.difference, digits: 3),
             .text(c.test?.kind.rawValue ?? "–"), .number(c.test?.t, digits: 2), .number(c.test?.degreesOfFreedom, digits: 1),
             .pValue(c.test?.p), .pValue(c.adjustedP)]
        }
        guard !rows.isEmpty else { return nil }
        return ReportTable(
            id: "delta", title: "Δ vs baseline (\(baseline.variant))",
            header: ["variant", "metric", "Δ mean", "test", "t", "df", "p", "p (Holm)"], rows: rows,
            notes: [
                "Δ = mean(variant) − mean(\(baseline.variant)) over the runs' values as reduced in the main table. "
                    + "The test is paired by seed when both arms have values for exactly the same seeds, Welch's unequal-variance t-test otherwise; "
                    + "p is two-sided; p (Holm) is adjusted with Holm's step-down method across the \(rows.count) comparisons of this table. "
                    + "– means the test is undefined (fewer than two runs per arm or no spread).",
            ])
    }

    /// The paper's Table 5, when the runs have a fine-tuning stage.
    public func table5() -> ReportTable? {
        let present = presentKeys
        let columns = ReportColumns.table5Columns.filter(present.contains)
        guard columns.contains(where: { $0.hasPrefix("zeroshot/") }), columns.contains(where: { $0.hasPrefix("finetuned/") }) else { return nil }
        return statTable(id: "table5", title: "Downstream retrieval: zero-shot vs fine-tuned (Table 5)",
                         arms: data.arms, columns: columns, leading: [])
    }

    /// One table per swept axis: arms ordered by the axis value, the other axes beside it.
    public func ablationTables() -> [ReportTable] {
        let columns = keyColumns
        return data.axes.map { axis in
            let others = data.axes.filter { $0.key != axis.key }
            let ordered = data.arms.enumerated().sorted { lhs, rhs in
                let l = lhs.element.axisValues[axis.key] ?? nil, r = rhs.element.axisValues[axis.key] ?? nil
                let order = Self.compare(l, r)
                return order != 0 ? order < 0 : lhs.offset < rhs.offset
            }.map(\.element)
            var table = statTable(id: "ablation_" + Self.slug(axis.key), title: "Ablation: \(axis.key)", arms: ordered,
                                  columns: columns, leading: [axis.key] + others.map(\.key)) { arm in
                ([axis] + others).map { .text(Self.describe(arm.axisValues[$0.key] ?? nil)) }
            }
            table.notes.insert("Rows are the arms ordered by `\(axis.key)`; the other swept parameters are shown beside it.", at: 0)
            return table
        }
    }

    // MARK: Helpers

    private func statTable(id: String, title: String, arms: [Arm], columns: [String], leading: [String],
                           leadingCells: ((Arm) -> [TableCell])? = nil) -> ReportTable {
        var best = [String: Double]()
        for key in columns {
            let means = arms.compactMap { summary($0, key)?.mean }
            guard means.count > 1 else { continue }
            best[key] = data.direction(of: key) == .max ? means.max() : means.min()
        }
        var rows = [[TableCell]]()
        var incompleteArms = [Arm]()
        for arm in arms {
            var row: [TableCell] = [.text(arm.variant)] + (leadingCells?(arm) ?? [])
            var incomplete = false
            for key in columns {
                let s = summary(arm, key)
                let cell = StatCell(summary: s, expected: data.expectedCount(arm), bold: s.map { $0.mean == best[key] } ?? false)
                incomplete = incomplete || cell.isIncomplete
                row.append(.stat(cell))
            }
            if incomplete { incompleteArms.append(arm) }
            rows.append(row)
        }
        var notes = [reductionNote(columns)]
        if !columns.isEmpty { notes.append("Cells: mean ± sample std [95% t-interval of the mean] (n = runs with a value / runs planned); best mean in bold"
                     + " (direction per metric: " + columns.map { "\(MetricCatalog.label($0)) \(data.direction(of: $0) == .max ? "↑" : "↓")" }.joined(separator: ", ") + ").") }
        for arm in incompleteArms { notes.append("† " + missingNote(arm, columns)) }
        return ReportTable(id: id, title: title, header: ["variant"] + leading + columns.map(MetricCatalog.label), rows: rows, notes: notes)
    }

    func reductionNote(_ columns: [String]) -> String {
        let other = columns.filter { reduction(for: $0) != .final }
        var text = "Each run contributes the final value (last logged step) of each metric"
        if !other.isEmpty {
            text += ", except " + other.map { key -> String in
                switch reduction(for: key) {
                case .best: return "the best value over all steps for `\(key)`"
                case .atStep(let step): return "the value at the last logged step ≤ \(step) for `\(key)`"
                case .final: return ""
                }
            }.joined(separator: ", ")
        }
        return text + "; only completed runs count."
    }

    /// Which seeds an arm lacks and why, so an incomplete mean is never mistaken for a complete one.
    func missingNote(_ arm: Arm, _ columns: [String]) -> String {
        var parts = [String]()
        let bySeed = Dictionary(grouping: arm.runs, by: { $0.record.seed })
        let lacksSeeds = bySeed.count < data.expectedCount(arm)
        for seed in data.seeds {
            guard let runs = bySeed[seed] else {
                if lacksSeeds { parts.append("seed \(seed) not planned") }
                continue
            }
            for run in runs where !run.isCompleted { parts.append("seed \(seed) \(run.record.status.rawValue)") }
            for run in runs where run.isCompleted {
                let lacking = columns.filter { run.value($0, reduction(for: $0)) == nil }
                if !lacking.isEmpty { parts.append("seed \(seed) has no value for " + lacking.map(MetricCatalog.label).joined(separator: ", ")) }
            }
        }
        return "\(arm.variant): " + parts.joined(separator: "; ") + "."
    }

    static func describe(_ value: ParamValue?) -> String { value?.description ?? "(unset)" }

    /// Unset first, then numbers ascending, then text.
    static func compare(_ a: ParamValue?, _ b: ParamValue?) -> Int {
        switch (a, b) {
        case (nil, nil): return 0
        case (nil, _): return -1
        case (_, nil): return 1
        case (let a?, let b?):
            if let x = a.numericValue, let y = b.numericValue { return x < y ? -1 : (x > y ? 1 : 0) }
            if a.numericValue != nil { return -1 }
            if b.numericValue != nil { return 1 }
            return a.description < b.description ? -1 : (a.description > b.description ? 1 : 0)
        }
    }

    static func slug(_ text: String) -> String {
        String(text.map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }
}
