import Foundation

/// `Reports/README.md`: what the reports in a folder say about the paper's three questions, written from each
/// report's `summary.json` so that every number in it is read from a store, never typed.
public struct ReportsSummary {
    struct Summary: Decodable {
        struct Metric: Decodable { let mean: Double?; let n: Int; let expected: Int }
        struct Run: Decodable { let status: String; let duration_seconds: Double? }
        struct Arm: Decodable {
            let variant: String
            let short_name: String
            let axis_values: [String: AxisValue]
            let metrics: [String: Metric]
            let runs: [Run]
        }
        struct Comparison: Decodable {
            let variant: String
            let metric: String
            let difference: Double?
            let p_holm: Double?
            let test: String?
        }
        let experiment: String
        let description: String
        let baseline: String
        let arms: [Arm]
        let comparisons: [Comparison]
        let compute_seconds: Double
    }

    enum AxisValue: Decodable {
        case number(Double), bool(Bool), text(String)
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let b = try? c.decode(Bool.self) { self = .bool(b) }
            else if let d = try? c.decode(Double.self) { self = .number(d) }
            else { self = .text((try? c.decode(String.self)) ?? "") }
        }
        var number: Double? { if case .number(let d) = self { return d }; if case .bool(let b) = self { return b ? 1 : 0 }; return nil }
    }

    let reports: [(folder: String, summary: Summary)]

    /// Reads every `<folder>/summary.json` under `directory`, in name order.
    public init(directory: URL) throws {
        let folders = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        var found: [(String, Summary)] = []
        for folder in folders {
            let file = directory.appendingPathComponent(folder).appendingPathComponent("summary.json")
            guard let data = FileManager.default.contents(atPath: file.path) else { continue }
            do {
                found.append((folder, try JSONDecoder().decode(Summary.self, from: data)))
            } catch {
                throw ReportError.io(path: file.path, reason: "not a report summary written by gaplab report (\(error))")
            }
        }
        reports = found
    }

    static func fmt(_ x: Double?) -> String { x.map { String(format: "%.3f", $0) } ?? "–" }

    static func significance(_ c: Summary.Comparison?) -> String {
        guard let c else { return "not tested in the report" }
        guard let p = c.p_holm else { return "untested: fewer than two runs per arm" }
        let verdict = p < 0.05 ? "significant" : "not significant"
        return String(format: "%@ at 5%% after Holm, p = %.3g, %@", verdict, p, c.test ?? "")
    }

    static func completed(_ arm: Summary.Arm) -> String {
        "\(arm.runs.filter { $0.status == "completed" }.count)/\(arm.runs.count) runs"
    }

    /// One line comparing `arm` with `reference` on `metrics` (mean of each over its runs).
    static func line(_ s: Summary, _ arm: Summary.Arm, against reference: Summary.Arm, metrics: [(String, String)]) -> String {
        let parts = metrics.compactMap { key, label -> String? in
            guard let a = arm.metrics[key]?.mean, let b = reference.metrics[key]?.mean else { return nil }
            let comparison = reference.variant == s.baseline ? s.comparisons.first { $0.variant == arm.variant && $0.metric == key } : nil
            return "\(label) \(fmt(b)) → \(fmt(a)) (\(String(format: "%+.3f", a - b)); \(significance(comparison)))"
        }
        guard !parts.isEmpty else { return "" }
        return "- `\(s.experiment)`: **\(arm.short_name)** against **\(reference.short_name)** (\(completed(arm)) and \(completed(reference))): "
            + parts.joined(separator: "; ") + "."
    }

    static func value(_ arm: Summary.Arm, _ key: String) -> Double { arm.axis_values[key]?.number ?? 0 }

    /// The arm of the same experiment that differs from `arm` only in `key` being 0 (or false), if planned.
    static func partner(_ s: Summary, _ arm: Summary.Arm, zeroing keys: [String]) -> Summary.Arm? {
        s.arms.first { other in
            other.short_name != arm.short_name && keys.allSatisfy { value(other, $0) == 0 }
                && arm.axis_values.keys.allSatisfy { k in keys.contains(k) || other.axis_values[k]?.number == arm.axis_values[k]?.number }
        }
    }

    public func markdown() -> String {
        var out = """
        # GapLab reports

        Written by `gaplab report-summary` from the `summary.json` of each report below: every number is read from
        the reports, which are generated from the store by `gaplab report` (each report's header gives the commands).
        Each line names its experiment; the experiment's description states the regime (temperature, model, data)
        in which the comparison holds. Values are means over seeds of each run's final metric on the test split.

        ## Reports

        | experiment | runs completed | compute | description |
        | --- | --- | --- | --- |

        """
        for (folder, s) in reports {
            let runs = s.arms.flatMap(\.runs)
            let done = runs.filter { $0.status == "completed" }.count
            out += "| [\(s.experiment)](\(folder)/README.md) | \(done)/\(runs.count) | \(String(format: "%.1f", s.compute_seconds / 3600)) h | \(s.description.replacingOccurrences(of: "|", with: "/")) |\n"
        }
        let gap = [("test/alignment", "alignment"), ("test/centroid_gap", "centroid gap")]
        out += "\n## 1. Does sharing the parameter space reduce the gap?\n\nArms with shared blocks or a shared head against the arm that differs only by sharing nothing.\n\n"
        var lines: [String] = []
        for (_, s) in reports {
            for arm in s.arms where (Self.value(arm, "model.sharing.depth") > 0 || Self.value(arm, "model.sharing.head") > 0)
                && Self.value(arm, "loss.imsep_weight") == 0 {
                if let ref = Self.partner(s, arm, zeroing: ["model.sharing.depth", "model.sharing.head"]) {
                    lines.append(Self.line(s, arm, against: ref, metrics: gap))
                }
            }
        }
        out += (lines.filter { !$0.isEmpty }.isEmpty ? "No report has such a pair yet.\n" : lines.filter { !$0.isEmpty }.joined(separator: "\n") + "\n")
        out += "\n## 2. Does intra-modality separation (IMSep) reduce it further?\n\nArms with IMSep against the arm that differs only by IMSep being off.\n\n"
        lines = []
        for (_, s) in reports {
            for arm in s.arms where Self.value(arm, "loss.imsep_weight") > 0 {
                if let ref = Self.partner(s, arm, zeroing: ["loss.imsep_weight"]) {
                    lines.append(Self.line(s, arm, against: ref, metrics: gap))
                }
            }
        }
        out += (lines.filter { !$0.isEmpty }.isEmpty ? "No report has such a pair yet.\n" : lines.filter { !$0.isEmpty }.joined(separator: "\n") + "\n")
        out += "\n## 3. What happens downstream?\n\nEvery arm against its experiment's baseline: retrieval R@1 on the test split, zero-shot top-1 per label axis, and, where the experiment fine-tunes, Table 5's zero-shot and fine-tuned image→text R@1 on the downstream set.\n\n"
        lines = []
        for (_, s) in reports {
            guard let base = s.arms.first(where: { $0.variant == s.baseline }) else { continue }
            for arm in s.arms where arm.short_name != base.short_name {
                var keys = [("test/i2t_r1", "i2t R@1"), ("test/t2i_r1", "t2i R@1")]
                keys += arm.metrics.keys.filter { $0.hasPrefix("test/zeroshot_") && $0.hasSuffix("_top1") }.sorted()
                    .map { ($0, "zero-shot " + $0.dropFirst("test/zeroshot_".count).dropLast("_top1".count) + " top-1") }
                keys += [("zeroshot/i2t_r1", "Table 5 zero-shot i2t R@1"), ("finetuned/i2t_r1", "Table 5 fine-tuned i2t R@1")]
                lines.append(Self.line(s, arm, against: base, metrics: keys))
            }
        }
        out += (lines.filter { !$0.isEmpty }.isEmpty ? "No report has an arm besides its baseline yet.\n" : lines.filter { !$0.isEmpty }.joined(separator: "\n") + "\n")
        return out
    }
}
