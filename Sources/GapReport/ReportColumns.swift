import Foundation

/// Which metric keys the tables show, in which order; `MetricCatalog` names them.
public enum ReportColumns {
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
}
