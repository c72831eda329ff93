import Foundation
import GapSpec
import GapStore

/// Machine-readable exports: the long-form CSV and the JSON summary.
enum ReportExports {
    /// One row per run × metric, every run listed (a run without metrics gets one row with an empty metric).
    static func longCSV(_ data: ExperimentData, _ tables: TableBuilder) -> String {
        let header = ["experiment", "variant", "seed", "run_id", "status", "metric", "reduction", "value",
                      "final_step", "final_value", "best_step", "best_value"]
        var rows: [[String]] = []
        for arm in data.arms {
            for run in arm.runs {
                let base = [data.experiment.name, arm.variant, String(run.record.seed), run.record.runID, run.record.status.rawValue]
                if run.summaries.isEmpty { rows.append(base + Array(repeating: "", count: 7)); continue }
                for key in run.summaries.keys.sorted() {
                    let s = run.summaries[key]!
                    let reduction = tables.reduction(for: key)
                    rows.append(base + [
                        key, reduction.name, NumberText.raw(run.recordedValue(key, reduction)),
                        String(s.finalStep), NumberText.raw(s.finalValue), String(s.bestStep), NumberText.raw(s.bestValue),
                    ])
                }
            }
        }
        return TextTable(header: header, rows: rows).csv()
    }

    /// The settings a conclusion depends on (temperature, model size, data, training length), read from the arm's
    /// recorded parameters, plus the learned logit scale at the end of training (mean over the arm's runs).
    static let regimeParameters = [
        "model.init_logit_scale", "train.learn_logit_scale", "model.vision_cfg.layers", "model.vision_cfg.width",
        "model.text_cfg.layers", "model.text_cfg.width", "data.train_size", "train.epochs", "train.batch_size",
        "model.sharing.depth", "model.sharing.head", "loss.imsep_weight",
    ]

    static func regime(_ arm: Arm) -> [String: JSONValue] {
        var out = [String: JSONValue]()
        guard let first = arm.runs.first else { return out }
        for key in regimeParameters { out[key] = first.params[key]?.numericValue.map(JSONValue.number) ?? .null }
        if case .string(let dataset)? = first.params["data.dataset"] { out["data.dataset"] = .string(dataset) }
        let finals = arm.runs.filter(\.isCompleted).compactMap { $0.summaries["train/logit_scale"]?.finalValue }
        out["final_logit_scale"] = finals.isEmpty ? .null : .number(finals.map { Foundation.exp($0) }.reduce(0, +) / Double(finals.count))
        return out
    }

    /// `summary.json`: what `ReportsSummary` reads back. Every key is written, absent values as null.
    struct Summary: Encodable {
        struct Axis: Encodable { var key: String; var numeric: Bool }
        struct Value: Encodable { var run_id: String; var seed: Int; var value: Double }
        struct Metric: Encodable {
            var reduction: String
            var n: Int
            var expected: Int
            @NullWhenAbsent var mean: Double?
            @NullWhenAbsent var std: Double?
            @NullWhenAbsent var ci95: [Double]?
            var values: [Value]
        }
        struct Run: Encodable {
            var run_id: String
            var seed: Int
            var status: String
            @NullWhenAbsent var duration_seconds: Double?
        }
        struct Arm: Encodable {
            var variant: String
            var short_name: String
            var axis_values: [String: ParamValue?]
            var metrics: [String: Metric]
            var regime: [String: JSONValue]
            var runs: [Run]
        }
        struct Comparison: Encodable {
            var variant: String
            var metric: String
            @NullWhenAbsent var difference: Double?
            @NullWhenAbsent var test: String?
            @NullWhenAbsent var t: Double?
            @NullWhenAbsent var df: Double?
            @NullWhenAbsent var p: Double?
            @NullWhenAbsent var p_holm: Double?
        }
        var experiment: String
        var description: String
        @NullWhenAbsent var newest_run_end: String?
        var code_commits: [String]
        var store: String
        var reproduce: [String]
        var compute_seconds: Double
        @NullWhenAbsent var baseline: String?
        var seeds: [Int]
        var axes: [Axis]
        var arms: [Arm]
        var comparisons: [Comparison]
    }

    /// End-of-run metrics (not the `train/` and `val/` histories) per arm, the comparisons and the provenance.
    static func json(_ data: ExperimentData, _ tables: TableBuilder, _ header: ReportHeader) -> String {
        func number(_ value: Double?) -> Double? { value.flatMap { $0.isFinite ? $0 : nil } }
        let keys = tables.presentKeys.filter { (!$0.hasPrefix("train/") && !$0.hasPrefix("val/")) || tables.reductions[$0] != nil }.sorted()
        let arms = data.arms.map { arm in
            var metrics = [String: Summary.Metric]()
            for key in keys {
                let runs = arm.runs.compactMap { run in run.value(key, tables.reduction(for: key)).map { (run, $0) } }
                let values = runs.map(\.1)
                let s = values.isEmpty ? nil : SampleSummary(values)
                metrics[key] = Summary.Metric(
                    reduction: tables.reduction(for: key).name, n: values.count, expected: data.expectedCount(arm),
                    mean: number(s?.mean), std: number(s?.std), ci95: s?.interval.map { [$0.lowerBound, $0.upperBound] },
                    values: runs.map { Summary.Value(run_id: $0.0.record.runID, seed: $0.0.record.seed, value: $0.1) })
            }
            return Summary.Arm(
                variant: arm.variant, short_name: arm.shortName, axis_values: arm.axisValues, metrics: metrics, regime: regime(arm),
                runs: arm.runs.map { Summary.Run(run_id: $0.record.runID, seed: $0.record.seed, status: $0.record.status.rawValue,
                                                 duration_seconds: number($0.duration)) })
        }
        let comparisons = tables.comparisons().map { c in
            Summary.Comparison(variant: c.variant, metric: c.metric, difference: number(c.difference), test: c.test?.kind.rawValue,
                               t: number(c.test?.t), df: number(c.test?.degreesOfFreedom), p: number(c.test?.p),
                               p_holm: number(c.adjustedP))
        }
        let summary = Summary(
            experiment: header.experiment, description: header.description,
            newest_run_end: header.newestRunEnd.map { _ in header.newestRunEndText }, code_commits: header.commits,
            store: header.store, reproduce: header.reproduceCommands, compute_seconds: header.computeSeconds,
            baseline: data.baseline?.variant, seeds: data.seeds,
            axes: data.axes.map { Summary.Axis(key: $0.key, numeric: $0.isNumeric) }, arms: arms, comparisons: comparisons)
        return JSONOutput.text(summary)
    }
}
