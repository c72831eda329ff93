import ArgumentParser
import Foundation
import GapRunner
import GapStore
#if canImport(Glibc)
import Glibc
#endif

/// One worker on a store: what each task of a `gaplab slurm` job array runs, and what anyone may start by hand on
/// any host that reaches the store.
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run pending runs of a store one at a time until none is left (what each Slurm array task runs).",
        discussion: """
        The worker claims a pending run (of --experiment, or of any experiment), runs it in its own process exactly \
        as `gaplab run` does (checkpoints every epoch, resumes from the last one, heartbeats keep its claim) and \
        claims the next, until nothing is claimable. Several workers on one store cooperate, on one host or many. \
        When a signal stops the worker (Slurm's scancel, a preemption, a time limit), the run in progress is \
        recorded as killed and put back to pending, so that another worker resumes it from its checkpoint. \
        The exit status is 0 when every run it executed completed, 1 when one failed, 128+N after signal N.
        """)

    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "Only runs of this experiment (default: any experiment's).")
    var experiment: String?
    @Option(help: "Stop after claiming this many runs (default: no limit).")
    var maxRuns: Int?
    @Option(help: "When nothing is claimable, wait up to SECONDS for new runs before exiting (default: exit at once).")
    var idleExit: Double?
    @Option(help: "Threads per run (matrix products and element-wise kernels). Results are identical for a fixed count.")
    var threads: Int = 1
    @Option(help: "Seconds the worker's claim on a run lasts without a heartbeat; another worker takes the run over after that.")
    var lease: Double = 60

    func validate() throws {
        if let maxRuns, maxRuns < 1 { throw ValidationError("--max-runs: expected at least 1 run, got \(maxRuns)") }
        if let idleExit, !(idleExit >= 0) { throw ValidationError("--idle-exit: expected seconds, 0 or more; got \(idleExit)") }
        if threads < 1 { throw ValidationError("--threads: expected at least 1, got \(threads)") }
        if !(lease > 0) { throw ValidationError("--lease: expected a positive number of seconds, got \(lease)") }
    }

    func run() throws {
        let storage: any Storage = try storeOptions.open(create: false)
        if let experiment, try !storage.experiments().contains(where: { $0.name == experiment }) {
            throw ValidationError("--experiment: no experiment named '\(experiment)' in \(storage.locator)")
        }
        let runner = makeRunner(storage: storage, threads: threads, workers: 1, lease: lease,
                                codeVersion: CodeVersion.current(directory: sourceRoot))
        runner.maxRuns = maxRuns
        runner.idleExit = idleExit ?? 0
        var counts = try runner.runUntilDone(experiment: experiment)
        if counts.stoppedBySignal != nil, !counts.killedRunIDs.isEmpty {
            for runID in try KilledRunRequeue.requeue(counts.killedRunIDs, in: storage) {
                print("run \(runID.prefix(12)) is pending again: another worker resumes it from its checkpoint")
            }
            counts.store = (try? storage.statusCounts(experiment: experiment)) ?? counts.store
        }
        print(sessionSummary("worker \(runner.workerName)", counts))
        if let signal = counts.stoppedBySignal { throw ExitCode(128 + signal) }
        if counts.failed > 0 { throw ExitCode(1) }
    }
}

/// Plans an experiment into the store and writes (and with --submit, submits) a Slurm job array of workers.
struct SlurmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slurm",
        abstract: "Plan an experiment into the store and write (or --submit) a Slurm job array whose tasks run its runs.",
        discussion: """
        Planning is that of `gaplab run`. The script (default .gaplab/slurm/EXPERIMENT-TIMESTAMP.sbatch) asks for a \
        job array of N tasks; each task execs `gaplab worker --store STORE --experiment EXPERIMENT --threads T` with \
        this gaplab executable's absolute path, so N runs execute at once until none is left (a task finds nothing \
        to do when the runs are fewer). The tasks' output goes to logs/%A_%a.out and .err beside the script. The \
        store must be reachable from the compute nodes: a postgresql:// URL, or an SQLite file at the same path on a \
        shared file system. A task stopped by \
        scancel or a preemption puts its run back to pending; submit the script again (or start `gaplab worker` by \
        hand) to resume it. `gaplab status` shows each running run's Slurm job and task.
        Example: gaplab slurm Experiments/quickstart.json --array 3 --time 2:00:00 --cpus-per-task 2 --submit
        """)

    @Argument(help: "Experiment file (Experiments/*.json).")
    var file: String
    @Argument(help: "Overrides: key=value sets a value, key=v1,v2 sweeps it (recorded verbatim with the runs).")
    var overrides: [String] = []
    @Option(help: "Number of array tasks (workers running at once): the array is 0-(N-1).")
    var array: Int
    @Option(help: "Slurm partition (#SBATCH --partition).")
    var partition: String?
    @Option(help: "Time limit of each task in Slurm's syntax, e.g. 2:00:00 or 1-0 (#SBATCH --time).")
    var time: String?
    @Option(help: "CPUs of each task (#SBATCH --cpus-per-task); also the runs' thread count unless --threads is given.")
    var cpusPerTask: Int?
    @Option(help: "GPUs of each task (#SBATCH --gpus-per-task).")
    var gpusPerTask: Int?
    @Option(help: "Memory of each task in Slurm's syntax, e.g. 4G (#SBATCH --mem).")
    var mem: String?
    @Option(parsing: .unconditionalSingleValue,
            help: "Another sbatch option for the script, one #SBATCH line each; repeatable (e.g. --sbatch-arg --qos=low).")
    var sbatchArg: [String] = []
    @Option(help: "Threads per run (default: --cpus-per-task, else 1).")
    var threads: Int?
    @Option(help: "Where to write the sbatch script (default: .gaplab/slurm/EXPERIMENT-TIMESTAMP.sbatch).")
    var script: String?
    @Flag(help: "Submit the script with `sbatch --parsable` and print the job ID, unless no run is pending (default: print the command to run).")
    var submit = false
    @OptionGroup var planOptions: PlanOptions

    func validate() throws {
        if array < 1 { throw ValidationError("--array: expected the number of array tasks, at least 1; got \(array)") }
        if let threads, threads < 1 { throw ValidationError("--threads: expected at least 1, got \(threads)") }
        if let cpusPerTask, cpusPerTask < 1 { throw ValidationError("--cpus-per-task: expected at least 1, got \(cpusPerTask)") }
        if let gpusPerTask, gpusPerTask < 1 { throw ValidationError("--gpus-per-task: expected at least 1, got \(gpusPerTask)") }
        if let script, script.isEmpty { throw ValidationError("--script: expected a file path, got an empty string") }
    }

    func run() throws {
        let planned = try planOptions.planIntoStore(file: file, overrides: overrides)
        let name = planned.plan.name
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let scriptURL: URL
        if let script {
            scriptURL = script.hasPrefix("/") ? URL(fileURLWithPath: script) : cwd.appendingPathComponent(script)
        } else {
            let stamp = DateFormatter()
            stamp.dateFormat = "yyyyMMdd-HHmmss"
            stamp.locale = Locale(identifier: "en_US_POSIX")
            scriptURL = cwd.appendingPathComponent(".gaplab/slurm/\(SlurmScript.fileNameSafe(name))-\(stamp.string(from: Date())).sbatch")
        }
        let logs = scriptURL.deletingLastPathComponent().appendingPathComponent("logs", isDirectory: true)
        let runThreads = threads ?? cpusPerTask ?? 1
        let job = SlurmArrayJob(
            jobName: "gaplab-" + name, taskCount: array, partition: partition, time: time, cpusPerTask: cpusPerTask,
            gpusPerTask: gpusPerTask, memory: mem, extraOptions: sbatchArg, logDirectory: logs.standardizedFileURL.path,
            command: [Executor.currentExecutableURL().path, "worker", "--store", planned.storage.locator,
                      "--experiment", name, "--threads", String(runThreads)])
        let text: String
        do {
            text = try SlurmScript.render(job)
        } catch let error as SlurmScriptError {
            throw ValidationError(error.description)
        }
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        try text.write(to: scriptURL, atomically: true, encoding: .utf8)
        let path = scriptURL.standardizedFileURL.path
        print("wrote \(path) (array 0-\(array - 1), logs in \(logs.standardizedFileURL.path))")
        let pending = try planned.storage.statusCounts(experiment: name)
        let claimable = pending[.pending, default: 0] + pending[.stale, default: 0]
        if claimable > 0 && claimable < array { print("note: \(claimable) runs to do for \(array) array tasks: \(array - claimable) will find nothing to do") }
        if submit && claimable == 0 {
            print("nothing to submit: no run of \(name) is pending or stale (see gaplab status; --retry-failed requeues failed and killed runs)")
            return
        }
        guard submit else {
            print("submit with: sbatch \(SlurmScript.shellQuoted(path))")
            return
        }
        let jobID = try SlurmSubmission.submit(script: path)
        print("submitted job \(jobID)")
    }
}

/// Runs `sbatch --parsable SCRIPT`, its output read through files (a pipe could fill and block it).
enum SlurmSubmission {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func submit(script: String) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-sbatch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("stdout"), err = folder.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sbatch", "--parsable", script]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        do {
            try process.run()
        } catch {
            throw Failure(description: "cannot start sbatch: \(error)")
        }
        process.waitUntilExit()
        let output = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
        let errors = ((try? String(contentsOf: err, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let hint = process.terminationStatus == 127 ? " (is Slurm installed, and sbatch on PATH?)" : ""
            throw Failure(description: "sbatch failed with status \(process.terminationStatus)\(hint): \(errors)")
        }
        // --parsable prints "JOBID" or "JOBID;CLUSTER".
        let line = output.split(whereSeparator: \.isNewline).last.map(String.init) ?? ""
        guard let jobID = line.split(separator: ";").first.map(String.init), !jobID.isEmpty else {
            throw Failure(description: "sbatch printed no job ID: \(output) \(errors)")
        }
        return jobID
    }
}
