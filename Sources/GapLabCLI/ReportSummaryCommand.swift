import ArgumentParser
import Foundation
import GapReport

struct ReportSummaryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report-summary",
        abstract: "Write Reports/README.md: what the generated reports say about the paper's three questions.",
        discussion: """
        Reads the summary.json of every report folder under --reports (written by `gaplab report`) and writes, \
        for each question (does sharing reduce the gap, does IMSep, what happens downstream), one line per pair \
        of arms that answers it: the two means, their difference and the Holm-adjusted test of the report when \
        the reference arm is the report's baseline. Every number comes from the reports.
        """)

    @Option(help: "Folder holding one report folder per experiment.")
    var reports: String = "Reports"
    @Option(help: "Output file (default: README.md in --reports).")
    var out: String?

    func run() throws {
        let directory = URL(fileURLWithPath: reports)
        let summary = try ReportsSummary(directory: directory)
        let path = out ?? directory.appendingPathComponent("README.md").path
        try summary.markdown().write(toFile: path, atomically: true, encoding: .utf8)
        print("wrote \(path)")
    }
}
