import Foundation

/// Machine-readable exports: the long-form CSV and the JSON summary.
enum ReportExports {
    /// One row per run × metric, every run listed (a run without metrics gets one row with an empty metric).
    static func longCSV(_ data: ExperimentData, _ tables: TableBuilder) -> String {
        var lines = [TableRendering.csvLine(["experiment", "variant", "seed", "run_id", "status", "metric", "reduction", "value",
                                             "final_step", "final_value", "best_step", "best_value"])]
        for arm in data.arms {
            for run in arm.runs {
                let base = [data.experiment.name, arm.variant, String(run.record.seed), run.record.runID, run.record.status.rawValue]
                if run.summaries.isEmpty { lines.append(TableRendering.csvLine(base + Array(repeating: "", count: 7))); continue }
                for key in run.summaries.keys.sorted() {
                    let s = run.summaries[key]!
                    let reduction = tables.reduction(for: key)
                    lines.append(TableRendering.csvLine(base + [
                        key, reduction.name, NumberText.raw(run.recordedValue(key, reduction)),
                        String(s.finalStep), NumberText.raw(s.finalValue), String(s.bestStep), NumberText.raw(s.bestValue),
                    ]))
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The settings a conclusion depends on (temperature, model size, data, training length), read from the arm's
    /// recorded parameters, plus the learned logit scale at the end of training (mean over the arm's runs).
    static let regimeParameters = [
        "model.init_logit_scale", "train.learn_logit_scale", "model.vision_cfg.layers", "model.vision_cfg.width",
        "model.text_cfg.layers", "model.text_cfg.width", "data.train_size", "train.epochs", "train.batch_size",
        "model.sharing.depth", "model.sharing.head", "loss.imsep_weight",
    ]

    static func regime(_ arm: Arm) -> [String: Any] {
        var out = [String: Any]()
        guard let first = arm.runs.first else { return out }
        for key in regimeParameters { out[key] = first.params[key]?.numericValue ?? NSNull() }
        if case .string(let dataset)? = first.params["data.dataset"] { out["data.dataset"] = dataset }
        let finals = arm.runs.filter(\.isCompleted).compactMap { $0.summaries["train/logit_scale"]?.finalValue }
        out["final_logit_scale"] = finals.isEmpty ? NSNull() : finals.map { Foundation.exp($0) }.reduce(0, +) / Double(finals.count)
        return out
    }

    /// End-of-run metrics (not the `train/` and `val/` histories) per arm, the comparisons and the provenance.
    static func json(_ data: ExperimentData, _ tables: TableBuilder, _ header: ReportHeader) throws -> String {
        func number(_ value: Double?) -> Any { value.flatMap { $0.isFinite ? $0 : nil } ?? NSNull() }
        let keys = tables.presentKeys.filter { (!$0.hasPrefix("train/") && !$0.hasPrefix("val/")) || tables.reductions[$0] != nil }.sorted()
        let arms: [[String: Any]] = data.arms.map { arm in
            var metrics = [String: Any]()
            for key in keys {
                let runs = arm.runs.compactMap { run in run.value(key, tables.reduction(for: key)).map { (run, $0) } }
                let values = runs.map(\.1)
                let s = values.isEmpty ? nil : SampleSummary(values)
                metrics[key] = [
                    "reduction": tables.reduction(for: key).name, "n": values.count, "expected": data.expectedCount(arm),
                    "mean": number(s?.mean), "std": number(s?.std),
                    "ci95": s?.interval.map { [$0.lowerBound, $0.upperBound] } ?? NSNull(),
                    "values": runs.map { ["run_id": $0.0.record.runID, "seed": $0.0.record.seed, "value": $0.1] as [String: Any] },
                ] as [String: Any]
            }
            var axisValues = [String: Any]()
            for (key, value) in arm.axisValues { axisValues[key] = value?.jsonObject ?? NSNull() }
            return [
                "variant": arm.variant, "short_name": arm.shortName, "axis_values": axisValues, "metrics": metrics,
                "regime": regime(arm),
                "runs": arm.runs.map { ["run_id": $0.record.runID, "seed": $0.record.seed, "status": $0.record.status.rawValue,
                                        "duration_seconds": number($0.duration)] as [String: Any] },
            ]
        }
        let comparisons: [[String: Any]] = tables.comparisons().map { c in
            ["variant": c.variant, "metric": c.metric, "difference": number(c.difference),
             "test": c.test?.kind.rawValue ?? NSNull(), "t": number(c.test?.t), "df": number(c.test?.degreesOfFreedom),
             "p": number(c.test?.p), "p_holm": number(c.adjustedP)]
        }
        let object: [String: Any] = [
            "experiment": header.experiment, "description": header.description,
            "newest_run_end": header.newestRunEnd.map { _ in header.newestRunEndText } ?? NSNull(),
            "code_commits": header.commits, "store": header.store, "reproduce": header.reproduceCommands,
            "compute_seconds": header.computeSeconds, "baseline": data.baseline?.variant ?? NSNull(),
            "seeds": data.seeds, "axes": data.axes.map { ["key": $0.key, "numeric": $0.isNumeric] as [String: Any] },
            "arms": arms, "comparisons": comparisons,
        ]
        let json = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: json, as: UTF8.self) + "\n"
    }
}
