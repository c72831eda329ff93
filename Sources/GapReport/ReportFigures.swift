import Foundation
import GapPlot
import GapSpec
import GapStore

/// A figure of the report: its file stem under `figures/` and the plot to draw.
public struct ReportFigure {
    public var name: String
    public var caption: String
    public var plot: LinePlot
}

/// Builds the report's plots from the loaded experiment and the metric histories in the store.
public struct FigureBuilder {
    public var tables: TableBuilder
    public var storage: Storage

    public init(tables: TableBuilder, storage: Storage) {
        self.tables = tables
        self.storage = storage
    }

    var data: ExperimentData { tables.data }

    /// Histories drawn as learning curves, when logged: the loss and temperature during training and the
    /// per-epoch validation geometry and retrieval.
    public static let curveKeys = ["train/loss", "train/logit_scale", "val/alignment", "val/centroid_gap", "val/i2t_r1"]

    public func figures() throws -> [ReportFigure] {
        var figures = axisFigures()
        for key in Self.curveKeys {
            if let figure = try learningCurve(key) { figures.append(figure) }
        }
        if let cdf = cosineCDF() { figures.append(cdf) }
        return figures
    }

    /// Alignment and centroid gap against each numeric swept axis, one curve per setting of the other axes,
    /// error bars ± one sample std over seeds.
    func axisFigures() -> [ReportFigure] {
        var figures = [ReportFigure]()
        let present = tables.presentKeys
        for axis in data.axes where axis.isNumeric {
            let others = data.axes.filter { $0.key != axis.key }
            for key in ["test/alignment", "test/centroid_gap"] where present.contains(key) {
                var groups = [(setting: [String], arms: [Arm])]()
                for arm in data.arms where (arm.axisValues[axis.key] ?? nil)?.numericValue != nil {
                    let setting = others.map { TableBuilder.describe(arm.axisValues[$0.key] ?? nil) }
                    if let index = groups.firstIndex(where: { $0.setting == setting }) { groups[index].arms.append(arm) } else { groups.append((setting, [arm])) }
                }
                // Legends stay short: a lone arm is named by its variant, a curve by the other axes that tell curves apart.
                let distinguishing = others.indices.filter { i in Set(groups.map { $0.setting[i] }).count > 1 }
                let names = groups.map { group -> String in
                    if groups.allSatisfy({ $0.arms.count == 1 }) { return group.arms[0].variant }
                    if distinguishing.isEmpty { return "all arms" }
                    return distinguishing.map { "\(others[$0].key.split(separator: ".").last!)=\(group.setting[$0])" }.joined(separator: ", ")
                }
                var series = [PlotSeries]()
                for (group, name) in zip(groups, names) {
                    let points = group.arms.compactMap { arm -> (Double, SampleSummary)? in
                        guard let x = (arm.axisValues[axis.key] ?? nil)?.numericValue, let s = tables.summary(arm, key) else { return nil }
                        return (x, s)
                    }.sorted { $0.0 < $1.0 }
                    guard !points.isEmpty else { continue }
                    series.append(PlotSeries(name: name, x: points.map(\.0), y: points.map(\.1.mean),
                                             yError: points.map { $0.1.n >= 2 ? $0.1.std : .nan }))
                }
                guard !series.isEmpty else { continue }
                let label = MetricCatalog.label(key)
                figures.append(ReportFigure(
                    name: "\(TableBuilder.slug(key.replacingOccurrences(of: "test/", with: "")))_vs_\(TableBuilder.slug(axis.key))",
                    caption: "\(label) against `\(axis.key)` (mean ± sample std over seeds).",
                    plot: LinePlot(title: "\(label) vs \(axis.key)", xLabel: axis.key, yLabel: label, series: series)))
            }
        }
        return figures
    }

    /// `key` against the global step per arm: mean over the completed seeds with a ± one std band.
    func learningCurve(_ key: String) throws -> ReportFigure? {
        var series = [PlotSeries]()
        for arm in data.arms {
            var byStep = [Int: [Double]]()
            for run in arm.runs where run.isCompleted {
                for point in try storage.metrics(runID: run.record.runID, key: key) where point.value.isFinite {
                    byStep[point.step, default: []].append(point.value)
                }
            }
            guard !byStep.isEmpty else { continue }
            let steps = byStep.keys.sorted()
            let summaries = steps.map { SampleSummary(byStep[$0]!) }
            let hasBand = summaries.contains { $0.n >= 2 }
            series.append(PlotSeries(
                name: arm.variant, x: steps.map(Double.init), y: summaries.map(\.mean),
                bandLower: hasBand ? summaries.map { $0.n >= 2 ? $0.mean - $0.std : .nan } : nil,
                bandUpper: hasBand ? summaries.map { $0.n >= 2 ? $0.mean + $0.std : .nan } : nil,
                showPoints: steps.count <= 12))
        }
        guard !series.isEmpty else { return nil }
        let label = key.hasPrefix("val/") ? "validation " + MetricCatalog.label(String(key.dropFirst(4))) : key
        return ReportFigure(name: "curve_" + TableBuilder.slug(key), caption: "\(label) against training step per arm (mean over completed seeds, band ± one std).",
                            plot: LinePlot(title: label, xLabel: "step", yLabel: key, series: series))
    }

    /// Paired-cosine CDFs per arm from the logged quantiles `test/paired_cos_qNNN`, averaged over seeds.
    func cosineCDF() -> ReportFigure? {
        let quantileKeys = tables.presentKeys.filter { key in
            key.hasPrefix("test/paired_cos_q") && Int(key.dropFirst("test/paired_cos_q".count)) != nil
        }.sorted()
        guard quantileKeys.count >= 2 else { return nil }
        var series = [PlotSeries]()
        for arm in data.arms {
            var x = [Double](), y = [Double]()
            for key in quantileKeys {
                guard let s = tables.summary(arm, key) else { continue }
                x.append(s.mean)
                y.append(Double(Int(key.dropFirst("test/paired_cos_q".count))!) / 100)
            }
            guard x.count >= 2 else { continue }
            series.append(PlotSeries(name: arm.variant, x: x, y: y, showPoints: false))
        }
        guard !series.isEmpty else { return nil }
        return ReportFigure(name: "paired_cosine_cdf", caption: "Paired-cosine CDF per arm on the test split (logged quantiles, mean over seeds).",
                            plot: LinePlot(title: "paired cosine CDF (test)", xLabel: "paired cosine similarity",
                                           yLabel: "fraction of pairs <= x", series: series, yRange: 0...1))
    }

    /// For each arm, the embedding PCA picture of its first completed seed that has one.
    public func embeddingPictures() throws -> [(arm: Arm, seed: Int, source: URL)] {
        var found = [(arm: Arm, seed: Int, source: URL)]()
        for arm in data.arms {
            for run in arm.runs where run.isCompleted {
                guard let record = try storage.artifacts(runID: run.record.runID).first(where: { $0.name == "embeddings_pca.png" }) else { continue }
                let source = storage.artifactDirectory(runID: run.record.runID).appendingPathComponent(record.path)
                guard FileManager.default.fileExists(atPath: source.path) else { continue }
                found.append((arm, run.record.seed, source))
                break
            }
        }
        return found
    }
}
