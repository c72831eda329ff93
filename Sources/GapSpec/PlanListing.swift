import Foundation

/// The text of `gaplab plan`: the expanded runs with their identity and their status in the store.
public enum PlanListing {
    public enum Format: String, CaseIterable, Sendable {
        case table, csv, json
    }

    /// Status shown for runs the store does not know (or when there is no store).
    public static let newStatus = "new"

    /// - Parameter status: the store's status of a run id, nil when the store has no such run.
    public static func render(_ plan: ExperimentPlan, format: Format, status: (String) -> String? = { _ in nil }) -> String {
        switch format {
        case .table: return table(plan, status: status)
        case .csv: return csv(plan, status: status)
        case .json: return json(plan, status: status).prettyString + "\n"
        }
    }

    static func table(_ plan: ExperimentPlan, status: (String) -> String?) -> String {
        let header = ["RUN", "NAME", "SEED", "CONFIG", "STATUS"]
        let rows = plan.runs.map { run in
            [run.shortRunID, run.shortName, String(run.seed), run.shortConfigHash, status(run.runID) ?? newStatus]
        }
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                i == cells.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
            }.joined(separator: "  ")
        }
        var out = "experiment \(plan.name): \(plan.runs.count) run\(plan.runs.count == 1 ? "" : "s") from \(plan.sourceFile)"
        if !plan.overrides.isEmpty { out += " with " + plan.overrides.joined(separator: " ") }
        out += "\n" + line(header) + "\n"
        for row in rows { out += line(row) + "\n" }
        for warning in plan.warnings { out += "note: \(warning)\n" }
        return out
    }

    static func csv(_ plan: ExperimentPlan, status: (String) -> String?) -> String {
        func field(_ s: String) -> String {
            s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        var out = "run_id,short_name,variant,seed,config_hash,status\n"
        for run in plan.runs {
            out += [run.runID, run.shortName, run.variant, String(run.seed), run.configHash, status(run.runID) ?? newStatus]
                .map(field).joined(separator: ",") + "\n"
        }
        return out
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
