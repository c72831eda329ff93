import Foundation

/// Every metric of one evaluation, flattened to stable keys for the store and the reports.
///
/// Keys: `alignment`, `paired_angle_deg`, `paired_cos_q000` ... `paired_cos_q100` (percent), `centroid_gap`,
/// `separation`, `uniformity_image`, `uniformity_text`, `separability`; `i2t_r<K>`, `t2i_r<K>`,
/// `i2t_mean_rank`, `i2t_median_rank`, `t2i_mean_rank`, `t2i_median_rank`; `zeroshot_<axis>_top<k>`;
/// `probe_<axis>_acc`; and for each post-hoc shift arm `shift_<δ>/<geometry or retrieval key>` with δ
/// printed by `deltaKey` (e.g. `shift_0.5/alignment`, `shift_0.5/zeroshot_shape_top1`). `MetricCatalog` (GapSpec) says
/// what each measures and which way is better.
public struct EvaluationReport: Sendable, Equatable {
    public var geometry: GeometryMetrics?
    public var retrieval: RetrievalMetrics?
    /// Zero-shot results per label axis the dataset declares.
    public var zeroShot: [String: ZeroShotResult]
    /// Linear-probe results per label axis.
    public var linearProbe: [String: LinearProbeResult]
    public var shift: [ShiftArm]

    public init(geometry: GeometryMetrics? = nil, retrieval: RetrievalMetrics? = nil,
                zeroShot: [String: ZeroShotResult] = [:], linearProbe: [String: LinearProbeResult] = [:],
                shift: [ShiftArm] = []) {
        self.geometry = geometry
        self.retrieval = retrieval
        self.zeroShot = zeroShot
        self.linearProbe = linearProbe
        self.shift = shift
    }

    public var metrics: [String: Double] {
        var out = [String: Double]()
        if let geometry { out.merge(Self.geometryMetrics(geometry)) { $1 } }
        if let retrieval { out.merge(Self.retrievalMetrics(retrieval)) { $1 } }
        for (axis, result) in zeroShot {
            for (k, accuracy) in result.topK { out["zeroshot_\(axis)_top\(k)"] = accuracy }
        }
        for (axis, result) in linearProbe { out["probe_\(axis)_acc"] = result.accuracy }
        for arm in shift {
            let prefix = "shift_\(Self.deltaKey(arm.delta))/"
            for (key, value) in Self.geometryMetrics(arm.geometry) { out[prefix + key] = value }
            for (key, value) in Self.retrievalMetrics(arm.retrieval) { out[prefix + key] = value }
            for (axis, result) in arm.zeroShot {
                for (k, accuracy) in result.topK { out[prefix + "zeroshot_\(axis)_top\(k)"] = accuracy }
            }
        }
        return out
    }

    /// The same metrics under `prefix/` (e.g. `zeroshot/i2t_r1` and `finetuned/i2t_r1` for Table 5).
    public func metrics(prefix: String) -> [String: Double] {
        var out = [String: Double]()
        for (key, value) in metrics { out[prefix.isEmpty ? key : "\(prefix)/\(key)"] = value }
        return out
    }

    public static func geometryMetrics(_ g: GeometryMetrics) -> [String: Double] {
        var out: [String: Double] = [
            "alignment": g.alignment,
            "paired_angle_deg": g.pairedAngleDegrees,
            "centroid_gap": g.centroidGap,
            "separation": g.separation,
            "uniformity_image": g.uniformityImage,
            "uniformity_text": g.uniformityText,
            "separability": g.separability,
        ]
        for (level, value) in zip(GeometryMetrics.quantileLevels, g.pairedCosineQuantiles) {
            out[quantileKey(level)] = value
        }
        return out
    }

    public static func retrievalMetrics(_ r: RetrievalMetrics) -> [String: Double] {
        var out: [String: Double] = [
            "i2t_mean_rank": r.imageToTextMeanRank,
            "i2t_median_rank": r.imageToTextMedianRank,
            "t2i_mean_rank": r.textToImageMeanRank,
            "t2i_median_rank": r.textToImageMedianRank,
        ]
        for (k, value) in r.imageToTextRecall { out["i2t_r\(k)"] = value }
        for (k, value) in r.textToImageRecall { out["t2i_r\(k)"] = value }
        return out
    }

    /// `paired_cos_q005` for the 5% quantile: three digits of percent, so keys sort in order.
    public static func quantileKey(_ level: Double) -> String {
        String(format: "paired_cos_q%03d", Int((level * 100).rounded()))
    }

    /// Shortest round-trip form of δ (`0.5`, `1`, `0.125`), identical on every platform.
    public static func deltaKey(_ delta: Double) -> String {
        if delta == delta.rounded(), abs(delta) < 1e15 { return String(Int(delta)) }
        return "\(delta)"
    }
}
