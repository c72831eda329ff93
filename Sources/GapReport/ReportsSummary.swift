import Foundation
import GapSpec

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
            let regime: [String: AxisValue]?
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
            return "\(label) \(fmt(b)) → \(fmt(a)) (\(String(format: "%+.3f", a - b)); \(significance(comparison(s, arm, against: reference, key))))"
        }
        guard !parts.isEmpty else { return "" }
        return "- `\(s.experiment)`: **\(arm.short_name)** against **\(reference.short_name)** (\(completed(arm)) and \(completed(reference))): "
            + parts.joined(separator: "; ") + "."
    }

    /// The report's test of `arm` against `reference` on `key`: reports test every arm against their baseline only.
    static func comparison(_ s: Summary, _ arm: Summary.Arm, against reference: Summary.Arm, _ key: String) -> Summary.Comparison? {
        reference.variant == s.baseline ? s.comparisons.first { $0.variant == arm.variant && $0.metric == key } : nil
    }

    static func value(_ arm: Summary.Arm, _ key: String) -> Double { arm.axis_values[key]?.number ?? 0 }

    /// The arm of the same experiment that differs from `arm` only in `key` being 0 (or false), if planned.
    static func partner(_ s: Summary, _ arm: Summary.Arm, zeroing keys: [String]) -> Summary.Arm? {
        s.arms.first { other in
            other.short_name != arm.short_name && keys.allSatisfy { value(other, $0) == 0 }
                && arm.axis_values.keys.allSatisfy { k in keys.contains(k) || other.axis_values[k]?.number == arm.axis_values[k]?.number }
        }
    }

    /// One comparison behind a verdict: `arm` against `partner`, the arm of the same experiment that differs only
    /// by the method being off.
    struct Pair {
        let summary: Summary
        let arm: Summary.Arm
        let partner: Summary.Arm
        /// What the arm adds, e.g. "shared head" or "IMSep on shared parameters".
        let method: String
        let regime: String
    }

    /// The regime a comparison holds in, named from the runs' recorded parameters.
    static func regimeName(_ arm: Summary.Arm) -> String {
        guard let r = arm.regime else { return "regime not recorded" }
        func n(_ key: String) -> Double? { r[key]?.number }
        var parts: [String] = []
        if let start = n("model.init_logit_scale") {
            let scale = Foundation.exp(start)
            let learned = (n("train.learn_logit_scale") ?? 1) != 0
            parts.append(String(format: "logit scale %@ %.4g (temperature %.3g)", learned ? "learned from" : "fixed at", scale, 1 / scale))
        }
        if let layers = n("model.vision_cfg.layers"), let width = n("model.vision_cfg.width") {
            parts.append(String(format: "%.0f-layer width-%.0f towers", layers, width))
        }
        var data: [String] = []
        if case .text(let dataset)? = r["data.dataset"] {
            data.append(n("data.train_size").map { String(format: "%@ %.0f pairs", dataset, $0) } ?? dataset)
        }
        if let epochs = n("train.epochs") { data.append(String(format: "%.0f epochs", epochs)) }
        if !data.isEmpty { parts.append(data.joined(separator: ", ")) }
        return parts.joined(separator: "; ")
    }

    static func finalScale(_ arm: Summary.Arm) -> Double? { arm.regime?["final_logit_scale"]?.number }

    /// A parameter of the arm: its swept value, or else the value recorded in its regime (settings every arm of
    /// the experiment shares are not axes).
    static func setting(_ arm: Summary.Arm, _ key: String) -> Double {
        arm.axis_values[key]?.number ?? arm.regime?[key]?.number ?? 0
    }

    static func sharingMethod(_ arm: Summary.Arm) -> String {
        let depth = setting(arm, "model.sharing.depth"), head = setting(arm, "model.sharing.head") > 0
        switch (depth > 0, head) {
        case (true, true): return "shared blocks and head"
        case (true, false): return "shared blocks only"
        default: return "shared head only"
        }
    }

    func sharingPairs() -> [Pair] {
        reports.flatMap { _, s in
            s.arms.filter { (Self.value($0, "model.sharing.depth") > 0 || Self.value($0, "model.sharing.head") > 0)
                && Self.value($0, "loss.imsep_weight") == 0 }
                .compactMap { arm in
                    Self.partner(s, arm, zeroing: ["model.sharing.depth", "model.sharing.head"]).map {
                        Pair(summary: s, arm: arm, partner: $0, method: Self.sharingMethod(arm), regime: Self.regimeName(arm))
                    }
                }
        }
    }

    func imsepPairs() -> [Pair] {
        reports.flatMap { _, s in
            s.arms.filter { Self.value($0, "loss.imsep_weight") > 0 }.compactMap { arm in
                Self.partner(s, arm, zeroing: ["loss.imsep_weight"]).map {
                    let shared = Self.setting(arm, "model.sharing.depth") > 0 || Self.setting(arm, "model.sharing.head") > 0
                    return Pair(summary: s, arm: arm, partner: $0, method: shared ? "IMSep with shared parameters" : "IMSep on two towers",
                                regime: Self.regimeName(arm))
                }
            }
        }
    }

    /// A claim of the paper, as the metrics it moves: key, label and the sign of the claimed change (+1 higher,
    /// -1 lower). A comparison agrees when every claimed metric it has moves that way.
    struct Claim {
        let name: String
        let metrics: [(key: String, label: String, sign: Double)]
    }

    /// The arm's mean minus its partner's on `key`, when both have it.
    static func delta(_ pair: Pair, _ key: String) -> Double? {
        guard let a = pair.arm.metrics[key]?.mean, let b = pair.partner.metrics[key]?.mean else { return nil }
        return a - b
    }

    /// How one group of comparisons bears on a claim: how many move the claimed metrics the claimed way.
    struct Verdict {
        let regime: String
        let method: String
        let pairs: [Pair]
        let agreeing: Int
        let significant: Int
        let tested: Int

        var word: String {
            agreeing == pairs.count ? "holds" : agreeing == 0 ? "does not hold" : "mixed"
        }
    }

    /// The verdicts on `claim`, one per regime and method in the order the pairs first name them.
    static func verdicts(_ pairs: [Pair], claim: Claim) -> [Verdict] {
        var order: [String] = [], groups: [String: [Pair]] = [:]
        for pair in pairs {
            let key = pair.regime + "\u{1F}" + pair.method
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(pair)
        }
        return order.map { key in
            let group = groups[key]!
            var agreeing = 0, significant = 0, tested = 0
            for pair in group {
                var agrees = true, any = false
                for (metric, _, sign) in claim.metrics {
                    guard let d = delta(pair, metric) else { continue }
                    any = true
                    if d * sign <= 0 { agrees = false }
                    if let c = comparison(pair.summary, pair.arm, against: pair.partner, metric), let p = c.p_holm {
                        tested += 1
                        if p < 0.05 && (c.difference ?? 0) * sign > 0 { significant += 1 }
                    }
                }
                if agrees && any { agreeing += 1 }
            }
            return Verdict(regime: group[0].regime, method: group[0].method, pairs: group, agreeing: agreeing,
                           significant: significant, tested: tested)
        }
    }

    static func range(_ pairs: [Pair], _ metric: String) -> String {
        let deltas = pairs.compactMap { delta($0, metric) }
        guard let lo = deltas.min(), let hi = deltas.max() else { return "–" }
        return lo == hi ? String(format: "%+.3f", lo) : String(format: "%+.3f … %+.3f", lo, hi)
    }

    static func scaleRange(_ pairs: [Pair]) -> String {
        let scales = pairs.flatMap { [finalScale($0.arm), finalScale($0.partner)] }.compactMap { $0 }
        guard let lo = scales.min(), let hi = scales.max() else { return "–" }
        return String(format: "%.1f … %.1f", lo, hi)
    }

    /// The table of verdicts on `claim` over `pairs`; those that do not hold are added to `notHolding`.
    static func verdictTable(_ pairs: [Pair], claim: Claim, notHolding: inout [(claim: String, verdict: Verdict)]) -> String {
        guard !pairs.isEmpty else { return "No report has such a pair yet.\n" }
        let verdicts = verdicts(pairs, claim: claim)
        notHolding += verdicts.filter { $0.word != "holds" }.map { (claim.name, $0) }
        let header = ["regime", "method", "verdict", "comparisons in the paper's direction", "significant at 5% (Holm)"]
            + claim.metrics.map { "Δ \($0.label)" } + ["logit scale at the end"]
        let rows = verdicts.map { v in
            let experiments = Array(Set(v.pairs.map { $0.summary.experiment })).sorted().map { "`\($0)`" }.joined(separator: ", ")
            return ["\(v.regime) (\(experiments))", v.method, "**\(v.word)**", "\(v.agreeing)/\(v.pairs.count)",
                    v.tested == 0 ? "not tested" : "\(v.significant) of \(v.tested) tests"]
                + claim.metrics.map { range(v.pairs, $0.key) } + [scaleRange(v.pairs)]
        }
        return TextTable(header: header, rows: rows).markdown()
    }

    static func details(_ lines: [String]) -> String {
        let kept = lines.filter { !$0.isEmpty }
        guard !kept.isEmpty else { return "" }
        return "\n<details><summary>Every comparison (\(kept.count))</summary>\n\n" + kept.joined(separator: "\n") + "\n\n</details>\n"
    }

    public func markdown() -> String {
        var out = """
        # GapLab reports

        Written by `gaplab report-summary` from the `summary.json` of each report below: every number is read from
        the reports, which are generated from the store by `gaplab report` (each report's header gives the commands).
        Values are means over seeds of each run's final metric on the test split.

        Each question gets one verdict per regime (temperature, model, data and training length, read from the runs'
        parameters) and method: the claim **holds** there when every comparison moves the claimed way, **does not
        hold** when none does, and is **mixed** otherwise. Beside it: how many of the differences the reports tested
        (arms against their experiment's baseline, Welch or paired by seed, Holm-corrected) are significant at 5% in
        the claimed direction. With two or three seeds per arm few can be, so a verdict is a direction observed at
        this scale, not an established effect.

        ## Reports


        """
        out += TextTable(header: ["experiment", "runs completed", "compute", "description"], rows: reports.map { folder, s in
            let runs = s.arms.flatMap(\.runs)
            let done = runs.filter { $0.status == "completed" }.count
            return ["[\(s.experiment)](\(folder)/README.md)", "\(done)/\(runs.count)", String(format: "%.1f", s.compute_seconds / 3600) + " h",
                    s.description.replacingOccurrences(of: "|", with: "/")]
        }).markdown()
        let gapMetrics: [(key: String, label: String, sign: Double)] = [("test/alignment", "alignment", 1), ("test/centroid_gap", "centroid gap", -1)]
        let gap = gapMetrics.map { ($0.key, $0.label) }
        let sharing = sharingPairs(), imsep = imsepPairs()
        var notHolding: [(claim: String, verdict: Verdict)] = []

        out += "\n## 1. Does sharing the parameter space reduce the gap?\n\n"
        out += "Claim: sharing raises the alignment score and lowers the centroid gap. Each comparison is an arm with shared blocks or a shared head against the arm of the same experiment that differs only by sharing nothing.\n\n"
        out += Self.verdictTable(sharing, claim: Claim(name: "1. sharing reduces the gap", metrics: gapMetrics), notHolding: &notHolding)
        out += Self.details(sharing.map { Self.line($0.summary, $0.arm, against: $0.partner, metrics: gap) })

        out += "\n## 2. Does intra-modality separation (IMSep) reduce it further?\n\n"
        out += "Claim: adding IMSep raises the alignment score and lowers the centroid gap. Each comparison is an arm with IMSep against the arm that differs only by IMSep being off.\n\n"
        out += Self.verdictTable(imsep, claim: Claim(name: "2. IMSep reduces the gap", metrics: gapMetrics), notHolding: &notHolding)
        out += Self.details(imsep.map { Self.line($0.summary, $0.arm, against: $0.partner, metrics: gap) })

        out += "\n## 3. What happens downstream?\n\n"
        out += "Claim: closing the gap improves downstream retrieval (the paper's Table 5). The same comparisons as above, on retrieval R@1 in both directions (test split) and, where the experiment fine-tunes, Table 5's fine-tuned image→text R@1 on the downstream set; a comparison agrees when all of these rise.\n\n"
        let downstream = Claim(name: "3. downstream retrieval", metrics: [
            ("test/i2t_r1", "i2t R@1", 1), ("test/t2i_r1", "t2i R@1", 1), ("finetuned/i2t_r1", "fine-tuned i2t R@1", 1),
        ])
        out += Self.verdictTable(sharing + imsep, claim: downstream, notHolding: &notHolding)
        if !(sharing + imsep).isEmpty {
            var lines: [String] = []
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
            out += "\nEvery arm against its experiment's baseline, with zero-shot classification per label axis:\n"
            out += Self.details(lines)
        }
        out += "\n## Where the claims do not hold at this scale\n\n"
        if notHolding.isEmpty {
            out += "Every verdict above holds.\n"
        } else {
            for (claim, v) in notHolding {
                out += "- \(claim), \(v.method), \(v.regime): **\(v.word)** (\(v.agreeing) of \(v.pairs.count) comparisons in the paper's direction).\n"
            }
        }
        return out
    }
}
