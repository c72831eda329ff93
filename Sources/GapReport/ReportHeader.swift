import Foundation
import GapStore

/// Provenance of a report, all taken from the store: never the wall clock of the report run.
public struct ReportHeader: Sendable {
    public var experiment: String
    public var description: String
    /// End of the newest finished run.
    public var newestRunEnd: Date?
    /// Distinct code commits of the runs (`git_commit`, marked when the checkout was dirty).
    public var commits: [String]
    public var store: String
    public var reproduceCommands: [String]
    /// Sum of the recorded run durations.
    public var computeSeconds: Double
    public var statusCounts: [(status: String, count: Int)]
    public var baselineChosen: Bool

    public init(data: ExperimentData, options: ReportOptions) {
        let runs = data.allRuns
        experiment = data.experiment.name
        description = data.experiment.description
        newestRunEnd = runs.compactMap(\.record.endedAt).max()
        var commits = Set<String>()
        for run in runs {
            if let commit = run.environment["git_commit"] {
                commits.insert(run.environment["git_dirty"] == "true" ? "\(commit) (uncommitted changes)" : commit)
            } else if let version = run.record.codeVersion {
                commits.insert(version)
            }
        }
        self.commits = commits.sorted()
        store = options.storeDescription
        baselineChosen = options.baseline != nil
        computeSeconds = runs.compactMap(\.duration).reduce(0, +)
        statusCounts = RunStatus.allCases.compactMap { status in
            let count = runs.filter { $0.record.status == status }.count
            return count > 0 ? (status.rawValue, count) : nil
        }
        let definition = options.definitionFile ?? Self.definitionFile(from: runs, experiment: data.experiment.name)
        var run = "gaplab run \(Self.quote(definition))"
        for override in data.experiment.overrides { run += " " + Self.quote(override) }
        run += " --store \(Self.quote(options.storeDescription))"
        var report = "gaplab report \(Self.quote(data.experiment.name)) --store \(Self.quote(options.storeDescription)) --out \(Self.quote(options.outputDescription))"
        let formats = ReportFormat.allCases.filter(options.formats.contains)
        if formats.count < ReportFormat.allCases.count { report += " --format " + formats.map(\.rawValue).joined(separator: ",") }
        if let baseline = options.baseline { report += " --baseline \(Self.quote(baseline))" }
        for key in options.reductions.keys.sorted() {
            let rule: String
            switch options.reductions[key]! {
            case .final: rule = "final"
            case .best: rule = "best"
            case .atStep(let step): rule = String(step)
            }
            report += " --reduce \(Self.quote("\(key)=\(rule)"))"
        }
        reproduceCommands = [run, report]
    }

    public var newestRunEndText: String {
        guard let date = newestRunEnd else { return "no run has finished" }
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    public var computeText: String {
        let total = Int(computeSeconds.rounded())
        return String(format: "%dh %02dm %02ds", total / 3600, (total / 60) % 60, total % 60)
    }

    /// The experiment file named on the recorded `gaplab run` command line, made relative to `Experiments/`
    /// when it lives in one; `Experiments/<name>.json` when nothing was recorded.
    static func definitionFile(from runs: [ReportRun], experiment: String) -> String {
        let lines = Set(runs.compactMap { $0.environment["command_line"] }).sorted()
        for line in lines {
            let words = line.split(separator: " ").map(String.init)
            guard let index = words.firstIndex(of: "run"), index + 1 < words.count else { continue }
            let file = words[(index + 1)...].first { $0.hasSuffix(".json") } ?? words[index + 1]
            if let range = file.range(of: "Experiments/", options: .backwards) { return String(file[range.lowerBound...]) }
            return file
        }
        return "Experiments/\(experiment).json"
    }

    static func quote(_ word: String) -> String {
        let plain = word.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:,@+".contains($0) }
        return plain && !word.isEmpty ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
