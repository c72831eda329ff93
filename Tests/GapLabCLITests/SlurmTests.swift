import Foundation
import GapStore
import GapTestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The tiny real experiment of the worker and Slurm tests (that of EndToEndTrainingTests, one variant).
private func writeTinyExperiment(in directory: URL, epochs: Int, trainSize: Int = 128) throws -> String {
    let json = """
    {
      "name": "tiny",
      "description": "worker and Slurm tests",
      "base": {
        "model": {"embed_dim": 16,
                  "vision_cfg": {"image_size": 16, "patch_size": 8, "width": 16, "layers": 1, "head_width": 8},
                  "text_cfg": {"context_length": 12, "vocab_size": 300, "width": 16, "heads": 2, "layers": 1}},
        "data": {"dataset": "scenes", "train_size": \(trainSize), "val_size": 32, "test_size": 32},
        "train": {"epochs": \(epochs), "batch_size": 32, "warmup": 2, "lr": 0.003},
        "eval": {"picture_sample": 24, "linear_probe": false},
        "runtime": {"log_every": 1}
      },
      "variants": [{"name": "alignclip", "overrides": {"model.sharing.depth": 1, "model.sharing.head": true, "loss.imsep_weight": 0.5}}]
    }
    """
    let path = directory.appendingPathComponent("tiny.json").path
    try json.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// Waits for a launched process, killing it when it outlives `limit` (a hang becomes a failure).
@discardableResult
private func finish(_ launched: GapLabBinary.Launched, limit: TimeInterval = 600, file: StaticString = #filePath,
                    line: UInt = #line) throws -> Int32 {
    do {
        try waitUntil("gaplab \(launched.process.arguments?.first ?? "") exits", limit: limit, file: file, line: line) {
            !launched.process.isRunning
        }
    } catch {
        kill(launched.pid, SIGKILL)
        launched.process.waitUntilExit()
        throw error
    }
    return launched.wait()
}

private struct CommandNeverEnded: Error, CustomStringConvertible {
    var command: String
    var description: String { "\(command) did not end (or its end was never reported) within its time limit" }
}

/// A command's outcome, its output read from files; `timeout` bounds it.
private struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

private func runCommand(_ arguments: [String], environment: [String: String] = [:], in directory: URL,
                        timeout: Int = 120) throws -> CommandResult {
    let name = UUID().uuidString
    let out = directory.appendingPathComponent("\(name).stdout"), err = directory.appendingPathComponent("\(name).stderr")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    defer {
        try? FileManager.default.removeItem(at: out)
        try? FileManager.default.removeItem(at: err)
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
    process.arguments = ["--kill-after=10", String(timeout)] + arguments
    var merged = ProcessInfo.processInfo.environment
    merged.merge(environment) { _, new in new }
    process.environment = merged
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: err)
    try process.run()
    // Polled with a deadline rather than waitUntilExit: a daemon that kept a descriptor of the child would make
    // the end of the child unobservable, and the test would hang instead of failing.
    let deadline = Date().addingTimeInterval(Double(timeout) + 30)
    while process.isRunning {
        if Date() > deadline {
            throw CommandNeverEnded(command: arguments.joined(separator: " "))
        }
        Thread.sleep(forTimeInterval: 0.05)
    }
    return CommandResult(status: process.terminationStatus,
                         stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                         stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
}

/// `gaplab worker` without Slurm: cooperating workers, a failing run, bad options.
final class WorkerCommandTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-worker-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func launch(_ arguments: [String], environment: [String: String] = [:], name: String) throws -> GapLabBinary.Launched {
        try GapLabBinary.Launched(arguments: arguments, environment: environment, logDirectory: directory, name: name)
    }

    func testTwoWorkersRunEveryRunExactlyOnce() throws {
        let file = try writeTinyExperiment(in: directory, epochs: 1)
        let store = directory.appendingPathComponent("store/gaplab.sqlite").path
        let script = directory.appendingPathComponent("job.sbatch").path
        // Planning through `gaplab slurm` (no --submit): the store gets the runs, the script is written.
        let plan = try launch(["slurm", file, "seed=0,1,2", "--array", "2", "--store", store, "--script", script], name: "plan")
        XCTAssertEqual(try finish(plan), 0, plan.stderr + plan.stdout)
        XCTAssertTrue(plan.stdout.contains("tiny: 3 runs (3 new"), plan.stdout)
        XCTAssertTrue(plan.stdout.contains("submit with: sbatch '\(script)'"), plan.stdout)
        let text = try String(contentsOfFile: script, encoding: .utf8)
        XCTAssertTrue(text.contains("#SBATCH --array=0-1\n"), text)
        XCTAssertTrue(text.contains("'worker' '--store' '\(store)' '--experiment' 'tiny' '--threads' '1'"), text)
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent("logs").path), "the logs folder is made")

        let workers = try (0..<2).map { try launch(["worker", "--store", store, "--experiment", "tiny"], name: "worker\($0)") }
        for worker in workers { XCTAssertEqual(try finish(worker), 0, worker.stderr + worker.stdout) }
        let storage: any Storage = try SQLiteStorage(path: store, create: false)
        let runs = try storage.runs(experiment: "tiny", status: nil)
        XCTAssertEqual(runs.count, 3)
        for run in runs {
            XCTAssertEqual(run.status, .completed, run.runID)
            XCTAssertEqual(run.attempts, 1, "run \(run.runID) ran once")
            XCTAssertEqual(try storage.attempts(runID: run.runID).map(\.status), [.completed])
        }
        // Each worker's closing line says what it ran: three runs between them.
        let completed = workers.map { worker -> Int in
            let summary = worker.stdout.split(separator: "\n").last { $0.hasPrefix("worker ") } ?? ""
            return summary.split(separator: ": ").dropFirst().first.flatMap { Int($0.split(separator: " ")[0]) } ?? -1
        }
        XCTAssertEqual(completed.reduce(0, +), 3, "\(completed)")

        // Nothing left to run: --submit submits nothing (so no Slurm is needed here).
        let again = try launch(["slurm", file, "seed=0,1,2", "--array", "2", "--store", store, "--script", script, "--submit"],
                               name: "again")
        XCTAssertEqual(try finish(again), 0, again.stderr + again.stdout)
        XCTAssertTrue(again.stdout.contains("nothing to submit"), again.stdout)
    }

    func testAWorkerExitsNonZeroWhenARunItExecutedFailed() throws {
        let file = try writeTinyExperiment(in: directory, epochs: 2)
        let store = directory.appendingPathComponent("store/gaplab.sqlite").path
        let plan = try launch(["slurm", file, "--array", "1", "--store", store, "--script", directory.appendingPathComponent("j.sbatch").path],
                              name: "plan")
        XCTAssertEqual(try finish(plan), 0, plan.stderr)
        let worker = try launch(["worker", "--store", store, "--max-runs", "1"], environment: ["GAPLAB_CRASH_AFTER_EPOCH": "1"], name: "crash")
        XCTAssertEqual(try finish(worker), 1, worker.stderr + worker.stdout)
        let storage: any Storage = try SQLiteStorage(path: store, create: false)
        XCTAssertEqual(try storage.runs(experiment: "tiny", status: nil).map(\.status), [.failed])
    }

    func testBadOptionsNameTheOption() throws {
        let file = try writeTinyExperiment(in: directory, epochs: 1)
        let store = directory.appendingPathComponent("store/gaplab.sqlite").path
        let cases: [([String], String)] = [
            (["slurm", file, "--array", "0", "--store", store], "--array: expected the number of array tasks, at least 1; got 0"),
            (["slurm", file, "--array", "2", "--cpus-per-task", "0", "--store", store], "--cpus-per-task: expected at least 1"),
            (["slurm", file, "--array", "2", "--time", "", "--store", store], "--time: expected a value"),
            (["worker", "--store", store, "--max-runs", "0"], "--max-runs: expected at least 1"),
            (["worker", "--store", store, "--idle-exit=-1"], "--idle-exit: expected seconds"),
        ]
        for (index, (arguments, message)) in cases.enumerated() {
            let launched = try launch(arguments, name: "bad\(index)")
            XCTAssertNotEqual(try finish(launched), 0, arguments.joined(separator: " "))
            XCTAssertTrue(launched.stderr.contains(message), "\(arguments): \(launched.stderr)")
        }
        let help = try launch(["slurm", "--help"], name: "help")
        XCTAssertEqual(try finish(help), 0)
        for option in ["--array", "--partition", "--time", "--cpus-per-task", "--gpus-per-task", "--mem", "--sbatch-arg",
                       "--script", "--submit", "--threads", "--store"] {
            XCTAssertTrue(help.stdout.contains(option), "help lacks \(option)")
        }
    }
}

/// The real thing on a one-node cluster that `scripts/slurm-cluster` starts for this class: a job array runs every
/// run once, and a task stopped by scancel leaves its run to the next task, which resumes it to the numbers of an
/// uninterrupted run. Without Slurm installed these tests skip, except in CI (CI set), where they fail.
final class SlurmTests: XCTestCase {
    private static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    nonisolated(unsafe) private static var clusterDirectory: URL?
    /// SLURM_CONF of the started cluster, or why it could not start.
    nonisolated(unsafe) private static var cluster: Result<String, ClusterUnavailable>?

    struct ClusterUnavailable: Error, CustomStringConvertible {
        var description: String
        var notInstalled = false
    }

    var directory: URL!
    var slurmConf: String!

    private static var slurmInstalled: Bool {
        ["/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/bin/sbatch", "/usr/bin/squeue", "/usr/bin/scancel", "/usr/sbin/munged"]
            .allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
    }

    override class func setUp() {
        super.setUp()
        guard slurmInstalled else {
            cluster = .failure(ClusterUnavailable(description: "slurm-wlm and munge are not installed (make slurm)", notInstalled: true))
            return
        }
        guard getuid() == 0 else {
            cluster = .failure(ClusterUnavailable(description: "the one-node cluster needs root", notInstalled: true))
            return
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-slurm-cluster-\(UUID().uuidString)")
        clusterDirectory = folder
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let result = try runCommand([packageRoot.appendingPathComponent("scripts/slurm-cluster").path, "start", folder.path],
                                        in: FileManager.default.temporaryDirectory, timeout: 120)
            guard result.status == 0, let line = result.stdout.split(separator: "\n").first(where: { $0.hasPrefix("export SLURM_CONF=") })
            else {
                cluster = .failure(ClusterUnavailable(description: "scripts/slurm-cluster start failed (\(result.status)): \(result.stderr)"))
                return
            }
            cluster = .success(String(line.dropFirst("export SLURM_CONF=".count)))
        } catch {
            cluster = .failure(ClusterUnavailable(description: "cannot run scripts/slurm-cluster: \(error)"))
        }
    }

    override class func tearDown() {
        if let folder = clusterDirectory {
            let result = try? runCommand([packageRoot.appendingPathComponent("scripts/slurm-cluster").path, "stop", folder.path],
                                         in: FileManager.default.temporaryDirectory, timeout: 120)
            if result?.status != 0 { print("scripts/slurm-cluster stop: \(result?.stderr ?? "did not run")") }
            try? FileManager.default.removeItem(at: folder)
        }
        super.tearDown()
    }

    override func setUpWithError() throws {
        switch Self.cluster {
        case .success(let conf)?:
            slurmConf = conf
        case .failure(let problem)? where problem.notInstalled:
            if ProcessInfo.processInfo.environment["CI"] != nil {
                XCTFail("\(problem): the Slurm tests fail, not skip, in CI")
                throw problem
            }
            throw XCTSkip("\(problem)")
        case .failure(let problem)?:
            XCTFail("\(problem)")
            throw problem
        case nil:
            throw XCTSkip("the cluster was not set up")
        }
        // A space and a quote in every path: the script's quoting meets the real sbatch and bash.
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab slurm it's \(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    private var slurmEnvironment: [String: String] { ["SLURM_CONF": slurmConf] }

    private func launch(_ arguments: [String], name: String) throws -> GapLabBinary.Launched {
        try GapLabBinary.Launched(arguments: arguments, environment: slurmEnvironment, logDirectory: directory, name: name)
    }

    private func slurm(_ arguments: [String]) throws -> CommandResult {
        try runCommand(arguments, environment: slurmEnvironment, in: directory, timeout: 60)
    }

    private func jobID(in output: String) throws -> String {
        let line = try XCTUnwrap(output.split(separator: "\n").first { $0.hasPrefix("submitted job ") }, output)
        return String(line.dropFirst("submitted job ".count))
    }

    /// True when the job (every task of it) has left the queue.
    private func jobGone(_ job: String) throws -> Bool {
        let queue = try slurm(["squeue", "-h", "-j", job, "-o", "%i"])
        return queue.status != 0 || queue.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
    }

    /// The job's task logs, for failure messages.
    private func taskLogs() -> String {
        let logs = directory.appendingPathComponent("logs")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: logs.path)) ?? []
        return names.sorted().map { name in
            "--- \(name)\n" + ((try? String(contentsOf: logs.appendingPathComponent(name), encoding: .utf8)) ?? "")
        }.joined(separator: "\n")
    }

    private func environment(_ storage: any Storage, _ runID: String, attempt: Int) throws -> [String: String] {
        var values: [String: String] = [:]
        for entry in try storage.environment(runID: runID) where entry.attempt == attempt { values[entry.key] = entry.value }
        return values
    }

    func testAJobArrayRunsEveryRunOnce() throws {
        let file = try writeTinyExperiment(in: directory, epochs: 1)
        let store = directory.appendingPathComponent("store/gaplab.sqlite").path
        let submit = try launch(["slurm", file, "seed=0,1,2", "--array", "3", "--store", store, "--time", "0:20:00",
                                 "--cpus-per-task", "1", "--script", directory.appendingPathComponent("tiny.sbatch").path, "--submit"],
                                name: "submit")
        XCTAssertEqual(try finish(submit, limit: 120), 0, submit.stderr + submit.stdout)
        let job = try jobID(in: submit.stdout)
        let storage: any Storage = try SQLiteStorage(path: store, create: false)
        try waitUntil("the array's runs completed and its tasks left the queue\n\(taskLogs())", limit: 600) {
            try storage.statusCounts(experiment: "tiny")[.completed, default: 0] == 3 && (try jobGone(job))
        }
        let runs = try storage.runs(experiment: "tiny", status: nil)
        XCTAssertEqual(runs.count, 3)
        var tasks = Set<String>()
        for run in runs {
            XCTAssertEqual(run.status, .completed)
            XCTAssertEqual(run.attempts, 1, "run \(run.runID) ran once")
            let values = try environment(storage, run.runID, attempt: 1)
            XCTAssertNotNil(values["slurm_job_id"], "\(values)")
            XCTAssertEqual(values["slurm_array_job_id"], job, "\(values)")
            XCTAssertNotNil(values["slurm_node"], "\(values)")
            tasks.insert(try XCTUnwrap(values["slurm_array_task_id"], "\(values)"))
        }
        XCTAssertTrue(tasks.isSubset(of: ["0", "1", "2"]), "\(tasks)")
    }

    func testAScancelledTaskLeavesItsRunToTheNextWhichEndsWithTheUninterruptedNumbers() throws {
        let file = try writeTinyExperiment(in: directory, epochs: 12, trainSize: 256)
        let store = directory.appendingPathComponent("store/gaplab.sqlite").path
        let script = directory.appendingPathComponent("tiny.sbatch").path
        let submit = try launch(["slurm", file, "--array", "1", "--store", store, "--script", script, "--submit"], name: "submit")
        XCTAssertEqual(try finish(submit, limit: 120), 0, submit.stderr + submit.stdout)
        let job = try jobID(in: submit.stdout)
        let storage: any Storage = try SQLiteStorage(path: store, create: false)
        let runID = try XCTUnwrap(try storage.runs(experiment: "tiny", status: nil).first?.runID)
        let checkpoint = storage.artifactDirectory(runID: runID).appendingPathComponent("checkpoint.safetensors").path
        try waitUntil("the run is past its first epoch's checkpoint\n\(taskLogs())", limit: 600) {
            try storage.run(id: runID)?.status == .running && FileManager.default.fileExists(atPath: checkpoint)
        }
        let status = try launch(["status", "--store", store, "--format", "csv"], name: "status")
        XCTAssertEqual(try finish(status, limit: 60), 0, status.stderr)
        XCTAssertTrue(status.stdout.contains(",\(job)_0,"), "status shows the Slurm job and task:\n\(status.stdout)")

        XCTAssertEqual(try slurm(["scancel", job]).status, 0)
        try waitUntil("the cancelled task left the queue\n\(taskLogs())", limit: 300) { try jobGone(job) }
        let run = try XCTUnwrap(try storage.run(id: runID))
        XCTAssertEqual(run.status, .pending, "the run is claimable again; first task's log:\n\(taskLogs())")
        let attempts = try storage.attempts(runID: runID)
        XCTAssertEqual(attempts.map(\.status), [.killed], "the killed attempt stays in the history")
        XCTAssertTrue(attempts.first?.errorTail?.contains("SIGTERM") == true, attempts.first?.errorTail ?? "")
        XCTAssertTrue(FileManager.default.fileExists(atPath: checkpoint), "the checkpoint is kept")

        // The same script again: its task resumes the run from the checkpoint.
        let again = try slurm(["sbatch", "--parsable", script])
        XCTAssertEqual(again.status, 0, again.stderr)
        let secondJob = try XCTUnwrap(again.stdout.split(separator: "\n").last.map { String($0.split(separator: ";")[0]) })
        try waitUntil("the second task completed the run\n\(taskLogs())", limit: 600) {
            try storage.run(id: runID)?.status == .completed && (try jobGone(secondJob))
        }
        XCTAssertEqual(try storage.attempts(runID: runID).map(\.status), [.killed, .completed])
        XCTAssertEqual(try environment(storage, runID, attempt: 1)["slurm_array_job_id"], job)
        XCTAssertEqual(try environment(storage, runID, attempt: 2)["slurm_array_job_id"], secondJob)
        let resumedLog = storage.artifactDirectory(runID: runID).appendingPathComponent("logs/attempt-2.stdout.log")
        let resumed = (try? String(contentsOf: resumedLog, encoding: .utf8)) ?? ""
        XCTAssertTrue(resumed.contains("resumed from checkpoint"), resumed)

        // The same run uninterrupted, in a store of its own.
        let cleanStore = directory.appendingPathComponent("clean/gaplab.sqlite").path
        let clean = try launch(["run", file, "--store", cleanStore, "--workers", "1"], name: "clean")
        XCTAssertEqual(try finish(clean), 0, clean.stderr + clean.stdout)
        let cleanStorage: any Storage = try SQLiteStorage(path: cleanStore, create: false)
        let uninterrupted = try metricsByKeyAndStep(cleanStorage, runID)
        XCTAssertFalse(uninterrupted.isEmpty)
        XCTAssertEqual(try metricsByKeyAndStep(storage, runID), uninterrupted, "the resumed run ends with the uninterrupted run's numbers")
    }
}
