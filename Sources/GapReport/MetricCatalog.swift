import Foundation

/// Which metric keys the tables show and the names they are shown under.
public enum MetricCatalog {
    /// Keys compared against the baseline with a significance test and shown in the ablation tables.
    public static let keyMetrics = ["test/alignment", "test/centroid_gap", "test/i2t_r1", "test/t2i_r1"]

    /// Main-table columns among the keys present: geometry first, then retrieval, zero-shot and probes per label axis.
    public static func mainColumns(present: Set<String>) -> [String] {
        let fixed = ["test/alignment", "test/centroid_gap", "test/separability", "test/uniformity_image",
                     "test/uniformity_text", "test/i2t_r1", "test/t2i_r1"]
        let zeroShot = present.filter { $0.hasPrefix("test/zeroshot_") && $0.hasSuffix("_top1") }.sorted()
        let probes = present.filter { $0.hasPrefix("test/probe_") && $0.hasSuffix("_acc") }.sorted()
        return fixed.filter(present.contains) + zeroShot + probes
    }

    /// Table-5 columns: zero-shot then fine-tuned retrieval on the downstream test split.
    public static let table5Columns: [String] = ["zeroshot", "finetuned"].flatMap { stage in
        ["i2t_r1", "i2t_r5", "i2t_r10", "t2i_r1", "t2i_r5", "t2i_r10"].map { "\(stage)/\($0)" }
    }

    /// A short readable name: `test/zeroshot_shape_top1` → `zero-shot shape top-1`.
    public static func label(_ key: String) -> String {
        var name = key
        var stage = ""
        if let slash = key.firstIndex(of: "/") {
            stage = String(key[..<slash])
            name = String(key[key.index(after: slash)...])
        }
        let named: String
        if name.hasPrefix("zeroshot_"), name.hasSuffix("_top1") || name.hasSuffix("_top5") {
            let axis = name.dropFirst("zeroshot_".count).dropLast("_top1".count)
            named = "zero-shot \(axis) top-\(name.suffix(1))"
        } else if name.hasPrefix("probe_"), name.hasSuffix("_acc") {
            named = "probe \(name.dropFirst("probe_".count).dropLast("_acc".count))"
        } else if let retrieval = retrievalLabel(name) {
            named = retrieval
        } else {
            named = name.replacingOccurrences(of: "_", with: " ")
        }
        switch stage {
        case "test", "": return named
        case "zeroshot": return "zero-shot \(named)"
        case "finetuned": return "fine-tuned \(named)"
        default: return "\(stage) \(named)"
        }
    }

    private static func retrievalLabel(_ name: String) -> String? {
        for direction in ["i2t", "t2i"] where name.hasPrefix(direction + "_r") {
            let k = name.dropFirst(direction.count + 2)
            if !k.isEmpty, k.allSatisfy(\.isNumber) { return "\(direction) R@\(k)" }
        }
        return nil
    }
}
