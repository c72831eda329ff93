import ArgumentParser
import Foundation
import GapReport
import GapStore

/// `gaplab report EXPERIMENT`: tables and figures over the seeds of an experiment, from the store.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write an experiment's report: tables over seeds with statistics, figures, CSV, LaTeX and JSON.",
        discussion: """
            Reads the experiment's runs from the store and writes DIR/README.md with a provenance header (the newest \
            run's end, code commits, store, the commands that reproduce it, total compute time), the main comparison \
            (mean ± std [95% t-interval] (n/planned) per variant; the baseline is the first variant planned), Δ vs \
            baseline with the paired t-test (same seeds) or Welch's test and Holm's correction, the Table-5 layout when \
            runs were fine-tuned, one ablation table per swept parameter, and figures (SVG with a PNG beside each). \
            Runs that are pending, failed or missing are counted as such (n=2/3 with a footnote), never averaged away. \
            Each metric is the run's final value unless --reduce says otherwise. The same store gives byte-identical files.

            Files: README.md and figures/ (md); runs_long.csv, one row per run × metric, and table_*.csv in the \
            paper layout (csv); table_*.tex, one tabular per table (tex); summary.json (json). Files that an earlier \
            report wrote into DIR and this one does not are removed (DIR/.report-files lists them); other files are kept.

            Examples:
              gaplab report quickstart
              gaplab report table5 --store runs/gaplab.sqlite --out Reports/table5 --format md,csv
            """)

    @Argument(help: "Name of the experiment in the store.")
    var experiment: String

    @Option(name: .long, help: "Output folder (default: Reports/<experiment>).")
    var out: String?

    @Option(name: .long, help: "Comma-separated output formats among md, csv, tex, json.")
    var format: String = "md,csv,tex,json"

    @Option(name: .long, help: ArgumentHelp("How one metric's history becomes one number per run: KEY=final (the default), KEY=best (best over all steps, by the metric's direction) or KEY=STEP (last logged value at or before that step); the key is added to the main table; repeatable.",
                                           valueName: "KEY=RULE"))
    var reduce: [String] = []

    @Option(name: .long, help: ArgumentHelp("Variant the others are compared with (default: the first variant planned).", valueName: "VARIANT"))
    var baseline: String?

    @Option(name: .long, help: "Experiment file shown in the reproduce command (default: the one on the runs' recorded command line).")
    var definition: String?

    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        var reductions = [String: Reduction]()
        for text in reduce {
            do {
                let rule = try Reduction.parseRule(text)
                reductions[rule.key] = rule.reduction
            } catch { throw ValidationError("--reduce: \(error)") }
        }
        let formats: Set<ReportFormat>
        do { formats = try ReportFormat.parseList(format) } catch { throw ValidationError("--format: \(error)") }
        let outText = out ?? "Reports/\(experiment)"
        let outURL = outText.hasPrefix("/") ? URL(fileURLWithPath: outText)
            : URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(outText)
        let storage = try storeOptions.open(create: false)
        let options = ReportOptions(outputDirectory: outURL.standardizedFileURL, formats: formats,
                                    storeDescription: storeOptions.displayName,
                                    outputDescription: outText, reductions: reductions, definitionFile: definition,
                                    baseline: baseline)
        do {
            let files = try ReportWriter(storage: storage, options: options).write(experiment: experiment)
            print("Wrote \(files.count) files to \(outText)")
        } catch let error as ReportError {
            throw ValidationError(error.description)
        }
    }
}
