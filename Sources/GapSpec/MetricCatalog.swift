/// Every metric the evaluation (GapEval) emits: its key, which way is better, what it measures, and the name
/// tables show it under. It sits below the evaluation so the store's users and the reports read it without
/// linking the numeric modules; a run records each key's direction in the store from here.
public enum MetricCatalog {
    public struct Entry: Sendable, Equatable {
        /// The key as `EvaluationReport.metrics` writes it; `<K>`, `<P>` and `<k>` stand for digits, `<axis>` for
        /// a label axis name.
        public var key: String
        public var direction: MetricDirection
        public var description: String
    }

    public static let entries: [Entry] = [
        Entry(key: "alignment", direction: .max, description: "mean cosine of matched image–text pairs (the paper's alignment score)"),
        Entry(key: "paired_angle_deg", direction: .min, description: "mean angle between matched pairs, in degrees"),
        Entry(key: "paired_cos_q<P>", direction: .max, description: "the P% quantile of the matched-pair cosines"),
        Entry(key: "centroid_gap", direction: .min, description: "distance between the image and the text centroid of the unit embeddings (Liang et al.)"),
        Entry(key: "separation", direction: .max, description: "1 − the sum of the off-diagonal entries of V·Tᵀ over N² (the authors' notebook)"),
        Entry(key: "uniformity_image", direction: .min, description: "log of the mean exp(−2‖x_i − x_j‖²) over image pairs (Wang & Isola)"),
        Entry(key: "uniformity_text", direction: .min, description: "log of the mean exp(−2‖x_i − x_j‖²) over text pairs (Wang & Isola)"),
        Entry(key: "separability", direction: .min, description: "held-out accuracy of a linear classifier telling images from texts; 1 is fully separated cones"),
        Entry(key: "i2t_r<K>", direction: .max, description: "image→text recall at K: share of images with one of their captions among the K nearest texts"),
        Entry(key: "t2i_r<K>", direction: .max, description: "text→image recall at K: share of texts with their image among the K nearest images"),
        Entry(key: "i2t_mean_rank", direction: .min, description: "mean rank of an image's best-ranked caption (1 is first)"),
        Entry(key: "i2t_median_rank", direction: .min, description: "median rank of an image's best-ranked caption (1 is first)"),
        Entry(key: "t2i_mean_rank", direction: .min, description: "mean rank of a text's image (1 is first)"),
        Entry(key: "t2i_median_rank", direction: .min, description: "median rank of a text's image (1 is first)"),
        Entry(key: "zeroshot_<axis>_top<k>", direction: .max, description: "zero-shot top-k accuracy on a label axis, class weights from the prompt templates"),
        Entry(key: "probe_<axis>_acc", direction: .max, description: "accuracy of a logistic-regression probe on frozen image embeddings for a label axis"),
    ]

    /// The entry of a key, with or without `shift_<δ>/` or another `prefix/` in front; nil for keys the
    /// evaluation does not emit (training losses, for one).
    public static func entry(for key: String) -> Entry? {
        let base = key.split(separator: "/").last.map(String.init) ?? key
        return entries.first { matches(Array(base), Array($0.key)) }
    }

    public static func direction(of key: String) -> MetricDirection? { entry(for: key)?.direction }

    /// A pattern's `<digits-name>` (one upper or lower letter) matches one or more digits, any longer `<name>`
    /// one or more characters; the rest matches itself.
    private static func matches(_ key: [Character], _ pattern: [Character]) -> Bool {
        guard let first = pattern.first else { return key.isEmpty }
        guard first == "<", let close = pattern.firstIndex(of: ">") else {
            return key.first == first && matches(Array(key.dropFirst()), Array(pattern.dropFirst()))
        }
        let digitsOnly = close == 2
        let rest = Array(pattern[(close + 1)...])
        var taken = 0
        while taken < key.count {
            if digitsOnly && !key[taken].isNumber { break }
            taken += 1
            if matches(Array(key[taken...]), rest) { return true }
        }
        return false
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
