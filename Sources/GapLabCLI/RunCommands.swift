import ArgumentParser
import Foundation
import GapEngine
import GapPipeline
import GapRunner
import GapSpec
import GapStore
import GapStorePostgres

/// The params a run is queried by: its resolved configuration flattened by dotted path, typed.
func flattenedParams(_ config: JSONValue) -> [String: ParamValue] {
    var out: [String: ParamValue] = [:]
    for (path, value) in config.leaves() {
        switch value {
        case .bool(let b): out[path] = .bool(b)
        case .string(let s): out[path] = .string(s)
        case .number(let d): out[path] = d == d.rounded() && abs(d) < JSONValue.maxExactInteger ? .int(Int(d)) : .double(d)
        case .array: out[path] = .string(value.canonicalString)
        case .null, .object: break
        }
    }
    return out
}

/// The checkout this executable was built from: runs record its git commit and dirty flag.
let sourceRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// What planning an experiment into the store gave: the plan and the store that now holds its runs.
struct PlannedExperiment {
    var plan: ExperimentPlan
    var storage: any Storage
    var codeVersion: CodeVersion
}

/// Plans an experiment into the store (new runs pending, existing ones untouched); shared by `run`, `train` and
/// `slurm`.
struct PlanOptions: ParsableArguments {
    @Flag(help: "Put failed and killed runs of the experiment back to pending first.")
    var retryFailed = false
    @Flag(help: "Run again completed runs that were made by another code version (git commit or dirty tree).")
    var rerunOtherCode = false
    @OptionGroup var storeOptions: StoreOptions

    func planIntoStore(file: String, overrides: [String]) throws -> PlannedExperiment {
        let plan: ExperimentPlan
        do {
            plan = try ExperimentPlanner.plan(file: file, overrides: overrides)
        } catch {
            try reportAndFail(error)
        }
        for warning in plan.warnings { print("note: \(warning)") }
        let storage: any Storage = try storeOptions.open(create: true)
        let definition = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        try storage.addExperiment(ExperimentRecord(name: plan.name, description: plan.description, definitionJSON: definition,
                                                   overrides: plan.overrides))
        let specs = plan.runs.map { run in
            RunSpec(runID: run.runID, experiment: plan.name, variant: run.variant, shortName: run.shortName, seed: run.seed,
                    configHash: run.configHash, configJSON: run.configJSON.canonicalString, params: flattenedParams(run.configJSON))
        }
        let outcome = try storage.planRuns(specs)
        print("\(plan.name): \(plan.runs.count) runs (\(outcome.inserted.count) new, \(outcome.existing.count) already in the store)")
        fflush(stdout)
        if retryFailed { try storage.requeueRuns(experiment: plan.name, statuses: [.failed, .killed]) }
        let code = CodeVersion.current(directory: sourceRoot)
        if rerunOtherCode { try storage.requeueCompletedRuns(experiment: plan.name, madeByOtherThan: code.description) }
        return PlannedExperiment(plan: plan, storage: storage, codeVersion: code)
    }
}

/// The runner every command that executes runs uses (`run`, `train`, `worker`): each run in its own `train-run`
/// child with `threads` threads, its attempt's environment recording BLAS, threads and the command line.
func makeRunner(storage: any Storage, threads: Int, workers: Int, lease: Double, codeVersion: CodeVersion,
                extraEnvironment: [String: String] = [:]) -> Runner {
    let runner = Runner(storage: storage,
                        executor: .currentProgram(arguments: ["train-run", "--store", "{store}", "--run", "{run}", "--threads", String(threads)]),
                        workers: workers, leaseSeconds: lease, progress: .automatic, codeVersion: codeVersion)
    runner.environmentExtras = ["blas": BLASKernel.configuration, "threads": String(threads),
                                "command_line": StoreLocation.redactingPasswords(CommandLine.arguments.joined(separator: " "))]
    runner.environmentExtras.merge(extraEnvironment) { _, new in new }
    return runner
}

/// A runner's summary line: what it did in this session and the store's counts.
func sessionSummary(_ name: String, _ counts: RunnerCounts) -> String {
    "\(name): \(counts.completed) completed, \(counts.failed) failed, \(counts.killed) killed in this session; store: "
        + counts.store.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", ")
}

/// Plans an experiment into the store and runs it with cooperating workers; shared by `run` and `train`.
struct SweepOptions: ParsableArguments {
    @Option(help: "Parallel worker processes on this machine (default: cores ÷ threads).")
    var workers: Int?
    @Option(help: "Threads per run (matrix products and element-wise kernels). Results are identical for a fixed count.")
    var threads: Int = 1
    @Option(help: "Seconds a worker's claim on a run lasts without a heartbeat; another worker takes the run over after that.")
    var lease: Double = 60
    @OptionGroup var planOptions: PlanOptions

    func execute(file: String, overrides: [String]) throws {
        let planned = try planOptions.planIntoStore(file: file, overrides: overrides)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let workerCount = max(1, workers ?? cores / max(threads, 1))
        let runner = makeRunner(storage: planned.storage, threads: threads, workers: workerCount, lease: lease,
                                codeVersion: planned.codeVersion)
        let counts = try runner.runUntilDone(experiment: planned.plan.name)
        print(sessionSummary(planned.plan.name, counts))
        if let signal = counts.stoppedBySignal { throw ExitCode(128 + signal) }
        if !counts.allCompleted { throw ExitCode(1) }
    }
}

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Plan an experiment into the store and run every pending run; resumable, several may share a store.",
        discussion: """
        Runs already completed are never run again (a run is identified by the SHA-256 of its resolved \
        configuration and seed). Each run executes in its own process, checkpoints every epoch and resumes from \
        its last checkpoint when it is taken up again (after Ctrl-C, a crash or an expired lease). Several \
        `gaplab run` processes on one store cooperate: no run executes twice at the same time.
        """)

    @Argument(help: "Experiment file (Experiments/*.json).")
    var file: String
    @Argument(help: "Overrides: key=value sets a value, key=v1,v2 sweeps it (recorded verbatim with the runs).")
    var overrides: [String] = []
    @OptionGroup var sweep: SweepOptions

    func run() throws { try sweep.execute(file: file, overrides: overrides) }
}

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train one run configuration through the same path as `run` (store, checkpoints, evaluation).")

    @Argument(help: "Run configuration JSON (model, data, loss, train, eval, finetune, seed).")
    var config: String
    @Argument(help: "Overrides: key=value.")
    var overrides: [String] = []
    @OptionGroup var sweep: SweepOptions

    func run() throws { try sweep.execute(file: config, overrides: overrides) }
}

/// The child process of one run (started by the runner).
struct TrainRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-run", abstract: "Execute one planned run (started by `gaplab run`).", shouldDisplay: false)

    @Option(help: "The store: SQLite path or postgresql:// URL.")
    var store: String
    @Option(name: .customLong("run"), help: "Run ID.")
    var runID: String
    @OptionGroup var threadOptions: ThreadOptions

    func run() throws {
        ParentWatch.exitWhenRunnerDies()
        let started = Date()
        let storage = MeasuredStorage(try StoreOpener.open(store: store, create: false, connectPatience: StoreOpener.runConnectPatience))
        guard let record = try storage.run(id: runID) else { throw StoreError.runNotFound(runID) }
        let config = try RunConfigResolver.resolve(try JSONParser.parse(record.configJSON, file: "run \(runID)").value)
        let context = ChildContext.fromEnvironment()
        let artifacts = context?.artifactDirectory ?? storage.artifactDirectory(runID: runID)
        // Beside the artifacts: on a cluster both are on the shared filesystem.
        let cache = storage.artifactsRoot.deletingLastPathComponent().appendingPathComponent("cache")
        let session = try RunSession(storage: storage, runID: runID, config: config, artifacts: artifacts, cacheDirectory: cache,
                                     threads: threadOptions.threads)
        session.fault = InjectedFault.fromEnvironment()
        try session.execute()
        // The store's share of the run's wall time (the tracking overhead), in the run's log.
        let wall = Date().timeIntervalSince(started), tracking = storage.spent
        print(String(format: "tracking: %d store calls, %.3f s of %.3f s (%.2f%%)", tracking.calls, tracking.seconds, wall,
                     100 * tracking.seconds / max(wall, 1e-9)))
    }
}
