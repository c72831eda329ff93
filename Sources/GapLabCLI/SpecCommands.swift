import ArgumentParser
import Foundation
import GapSpec
import GapStore
import GapStorePostgres

/// Prints configuration problems the way both commands report them, and fails the command.
func reportAndFail(_ error: Error) throws -> Never {
    var lines: [String] = []
    switch error {
    case let issues as ConfigIssues:
        lines = issues.issues.map(\.description)
        lines.append("\(issues.issues.count) issue\(issues.issues.count == 1 ? "" : "s") found")
    case let syntax as JSONSyntaxError:
        lines = [syntax.description]
    default:
        throw error
    }
    FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    throw ExitCode.failure
}

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check an experiment file (or a run configuration) and every run it expands to.",
        discussion: """
            Reports JSON syntax errors with line and column, unknown keys with a suggestion, wrong types and \
            out-of-range values with their JSON path, and impossible combinations, all at once. \
            Prints "ok: N runs" and exits 0 when the file is valid; exits 1 otherwise.
            """)

    @Argument(help: "Experiment file (Experiments/*.json) or run configuration file to check.")
    var file: String

    @Argument(help: "Overrides applied on top of the file: key=value sets a value, key=v1,v2 sweeps it (e.g. train.lr=0.0005 model.sharing.depth=0,2).")
    var overrides: [String] = []

    func run() throws {
        let plan: ExperimentPlan
        do {
            plan = try ExperimentPlanner.plan(file: file, overrides: overrides)
        } catch {
            try reportAndFail(error)
        }
        print("ok: \(plan.runs.count) run\(plan.runs.count == 1 ? "" : "s")")
        for warning in plan.warnings { print("note: \(warning)") }
    }
}

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "List the runs an experiment file expands to, with their identity and status in the store.",
        discussion: """
            Each run is shown with its short name (the variant and the swept values that differ from the \
            baseline), its seed, the first 12 hex digits of its run id and config hash, and its status in the \
            store ("new" when the store has no such run). csv and json give the full hashes.
            """)

    /// The store's status of each run id, from the `--store` path (nil: the default location): nil for runs the
    /// store does not have, and for every run when there is no store yet (they show as "new").
    static func storeStatus(storePath: String?) throws -> (String) -> String? {
        guard StoreOpener.exists(store: storePath) else { return { _ in nil } }
        let storage = try StoreOpener.open(store: storePath, create: false)
        return { id in (try? storage.run(id: id))??.status.rawValue }
    }

    @Argument(help: "Experiment file (Experiments/*.json) or run configuration file to expand.")
    var file: String

    @Argument(help: "Overrides applied on top of the file: key=value sets a value, key=v1,v2 sweeps it.")
    var overrides: [String] = []

    @Option(help: "Output format (csv and json give full run ids and config hashes; json adds each run's configuration).")
    var format: ListingFormat = .table

    @Option(help: "Store (SQLite path or postgresql:// URL) to read run status from (default: $GAPLAB_STORE or .gaplab/gaplab.sqlite).")
    var store: String?

    func run() throws {
        let plan: ExperimentPlan
        do {
            plan = try ExperimentPlanner.plan(file: file, overrides: overrides)
        } catch {
            try reportAndFail(error)
        }
        let status: (String) -> String?
        do {
            status = try Self.storeStatus(storePath: store)
        } catch {
            FileHandle.standardError.write(Data("warning: cannot read run status from the store: \(error)\n".utf8))
            status = { _ in "unknown" }
        }
        print(PlanListing.render(plan, format: format, status: status), terminator: "")
        if format == .csv {
            for warning in plan.warnings { FileHandle.standardError.write(Data("note: \(warning)\n".utf8)) }
        }
    }
}
