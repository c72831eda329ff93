import ArgumentParser
import Foundation
import GapStore
import GapStorePostgres

/// `gaplab store ...`: operations on whole stores.
struct StoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store", abstract: "Operations on whole stores: copy experiments and runs between them.",
        subcommands: [StoreCopyCommand.self])
}

struct StoreCopyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy", abstract: "Copy experiments, runs, params, metrics and artifacts from one store to another.",
        discussion: """
            Runs are matched by run ID, so copying again duplicates nothing. A run the destination lacks is copied with
            its params, metrics, attempts, environment and artifact files (each file's SHA-256 checked after copying).
            A destination run that has not completed is replaced by the source's completed run; a run completed in
            the destination keeps the destination's data and is reported; a run running in either store is left alone.
            Experiments the destination lacks are created; one it has keeps its own description and definition.
            Examples:
              gaplab store copy .gaplab/gaplab.sqlite postgresql://lab@db.example.org/sweeps --dst-artifacts /shared/gaplab
              gaplab store copy postgresql://lab@db.example.org/sweeps laptop.sqlite --experiment sharing
            """)

    @Argument(help: "Source store: an SQLite file path or postgresql://USER@HOST:PORT/DB; it must exist.")
    var source: String

    @Argument(help: "Destination store: an SQLite file path or postgresql://USER@HOST:PORT/DB; created when missing.")
    var destination: String

    @Option(help: "Copy only this experiment's runs (default: every experiment).")
    var experiment: String?

    @Option(name: .customLong("src-artifacts"), help: ArgumentHelp(
        "The source's artifacts folder.", discussion: "Default: beside an SQLite file, or the folder a PostgreSQL store records."))
    var sourceArtifacts: String?

    @Option(name: .customLong("dst-artifacts"), help: ArgumentHelp(
        "The destination's artifacts folder.",
        discussion: "Default: beside an SQLite file, or the folder a PostgreSQL store records; a new PostgreSQL store needs it "
            + "(and records it). When both stores use one folder, no file is copied."))
    var destinationArtifacts: String?

    func run() throws {
        // Each store's folder comes from its own option or the store, never from $GAPLAB_ARTIFACTS_ROOT, which could
        // only name one of them.
        var environment = ProcessInfo.processInfo.environment
        environment[StoreOpener.artifactsVariable] = nil
        let from = try Self.open(source, artifacts: sourceArtifacts, create: false, role: "source", option: "--src-artifacts",
                                 environment: environment)
        let to = try Self.open(destination, artifacts: destinationArtifacts, create: true, role: "destination",
                               option: "--dst-artifacts", environment: environment)
        let report = try StoreCopy.copy(from: from, to: to, experiment: experiment)
        output(Self.describe(report, from: StoreLocation.redactingPasswords(source),
                             to: StoreLocation.redactingPasswords(destination)))
    }

    /// Opens one side, its errors naming that side and this command's options.
    private static func open(_ locator: String, artifacts: String?, create: Bool, role: String, option: String,
                             environment: [String: String]) throws -> any Storage {
        do {
            return try StoreOpener.open(store: locator, artifacts: artifacts, create: create, environment: environment)
        } catch StoreError.storeNotFound {
            throw StoreError.invalid("no \(role) store at \(StoreLocation.redactingPasswords(locator))")
        } catch let error as StoreError {
            throw StoreError.invalid("\(role) store: " + "\(error)".replacingOccurrences(of: "pass --artifacts DIR", with: "pass \(option) DIR"))
        }
    }

    static func describe(_ report: StoreCopy.Report, from source: String, to destination: String) -> String {
        func plural(_ count: Int, _ word: String) -> String { "\(count) \(word)\(count == 1 ? "" : "s")" }
        var lines = ["copied \(source) -> \(destination)"]
        lines.append("experiments: \(report.experimentsCreated.count) created, \(report.experimentsExisting.count) already there")
        lines.append("runs: \(report.inserted.count) inserted, \(report.replaced.count) replaced, \(report.alreadyThere.count) already there, "
                     + "\(report.keptCompleted.count) kept (completed in the destination)")
        lines.append("metric rows: \(report.metricRows)")
        lines.append(report.sharedArtifactsFolder
                     ? "artifacts: both stores use one folder, nothing to copy"
                     : "artifacts: \(plural(report.artifactFiles, "file")), \(report.artifactBytes) bytes")
        if !report.replaced.isEmpty {
            lines.append("replaced (had not completed in the destination): " + report.replaced.joined(separator: ", "))
        }
        if !report.keptCompleted.isEmpty {
            lines.append("kept the destination's (completed there, differs from the source): " + report.keptCompleted.joined(separator: ", "))
        }
        if !report.runningInDestination.isEmpty {
            lines.append("skipped, running in the destination: " + report.runningInDestination.joined(separator: ", "))
        }
        if !report.runningInSource.isEmpty {
            lines.append("skipped, running in the source: " + report.runningInSource.joined(separator: ", "))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

private func output(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}
