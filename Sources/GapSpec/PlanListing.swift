import Foundation

/// The text of `gaplab plan`: the expanded runs with their identity and their status in the store.
public enum PlanListing {
    /// Status shown for runs the store does not know (or when there is no store).
    public static let newStatus = "new"

    /// - Parameter status: the store's status of a run id, nil when the store has no such run.
    public static func render(_ plan: ExperimentPlan, format: ListingFormat, status: (String) -> String? = { _ in nil }) -> String {
        switch format {
        case .table: return table(plan, status: status)
        case .csv: return csv(plan, status: status)
        case .json: return JSONOutput.text(json(plan, status: status))
        }
    }

    static func table(_ plan: ExperimentPlan, status: (String) -> String?) -> String {
        let rows = plan.runs.map { run in
            [run.shortRunID, run.shortName, String(run.seed), run.shortConfigHash, status(run.runID) ?? newStatus]
        }
        var out = "experiment \(plan.name): \(plan.runs.count) run\(plan.runs.count == 1 ? "" : "s") from \(plan.sourceFile)"
        if !plan.overrides.isEmpty { out += " with " + plan.overrides.joined(separator: " ") }
        out += "\n" + TextTable(header: ["RUN", "NAME", "SEED", "CONFIG", "STATUS"], rows: rows).aligned()
        for warning in plan.warnings { out += "note: \(warning)\n" }
        return out
    }

    static func csv(_ plan: ExperimentPlan, status: (String) -> String?) -> String {
        TextTable(header: ["run_id", "short_name", "variant", "seed", "config_hash", "status"], rows: plan.runs.map { run in
            [run.runID, run.shortName, run.variant, String(run.seed), run.configHash, status(run.runID) ?? newStatus]
        }).csv()
    }

    static func json(_ plan: ExperimentPlan, status: (String) -> String?) -> JSONValue {
        let runs: [JSONValue] = plan.runs.map { run in
            let axes = JSONValue.object(run.axes.sorted { JSONValue.keyPrecedes($0.key, $1.key) }.map { (key: $0.key, value: $0.value) })
            return [
                "run_id": .string(run.runID), "short_name": .string(run.shortName), "variant": .string(run.variant),
                "seed": .number(Double(run.seed)), "config_hash": .string(run.configHash),
                "status": .string(status(run.runID) ?? newStatus), "axes": axes, "config": run.configJSON,
            ]
        }
        return [
            "experiment": .string(plan.name), "description": .string(plan.description), "file": .string(plan.sourceFile),
            "overrides": .array(plan.overrides.map(JSONValue.string)), "runs": .array(runs),
            "warnings": .array(plan.warnings.map(JSONValue.string)),
        ]
    }
}
