import Foundation

/// The report's README.md.
enum ReportMarkdown {
    static func document(header: ReportHeader, tables: [ReportTable], figures: [String], pictureTable: String?,
                         data: ExperimentData) -> String {
        var text = "# Report: \(header.experiment)\n\n"
        if !header.description.isEmpty { text += header.description + "\n\n" }
        text += "- Newest run ended: \(header.newestRunEndText)\n"
        text += "- Runs: " + header.statusCounts.map { "\($0.count) \($0.status)" }.joined(separator: ", ") + "\n"
        text += "- Code: " + (header.commits.isEmpty ? "not recorded" : header.commits.map { "`\($0)`" }.joined(separator: ", ")) + "\n"
        text += "- Store: `\(header.store)`\n"
        text += "- Compute: \(header.computeText) (sum of run durations)\n"
        let baselineOrigin = header.baselineChosen ? "chosen with --baseline" : "first variant planned"
        text += "- Baseline: \(data.baseline?.variant ?? "–") (\(baselineOrigin))\n"
        if !data.axes.isEmpty { text += "- Swept parameters: " + data.axes.map { "`\($0.key)`" }.joined(separator: ", ") + "\n" }
        text += "\nReproduce:\n\n```sh\n" + header.reproduceCommands.joined(separator: "\n") + "\n```\n"

        text += "\n## Runs\n\n" + TableRendering.markdown(runsTable(data))
        for table in tables {
            text += "\n## \(table.title)\n\n" + TableRendering.markdown(table)
        }
        if !figures.isEmpty || pictureTable != nil {
            text += "\n## Figures\n\n" + figures.joined(separator: "\n")
            if let pictureTable {
                text += (figures.isEmpty ? "" : "\n") + "Embedding projections (PCA of test images and captions), one seed per arm:\n\n" + pictureTable
            }
        }
        return text
    }

    static func runsTable(_ data: ExperimentData) -> ReportTable {
        let rows = data.arms.flatMap { arm in
            arm.runs.map { run -> [TableCell] in
                [.text(arm.variant), .text(String(run.record.seed)), .text(run.record.status.rawValue),
                 .number(run.duration, digits: 0), .text(String(run.record.runID.prefix(12)))]
            }
        }
        return ReportTable(id: "runs", title: "Runs", header: ["variant", "seed", "status", "seconds", "run"], rows: rows, notes: [])
    }
}
