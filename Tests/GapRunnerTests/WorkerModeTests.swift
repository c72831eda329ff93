import Foundation
import GapRunner
import GapStore
import GapTestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The runner as `gaplab worker` drives it (a run limit, an idle wait that ignores runs held elsewhere), and the
/// requeueing of the runs a stopped worker recorded as killed.
final class WorkerModeTests: XCTestCase {
    private var directory: URL!
    private var store: SQLiteStorage!
    private let quickChild = Executor(executable: URL(fileURLWithPath: "/bin/sh"), arguments: ["-c", "exit 0"])

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-worker-\(UUID().uuidString)")
        store = try SQLiteStorage(path: directory.appendingPathComponent("gaplab.sqlite").path)
        try store.planRuns(FakeRuns.specs(experiment: "wk", count: 3, epochs: 1, stepsPerEpoch: 1))
    }

    override func tearDownWithError() throws {
        store = nil
        try? FileManager.default.removeItem(at: directory)
    }

    func testMaxRunsStopsAfterThatManyClaims() throws {
        let runner = Runner(storage: store, executor: quickChild, workers: 2, leaseSeconds: 30, progress: .silent)
        runner.maxRuns = 2
        let counts = try runner.runUntilDone(experiment: "wk", trapSignals: false)
        XCTAssertEqual(counts.completed, 2)
        XCTAssertEqual(counts.store, [.completed: 2, .pending: 1])
    }

    func testAWorkerDoesNotWaitForRunsHeldElsewhere() throws {
        // Another worker holds a run on a long lease: `gaplab run` would wait for it, a worker leaves.
        let held = try XCTUnwrap(try store.claimNextRun(experiment: "wk", worker: "elsewhere:1", leaseSeconds: 3600, codeVersion: "x"))
        let runner = Runner(storage: store, executor: quickChild, workers: 1, leaseSeconds: 30, progress: .silent)
        runner.idleExit = 0
        let counts = try runner.runUntilDone(experiment: "wk", trapSignals: false)
        XCTAssertEqual(counts.completed, 2)
        XCTAssertEqual(try store.run(id: held.runID)?.status, .running)
    }

    func testAnIdleWorkerTakesUpRunsPlannedWhileItWaits() throws {
        try store.planRuns(FakeRuns.specs(experiment: "later", count: 1, epochs: 1, stepsPerEpoch: 1))
        let runner = Runner(storage: store, executor: quickChild, workers: 1, leaseSeconds: 2, progress: .silent)
        runner.idleExit = 600
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var counts: RunnerCounts?
        Thread {
            counts = try? runner.runUntilDone(experiment: "wk", trapSignals: false)
            done.signal()
        }.start()
        try waitUntil("the first runs completed") { try self.store.statusCounts(experiment: "wk")[.completed, default: 0] == 3 }
        try store.planRuns(FakeRuns.specs(experiment: "wk", count: 4, epochs: 1, stepsPerEpoch: 1))
        try waitUntil("the run planned later completed") { try self.store.run(id: "wk-00003")?.status == .completed }
        runner.stop()
        XCTAssertEqual(done.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(counts?.completed, 4)
        XCTAssertEqual(try store.run(id: "later-00000")?.status, .pending, "only its experiment's runs")
    }

    /// Claims the run as `worker` and records the attempt as killed.
    private func kill(_ runID: String, worker: String) throws {
        let claim = try XCTUnwrap(try store.claimNextRun(experiment: "wk", worker: worker, leaseSeconds: 30, codeVersion: "x"))
        XCTAssertEqual(claim.runID, runID)
        try store.finishRun(runID: runID, worker: worker, attempt: claim.attempt,
                            outcome: RunOutcome(status: .killed, exitStatus: 143, errorTail: "terminated by SIGTERM"))
    }

    func testAWorkersKilledRunsGoBackToPendingWithTheirAttemptKept() throws {
        try kill("wk-00000", worker: "task0:1")
        try kill("wk-00001", worker: "user:1")
        XCTAssertEqual(try KilledRunRequeue.requeue(["wk-00000"], in: store), ["wk-00000"])
        XCTAssertEqual(try store.run(id: "wk-00000")?.status, .pending)
        XCTAssertEqual(try store.attempts(runID: "wk-00000").map(\.status), [.killed])
        XCTAssertEqual(try store.run(id: "wk-00001")?.status, .killed, "another session's killed run is never requeued")
        XCTAssertEqual(try KilledRunRequeue.requeue(["wk-00000"], in: store), [], "a run no longer killed is left alone")
        // The next claim resumes the run: attempt 2.
        let next = try XCTUnwrap(try store.claimNextRun(experiment: "wk", worker: "task2:1", leaseSeconds: 30, codeVersion: "x"))
        XCTAssertEqual(next.runID, "wk-00000")
        XCTAssertEqual(next.attempt, 2)
    }
}
