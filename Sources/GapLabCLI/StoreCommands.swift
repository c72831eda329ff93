import ArgumentParser
import Foundation
import GapRunner
import GapSpec
import GapStore
import GapStorePostgres
#if canImport(Glibc)
import Glibc
#endif

/// `--store`, honoured by every command that touches the store: a path to an SQLite file or a `postgresql://` URL;
/// else `$GAPLAB_STORE`, else `.gaplab/gaplab.sqlite` under the current directory.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Store: an SQLite file path or postgresql://USER@HOST:PORT/DB (default: $GAPLAB_STORE, else .gaplab/gaplab.sqlite).",
        discussion: "A PostgreSQL password comes from the URL, PGPASSWORD or ~/.pgpass and is never printed or recorded; "
            + "?sslmode=require (or verify-full) asks for TLS."))
    var store: String?

    @Option(name: .long, help: ArgumentHelp(
        "Folder for run artifacts (checkpoints, logs); on a cluster, a shared filesystem every host reads.",
        discussion: "Default: $GAPLAB_ARTIFACTS_ROOT, else the store's own: beside an SQLite file, or the folder recorded in a "
            + "PostgreSQL store (the first --artifacts given to it)."))
    var artifacts: String?

    /// Opens the store; reading commands pass `create: false` so a mistyped path is an error, not a new store.
    func open(create: Bool = false) throws -> any Storage {
        try StoreOpener.open(store: store, artifacts: artifacts, create: create)
    }

    /// The store as shown to people: its locator without any password.
    var displayName: String { StoreLocation.redactingPasswords(StoreOpener.locator(explicit: store)) }
}

extension ListingFormat: ExpressibleByArgument {}
extension RunStatus: ExpressibleByArgument {}

private func output(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}

private func cell(_ value: ParamValue?) -> Listing.Cell {
    switch value {
    case .int(let v)?: return .integer(v)
    case .double(let v)?: return .number(v)
    case .string(let v)?: return .text(v)
    case .bool(let v)?: return .text(v ? "true" : "false")
    case nil: return .missing
    }
}

private func cell(_ date: Date?) -> Listing.Cell {
    guard let date else { return .missing }
    return .text(ISO8601DateFormatter().string(from: date))
}

private func ageText(_ date: Date?) -> String {
    guard let date else { return "-" }
    return String(format: "%.0fs ago", max(0, Date().timeIntervalSince(date)))
}

// MARK: JSON output

/// `gaplab show --format json`: every key is written, absent values as null.
struct RunDetails: Encodable {
    struct Metric: Encodable {
        var final: Double
        var final_step: Int
        var best: Double
        var best_step: Int
        var direction: String
        var count: Int
    }
    struct Artifact: Encodable {
        var name: String
        var path: String
        var size: Int64
        var sha256: String
    }
    struct Attempt: Encodable {
        var attempt: Int
        var worker: String
        var status: String
        @NullWhenAbsent var exit_status: Int?
        @NullWhenAbsent var error_tail: String?
    }
    var run_id: String
    var experiment: String
    var variant: String
    var short_name: String
    var seed: Int
    var config_hash: String
    var status: String
    var attempts: Int
    @NullWhenAbsent var worker: String?
    @NullWhenAbsent var started_at: String?
    @NullWhenAbsent var ended_at: String?
    @NullWhenAbsent var exit_status: Int?
    @NullWhenAbsent var error_tail: String?
    @NullWhenAbsent var code_version: String?
    var config: JSONValue
    var params: [String: ParamValue]
    var metrics: [String: Metric]
    var artifacts: [Artifact]
    var attempt_history: [Attempt]
    /// Environment entries by attempt number.
    var environment: [String: [String: String]]
}

/// `gaplab compare --format json`.
struct RunComparison: Encodable {
    var run_a: String
    var run_b: String
    var params: [[String: Listing.Cell]]
    var metrics: [[String: Listing.Cell]]
}

/// `gaplab status --format json`.
struct StoreStatus: Encodable {
    var counts: [[String: Listing.Cell]]
    var running: [[String: Listing.Cell]]
}

// MARK: ls

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List experiments or runs, filtered by status and by an expression over params and metrics.",
        discussion: """
            Examples:
              gaplab ls --experiment sharing --status completed
              gaplab ls --where "params.loss.imsep_weight >= 0.5 and metrics.alignment > 0.5"
              gaplab ls --where "variant in ('clip', 'shared') or not (seed = 0)" --columns metrics.val.loss.best
            In expressions, metrics.KEY is the final value (KEY.best, KEY.best_step also work); a comparison with a
            missing param or metric is never true.
            """)

    @OptionGroup var storeOptions: StoreOptions

    @Flag(help: "List experiments instead of runs.")
    var experiments = false

    @Option(help: "Only runs of this experiment.")
    var experiment: String?

    @Option(help: "Only runs with this status (pending, running, completed, failed, killed, stale).")
    var status: RunStatus?

    @Option(name: .customLong("where"), help: "Filter expression over params.*, metrics.* and run fields.")
    var filter: String?

    @Option(help: "Extra columns, comma-separated: params.KEY, metrics.KEY[.best|.best_step].")
    var columns: String?

    @Option(help: "Output format: table, csv or json.")
    var format: ListingFormat = .table

    func run() throws {
        let storage = try storeOptions.open()
        if experiments {
            try listExperiments(storage)
            return
        }
        let parsedFilter = try filter.map(RunFilter.init)
        let extraColumns = (columns ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for column in extraColumns where !column.hasPrefix("params.") && !column.hasPrefix("metrics.") {
            throw ValidationError("column '\(column)' must start with params. or metrics.")
        }
        let runs = try storage.runs(experiment: experiment, status: status)
        let needsDetails = parsedFilter != nil || !extraColumns.isEmpty
        let summaries = needsDetails ? try storage.summaries(runIDs: runs.map(\.runID)) : [:]
        var listing = Listing(columns: ["run_id", "experiment", "name", "seed", "status", "attempts", "ended"] + extraColumns)
        for run in runs {
            let params = needsDetails ? try storage.params(runID: run.runID) : [:]
            let subject = RunFilter.Subject(run: run, params: params, summaries: summaries[run.runID] ?? [])
            if let parsedFilter, !parsedFilter.matches(subject) { continue }
            var row: [Listing.Cell] = [.text(format == .table ? String(run.runID.prefix(12)) : run.runID),
                                       .text(run.experiment), .text(run.shortName), .integer(run.seed),
                                       .text(run.status.rawValue), .integer(run.attempts), cell(run.endedAt)]
            for column in extraColumns {
                row.append(columnValue(column, params: params, summaries: subject.summaries))
            }
            listing.rows.append(row)
        }
        output(listing.render(format))
    }

    private func columnValue(_ column: String, params: [String: ParamValue], summaries: [MetricSummary]) -> Listing.Cell {
        if column.hasPrefix("params.") { return cell(params[String(column.dropFirst(7))]) }
        let path = String(column.dropFirst(8))
        if let summary = summaries.first(where: { $0.key == path }) { return .number(summary.finalValue) }
        for suffix in [".final", ".best", ".best_step"] where path.hasSuffix(suffix) {
            if let summary = summaries.first(where: { $0.key == String(path.dropLast(suffix.count)) }) {
                switch suffix {
                case ".final": return .number(summary.finalValue)
                case ".best": return .number(summary.bestValue)
                default: return .integer(summary.bestStep)
                }
            }
        }
        return .missing
    }

    private func listExperiments(_ storage: Storage) throws {
        var listing = Listing(columns: ["experiment", "description", "runs", "completed", "running", "failed", "pending", "created"])
        for experiment in try storage.experiments() {
            let counts = try storage.statusCounts(experiment: experiment.name)
            listing.rows.append([.text(experiment.name), .text(experiment.description), .integer(counts.values.reduce(0, +)),
                                 .integer(counts[.completed, default: 0]), .integer(counts[.running, default: 0]),
                                 .integer(counts[.failed, default: 0] + counts[.killed, default: 0]),
                                 .integer(counts[.pending, default: 0] + counts[.stale, default: 0]),
                                 cell(experiment.createdAt)])
        }
        output(listing.render(format))
    }
}

// MARK: show

struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show one run: state, attempts, parameters, metric summaries, artifacts, environment.")

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "Run ID or a unique prefix of it.")
    var runPrefix: String

    @Option(help: "Output format: table or json.")
    var format: ListingFormat = .table

    func run() throws {
        let storage = try storeOptions.open()
        let runID = try storage.resolveRunID(prefix: runPrefix)
        guard let record = try storage.run(id: runID) else { throw StoreError.runNotFound(runID) }
        let params = try storage.params(runID: runID)
        let summaries = try storage.summaries(runIDs: [runID])[runID] ?? []
        let artifacts = try storage.artifacts(runID: runID)
        let environment = try storage.environment(runID: runID)
        let attempts = try storage.attempts(runID: runID)

        if format == .json {
            let iso = ISO8601DateFormatter()
            output(JSONOutput.text(RunDetails(
                run_id: record.runID, experiment: record.experiment, variant: record.variant, short_name: record.shortName,
                seed: record.seed, config_hash: record.configHash, status: record.status.rawValue, attempts: record.attempts,
                worker: record.worker, started_at: record.startedAt.map(iso.string), ended_at: record.endedAt.map(iso.string),
                exit_status: record.exitStatus, error_tail: record.errorTail, code_version: record.codeVersion,
                config: (try? JSONParser.parse(record.configJSON).value) ?? .string(record.configJSON),
                params: params,
                metrics: Dictionary(uniqueKeysWithValues: summaries.map { summary in
                    (summary.key, RunDetails.Metric(final: summary.finalValue, final_step: summary.finalStep, best: summary.bestValue,
                                                    best_step: summary.bestStep, direction: summary.direction.rawValue,
                                                    count: summary.count))
                }),
                artifacts: artifacts.map { RunDetails.Artifact(name: $0.name, path: $0.path, size: $0.size, sha256: $0.sha256) },
                attempt_history: attempts.map {
                    RunDetails.Attempt(attempt: $0.attempt, worker: $0.worker, status: $0.status.rawValue,
                                       exit_status: $0.exitStatus, error_tail: $0.errorTail)
                },
                environment: Dictionary(grouping: environment, by: \.attempt).reduce(into: [String: [String: String]]()) {
                    $0[String($1.key)] = Dictionary(uniqueKeysWithValues: $1.value.map { ($0.key, $0.value) })
                })))
            return
        }

        var text = """
            run         \(record.runID)
            experiment  \(record.experiment)
            name        \(record.shortName) (variant \(record.variant)), seed \(record.seed)
            config      \(record.configHash)
            status      \(record.status.rawValue), attempt \(record.attempts)\(record.worker.map { " on \($0)" } ?? "")
            started     \(record.startedAt.map { ISO8601DateFormatter().string(from: $0) } ?? "-")
            ended       \(record.endedAt.map { ISO8601DateFormatter().string(from: $0) } ?? "-")
            code        \(record.codeVersion ?? "-")
            artifacts   \(storage.artifactDirectory(runID: runID).path)

            """
        if let exit = record.exitStatus { text += "exit status \(exit)\n" }
        if let tail = record.errorTail, !tail.isEmpty {
            text += "error:\n" + tail.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n") + "\n"
        }
        if attempts.count > 1 {
            text += "\nattempts\n" + Listing(columns: ["attempt", "worker", "status", "exit", "started"], rows: attempts.map {
                [.integer($0.attempt), .text($0.worker), .text($0.status.rawValue),
                 $0.exitStatus.map(Listing.Cell.integer) ?? .missing, cell($0.startedAt)]
            }).render(.table)
        }
        text += "\nparameters\n" + Listing(columns: ["key", "value", "type"], rows: params.keys.sorted().map {
            [.text($0), cell(params[$0]), .text(params[$0]!.typeName)]
        }).render(.table)
        text += "\nmetrics\n" + Listing(columns: ["key", "final", "step", "best", "best_step", "direction", "points"],
                                        rows: summaries.map {
            [.text($0.key), .number($0.finalValue), .integer($0.finalStep), .number($0.bestValue), .integer($0.bestStep),
             .text($0.direction.rawValue), .integer($0.count)]
        }).render(.table)
        if !artifacts.isEmpty {
            text += "\nartifacts\n" + Listing(columns: ["name", "size", "sha256"], rows: artifacts.map {
                [.text($0.name), .integer(Int($0.size)), .text(String($0.sha256.prefix(16)))]
            }).render(.table)
        }
        let latest = environment.filter { $0.attempt == record.attempts }
        if !latest.isEmpty {
            text += "\nenvironment (attempt \(record.attempts))\n" + Listing(columns: ["key", "value"], rows: latest.map {
                [.text($0.key), .text($0.value)]
            }).render(.table)
        }
        output(text)
    }
}

// MARK: compare

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare", abstract: "Compare two runs: parameters that differ and their metric summaries.")

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "First run (ID or unique prefix).")
    var first: String

    @Argument(help: "Second run (ID or unique prefix).")
    var second: String

    @Flag(help: "List equal parameters too.")
    var all = false

    @Option(help: "Output format: table, csv or json.")
    var format: ListingFormat = .table

    func run() throws {
        let storage = try storeOptions.open()
        let a = try storage.resolveRunID(prefix: first)
        let b = try storage.resolveRunID(prefix: second)
        let paramsA = try storage.params(runID: a)
        let paramsB = try storage.params(runID: b)
        var paramRows: [[Listing.Cell]] = []
        for key in Set(paramsA.keys).union(paramsB.keys).sorted() where all || paramsA[key] != paramsB[key] {
            paramRows.append([.text(key), cell(paramsA[key]), cell(paramsB[key])])
        }
        let summaries = try storage.summaries(runIDs: [a, b])
        let byKeyA = Dictionary(uniqueKeysWithValues: (summaries[a] ?? []).map { ($0.key, $0) })
        let byKeyB = Dictionary(uniqueKeysWithValues: (summaries[b] ?? []).map { ($0.key, $0) })
        var metricRows: [[Listing.Cell]] = []
        for key in Set(byKeyA.keys).union(byKeyB.keys).sorted() {
            let sa = byKeyA[key], sb = byKeyB[key]
            let delta: Listing.Cell = (sa != nil && sb != nil) ? .number(sb!.finalValue - sa!.finalValue) : .missing
            metricRows.append([.text(key), sa.map { .number($0.finalValue) } ?? .missing, sb.map { .number($0.finalValue) } ?? .missing,
                               delta, sa.map { .number($0.bestValue) } ?? .missing, sb.map { .number($0.bestValue) } ?? .missing])
        }
        let params = Listing(columns: ["param", String(a.prefix(12)), String(b.prefix(12))], rows: paramRows)
        let metrics = Listing(columns: ["metric", "final_a", "final_b", "delta", "best_a", "best_b"], rows: metricRows)
        switch format {
        case .table:
            output("parameters (\(all ? "all" : "differing"))\n" + params.render(.table) + "\nmetrics\n" + metrics.render(.table))
        case .csv:
            output(params.render(.csv) + "\n" + metrics.render(.csv))
        case .json:
            output(JSONOutput.text(RunComparison(run_a: a, run_b: b, params: params.objects, metrics: metrics.objects)))
        }
    }
}

// MARK: metrics

struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "metrics", abstract: "Print the logged metric points of a run.")

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "Run ID or a unique prefix of it.")
    var runPrefix: String

    @Option(help: "Only this metric key.")
    var key: String?

    @Option(help: "Output format: csv, json or table.")
    var format: ListingFormat = .csv

    func run() throws {
        let storage = try storeOptions.open()
        let runID = try storage.resolveRunID(prefix: runPrefix)
        let points = try storage.metrics(runID: runID, key: key)
        let listing = Listing(columns: ["key", "step", "epoch", "value", "wall_time"], rows: points.map {
            [.text($0.key), .integer($0.step), $0.epoch.map(Listing.Cell.number) ?? .missing, .number($0.value),
             .number($0.wallTime.timeIntervalSince1970)]
        })
        output(listing.render(format))
    }
}

// MARK: status

/// The Slurm job and array task (`JOBID_TASK`) of the run's current attempt, "-" when it is not under Slurm.
private func slurmJob(_ storage: any Storage, _ run: RunRecord) throws -> String {
    var values: [String: String] = [:]
    for entry in try storage.environment(runID: run.runID) where entry.attempt == run.attempts { values[entry.key] = entry.value }
    return RunEnvironment.slurmJobLabel(values) ?? "-"
}

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Counts per status and the runs in progress with their worker, Slurm job and heartbeat age.")

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "Experiment (default: all).")
    var experiment: String?

    @Option(help: "Refresh every SECONDS until interrupted.")
    var watch: Double?

    @Option(help: "Output format: table, csv or json.")
    var format: ListingFormat = .table

    func run() throws {
        let storage = try storeOptions.open()
        repeat {
            let counts = try storage.statusCounts(experiment: experiment)
            let countsListing = Listing(columns: ["status", "runs"], rows: RunStatus.allCases.map {
                [.text($0.rawValue), .integer(counts[$0, default: 0])]
            })
            let now = Date()
            let running = Listing(columns: ["run_id", "experiment", "name", "attempt", "worker", "slurm", "heartbeat", "lease"],
                                  rows: try storage.runs(experiment: experiment, status: .running).map { run in
                let leaseText = run.leaseExpiresAt.map { $0 < now ? "expired" : String(format: "%.0fs left", $0.timeIntervalSince(now)) } ?? "-"
                return [.text(format == .table ? String(run.runID.prefix(12)) : run.runID), .text(run.experiment),
                        .text(run.shortName), .integer(run.attempts), .text(run.worker ?? "-"),
                        .text(try slurmJob(storage, run)), .text(ageText(run.heartbeatAt)), .text(leaseText)]
            })
            var text: String
            switch format {
            case .table:
                text = countsListing.render(.table) + (running.rows.isEmpty ? "" : "\nrunning\n" + running.render(.table))
            case .csv:
                text = countsListing.render(.csv) + (running.rows.isEmpty ? "" : "\n" + running.render(.csv))
            case .json:
                text = JSONOutput.text(StoreStatus(counts: countsListing.objects, running: running.objects))
            }
            if let watch {
                if isatty(STDOUT_FILENO) != 0 { text = "\u{1B}[H\u{1B}[2J" + text }
                output(text)
                Thread.sleep(forTimeInterval: max(0.2, watch))
            } else {
                output(text)
            }
        } while watch != nil
    }
}

// MARK: rm, gc

struct RemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Delete runs with their metrics and artifacts (a running run is never deleted).")

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "Run IDs or unique prefixes.")
    var runs: [String]

    func validate() throws {
        if runs.isEmpty { throw ValidationError("name at least one run to delete") }
    }

    func run() throws {
        let storage = try storeOptions.open()
        var failures = 0
        for prefix in runs {
            do {
                let runID = try storage.resolveRunID(prefix: prefix)
                try storage.deleteRun(id: runID)
                output("deleted \(runID)\n")
            } catch {
                failures += 1
                FileHandle.standardError.write(Data("gaplab rm: \(error)\n".utf8))
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }
}

struct GarbageCollectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc", abstract: "Remove artifact folders that belong to no run.")

    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        let storage = try storeOptions.open()
        let removed = try storage.collectGarbage()
        for folder in removed { output("removed \(folder.path)\n") }
        output("\(removed.count) orphaned artifact folder\(removed.count == 1 ? "" : "s") removed\n")
    }
}

// MARK: bench-store

struct BenchStoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-store",
        abstract: "Measure the stores' overhead with 1, 4 and 16 concurrent workers: claims/s, metric rows/s, logging calls.",
        discussion: """
        A throw-away SQLite store always; with --postgres, also the PostgreSQL database at that URL (a scratch \
        database: the benchmark adds experiments and runs to it). Each worker has its own connection. Figures \
        are wall-clock rates over all workers together.
        """)

    @Option(help: "A scratch PostgreSQL database to benchmark beside SQLite, postgresql://USER@HOST:PORT/DB.")
    var postgres: String?

    @Option(help: "Runs claimed and finished per worker count.")
    var runs = 400

    @Option(help: "Metric rows written in batches of 500 per worker count, split between the workers.")
    var rows = 40_000

    @Option(help: "Per-step logging calls (one metric row each) per worker count, split between the workers.")
    var calls = 2_000

    @Option(help: "Comma-separated worker counts.")
    var workers = "1,4,16"

    func run() throws {
        var settings = StoreBenchmark.Settings()
        settings.runs = runs
        settings.metricRows = rows
        settings.loggingCalls = calls
        settings.workerCounts = try workers.split(separator: ",").map { text in
            guard let count = Int(text.trimmingCharacters(in: .whitespaces)), count > 0 else {
                throw ValidationError("--workers: expected comma-separated positive counts, got '\(workers)'")
            }
            return count
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let sqlitePath = directory.appendingPathComponent("bench.sqlite").path
        var rows = try StoreBenchmark.run(label: "sqlite", settings: settings) {
            try SQLiteStorage(path: sqlitePath)
        }
        if let postgres {
            let artifacts = directory.appendingPathComponent("pg-artifacts")
            rows += try StoreBenchmark.run(label: "postgresql", settings: settings) {
                try PostgresStorage(locator: postgres, artifacts: artifacts)
            }
        }
        output(StoreBenchmark.report(rows) + "\n")
    }
}
