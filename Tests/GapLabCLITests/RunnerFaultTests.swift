import Foundation
import GapTestSupport
import GapRunner
import GapStore
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Fault injection on the real runner with `gaplab fake-train` children and `gaplab fake-sweep` runner
/// processes: crashes, SIGKILL of a runner, SIGTERM, and several runners on one store.
final class RunnerFaultTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-runner-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func storePath(_ name: String = "gaplab") -> String {
        directory.appendingPathComponent("\(name)/gaplab.sqlite").path
    }

    private func executions(_ store: SQLiteStorage, _ runID: String) throws -> [String] {
        let log = store.artifactDirectory(runID: runID).appendingPathComponent("executions.log")
        guard let text = try? String(contentsOf: log, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").map(String.init)
    }

    private func fakeTrainExecutor(environment: [String: String] = [:]) throws -> Executor {
        Executor(executable: try GapLabBinary.url(), arguments: ["dev", "fake-train", "--store", "{store}", "--run", "{run}"],
                 environment: environment)
    }

    func testCrashingRunsAreRecordedAsFailedWhileTheOthersComplete() throws {
        let store = try SQLiteStorage(path: storePath())
        try store.planRuns(FakeRuns.specs(experiment: "crash", count: 6, epochs: 2, stepsPerEpoch: 3))
        // v1 runs exit with status 3 after two steps; v2 runs abort (SIGABRT) in a second runner below.
        let exiting = Runner(storage: store,
                             executor: try fakeTrainExecutor(environment: ["GAPLAB_FAKE_CRASH": "exit",
                                                                           "GAPLAB_FAKE_CRASH_VARIANT": "v1",
                                                                           "GAPLAB_FAKE_CRASH_STEP": "2"]),
                             workers: 2, leaseSeconds: 30, progress: .silent)
        let counts = try exiting.runUntilDone(experiment: "crash", trapSignals: false)
        XCTAssertEqual(counts.completed, 4)
        XCTAssertEqual(counts.failed, 2)
        XCTAssertEqual(counts.store, [.completed: 4, .failed: 2])
        XCTAssertFalse(counts.allCompleted)

        for run in try store.runs(experiment: "crash", status: nil) {
            if run.variant == "v1" {
                XCTAssertEqual(run.status, .failed)
                XCTAssertEqual(run.exitStatus, 3)
                let tail = try XCTUnwrap(run.errorTail)
                XCTAssertTrue(tail.contains("exited with status 3"), tail)
                XCTAssertTrue(tail.contains("fake-train: injected crash (exit) at step 2"), tail)
                XCTAssertEqual(try store.metrics(runID: run.runID, key: "train.loss").map(\.step), [1, 2],
                               "what a failed run logged before crashing is kept")
            } else {
                XCTAssertEqual(run.status, .completed)
                XCTAssertEqual(run.exitStatus, 0)
                XCTAssertEqual(try store.metrics(runID: run.runID, key: "train.loss").map(\.step), Array(1...6))
            }
            let environment = Dictionary(uniqueKeysWithValues: try store.environment(runID: run.runID).map { ($0.key, $0.value) })
            XCTAssertNotNil(environment["git_commit"])
            XCTAssertNotNil(environment["cpu_model"])
            XCTAssertNotNil(environment["command_line"])
            XCTAssertTrue(try store.artifacts(runID: run.runID).contains { $0.name == "logs/attempt-1.stderr.log" })
        }

        // Retrying the failed runs with an aborting trainer: SIGABRT is a failure with the signal named.
        XCTAssertEqual(try store.requeueRuns(experiment: "crash", statuses: [.failed]).count, 2)
        let aborting = Runner(storage: store,
                              executor: try fakeTrainExecutor(environment: ["GAPLAB_FAKE_CRASH": "abort",
                                                                            "GAPLAB_FAKE_CRASH_STEP": "4"]),
                              workers: 1, leaseSeconds: 30, progress: .silent)
        let retried = try aborting.runUntilDone(experiment: "crash", trapSignals: false)
        XCTAssertEqual(retried.failed, 2)
        for run in try store.runs(experiment: "crash", status: .failed) {
            XCTAssertEqual(run.attempts, 2)
            XCTAssertEqual(run.exitStatus, 128 + Int(SIGABRT))
            XCTAssertTrue(run.errorTail?.contains("terminated by SIGABRT") == true, run.errorTail ?? "")
            // The retry resumed from the checkpoint at step 0 (none was written before the crash at step 2).
            XCTAssertEqual(try store.metrics(runID: run.runID, key: "train.loss").map(\.step), [1, 2, 3, 4])
        }
        XCTAssertEqual(try store.integrityCheck(), "ok")
    }

    func testFourRunnerProcessesExecuteEachOfTwoHundredRunsExactlyOnce() throws {
        let path = storePath()
        let runners = try (0..<4).map { index in
            try GapLabBinary.Launched(
                arguments: ["dev", "fake-sweep", "--store", path, "--experiment", "many", "--plan", "200", "--epochs", "1",
                            "--steps-per-epoch", "1", "--workers", "1", "--lease", "30"],
                logDirectory: directory, name: "runner\(index)")
        }
        for runner in runners {
            let status = runner.wait()
            XCTAssertEqual(status, 0, runner.stderr)
            XCTAssertFalse(runner.stderr.contains("locked"), runner.stderr)
            XCTAssertFalse(runner.stdout.contains("locked"), runner.stdout)
        }
        let store = try SQLiteStorage(path: path, create: false)
        let runs = try store.runs(experiment: "many", status: nil)
        XCTAssertEqual(runs.count, 200)
        for run in runs {
            XCTAssertEqual(run.status, .completed, run.runID)
            XCTAssertEqual(run.attempts, 1, run.runID)
            XCTAssertEqual(try executions(store, run.runID).count, 1, "\(run.runID) executed once")
            XCTAssertEqual(try store.metrics(runID: run.runID, key: "train.loss").map(\.step), [1])
        }
        // The runners really ran side by side (all four normally; a heavily loaded machine may start one late).
        XCTAssertGreaterThanOrEqual(Set(runs.compactMap(\.worker)).count, 2, "\(Set(runs.compactMap(\.worker)))")
        XCTAssertEqual(try store.integrityCheck(), "ok")
    }

    func testRunnerKilledWithSIGKILLIsTakenOverAndResumedToTheSameNumbers() throws {
        let path = storePath()
        let sweep = ["dev", "fake-sweep", "--store", path, "--experiment", "kill", "--plan", "3", "--epochs", "4",
                     "--steps-per-epoch", "4", "--workers", "1", "--lease", "2"]
        let store = try SQLiteStorage(path: path)
        let victim = try GapLabBinary.Launched(arguments: sweep, environment: ["GAPLAB_FAKE_STEP_SLEEP": "0.15"],
                                               logDirectory: directory, name: "victim")
        // Kill the runner once its first run is past its first checkpoint (step 4) but not finished (step 16).
        try waitUntil("the first run reaches step 6") {
            (try store.metrics(runID: "kill-00000", key: "train.loss").last?.step ?? 0) >= 6
        }
        kill(victim.pid, SIGKILL)
        victim.wait()
        XCTAssertEqual(victim.process.terminationReason, .uncaughtSignal)
        let interrupted = try XCTUnwrap(try store.run(id: "kill-00000"))
        XCTAssertEqual(interrupted.status, .running, "nobody recorded the end: only the lease can tell")
        // The orphaned trainer notices its runner is gone and stops instead of finishing on its own.
        let orphan = try XCTUnwrap(try executions(store, "kill-00000").first?.split(separator: " ").first?
            .split(separator: "=").last.flatMap { pid_t($0) })
        try waitUntil("the orphaned trainer exits") { kill(orphan, 0) != 0 }
        XCTAssertLessThan(try store.metrics(runID: "kill-00000", key: "train.loss").last?.step ?? 0, 16)

        let rescuer = try GapLabBinary.Launched(arguments: sweep, logDirectory: directory, name: "rescuer")
        XCTAssertEqual(rescuer.wait(), 0, rescuer.stderr)

        XCTAssertEqual(try store.statusCounts(experiment: "kill"), [.completed: 3])
        let resumed = try XCTUnwrap(try store.run(id: "kill-00000"))
        XCTAssertEqual(resumed.attempts, 2)
        XCTAssertEqual(try store.attempts(runID: "kill-00000").map(\.status), [.stale, .completed])
        let starts = try executions(store, "kill-00000")
        XCTAssertEqual(starts.count, 2)
        XCTAssertTrue(starts[1].hasSuffix("start_step=4") || starts[1].hasSuffix("start_step=8") || starts[1].hasSuffix("start_step=12"),
                      "the second execution resumed from a checkpoint: \(starts)")
        for runID in ["kill-00001", "kill-00002"] {
            XCTAssertEqual(try store.run(id: runID)?.attempts, 1)
            XCTAssertEqual(try executions(store, runID).count, 1)
        }
        XCTAssertEqual(try store.integrityCheck(), "ok")

        // The same sweep uninterrupted, on a fresh store: identical metrics, step for step.
        let reference = try GapLabBinary.Launched(arguments: ["dev", "fake-sweep", "--store", storePath("reference")] + sweep.dropFirst(4),
                                                  logDirectory: directory, name: "reference")
        XCTAssertEqual(reference.wait(), 0, reference.stderr)
        let referenceStore = try SQLiteStorage(path: storePath("reference"), create: false)
        for runID in ["kill-00000", "kill-00001", "kill-00002"] {
            let points = try store.metrics(runID: runID, key: nil)
            let expected = try referenceStore.metrics(runID: runID, key: nil)
            XCTAssertEqual(points.map(\.key), expected.map(\.key), runID)
            XCTAssertEqual(points.map(\.step), expected.map(\.step), runID)
            XCTAssertEqual(points.map(\.value), expected.map(\.value), runID)
            XCTAssertEqual(Set(points.map { "\($0.key)#\($0.step)" }).count, points.count, "no duplicated step")
            XCTAssertEqual(try store.metrics(runID: runID, key: "train.loss").map(\.step), Array(1...16))
            XCTAssertEqual(try store.summaries(runIDs: [runID])[runID], try referenceStore.summaries(runIDs: [runID])[runID])
        }
    }

    func testSIGTERMRecordsTheRunInProgressAsKilledAndKeepsItsMetrics() throws {
        let path = storePath()
        let sweep = ["dev", "fake-sweep", "--store", path, "--experiment", "term", "--plan", "2", "--epochs", "2",
                     "--steps-per-epoch", "5", "--workers", "1", "--lease", "30"]
        let store = try SQLiteStorage(path: path)
        let runner = try GapLabBinary.Launched(arguments: sweep, environment: ["GAPLAB_FAKE_STEP_SLEEP": "0.1"],
                                               logDirectory: directory, name: "term")
        try waitUntil("the first run logs a step") {
            !(try store.metrics(runID: "term-00000", key: "train.loss").isEmpty)
        }
        kill(runner.pid, SIGTERM)
        XCTAssertEqual(runner.wait(), 128 + SIGTERM, runner.stdout + runner.stderr)

        let killed = try XCTUnwrap(try store.run(id: "term-00000"))
        XCTAssertEqual(killed.status, .killed)
        XCTAssertTrue(killed.errorTail?.contains("SIGTERM") == true, killed.errorTail ?? "")
        let logged = try store.metrics(runID: "term-00000", key: "train.loss").count
        XCTAssertGreaterThan(logged, 0)
        XCTAssertEqual(try store.run(id: "term-00001")?.status, .pending, "no new run starts once stopping")
        XCTAssertTrue(runner.stdout.contains("received SIGTERM"), runner.stdout)

        // A killed run is resumed on request and ends like any other.
        let retry = try GapLabBinary.Launched(arguments: sweep + ["--retry-failed"], logDirectory: directory, name: "retry")
        XCTAssertEqual(retry.wait(), 0, retry.stderr)
        XCTAssertEqual(try store.statusCounts(experiment: "term"), [.completed: 2])
        XCTAssertEqual(try store.metrics(runID: "term-00000", key: "train.loss").map(\.step), Array(1...10))
        XCTAssertEqual(try store.integrityCheck(), "ok")
    }
}
