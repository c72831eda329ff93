import Foundation
import GapTestSupport
import GapRunner
import GapStore
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The runner in this process with shell children: stopping, escalation to SIGKILL, and losing a lease.
final class RunnerControlTests: XCTestCase {
    private var directory: URL!
    private var store: SQLiteStorage!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-control-\(UUID().uuidString)")
        store = try SQLiteStorage(path: directory.appendingPathComponent("gaplab.sqlite").path)
        try store.planRuns(FakeRuns.specs(experiment: "ctl", count: 2, epochs: 1, stepsPerEpoch: 1))
    }

    override func tearDownWithError() throws {
        store = nil
        try? FileManager.default.removeItem(at: directory)
    }

    /// A child that ignores SIGINT and SIGTERM, marks itself started in its artifact folder and then sleeps.
    private let stubbornChild = Executor(executable: URL(fileURLWithPath: "/bin/sh"),
                                         arguments: ["-c", "trap '' INT TERM; touch \"$GAPLAB_ARTIFACTS/started\"; echo going >&2; sleep 60"])

    private func startedMarker(_ runID: String) -> String {
        store.artifactDirectory(runID: runID).appendingPathComponent("started").path
    }

    func testStopForwardsTheSignalThenKillsAChildThatIgnoresIt() throws {
        let runner = Runner(storage: store, executor: stubbornChild, workers: 1, leaseSeconds: 30, progress: .silent)
        runner.killGracePeriod = 0.5
        let sweep = BackgroundSweep(runner)
        try waitUntil("the first child is running") { FileManager.default.fileExists(atPath: self.startedMarker("ctl-00000")) }
        runner.stop(signal: SIGINT)
        let (counts, failure) = sweep.wait()
        XCTAssertNil(failure)
        XCTAssertEqual(counts?.stoppedBySignal, SIGINT)
        XCTAssertEqual(counts?.killed, 1)
        let run = try XCTUnwrap(try store.run(id: "ctl-00000"))
        XCTAssertEqual(run.status, .killed)
        XCTAssertEqual(run.exitStatus, 128 + Int(SIGKILL), "SIGINT was ignored, so the grace period ended in SIGKILL")
        let tail = try XCTUnwrap(run.errorTail)
        XCTAssertTrue(tail.contains("runner received SIGINT"), tail)
        XCTAssertTrue(tail.hasSuffix("going"), tail)
        XCTAssertEqual(try store.run(id: "ctl-00001")?.status, .pending)
        XCTAssertEqual(try store.runs(experiment: "ctl", status: .running), [])
    }

    func testAnExecutableThatCannotStartFailsEachRunWithTheReason() throws {
        let missing = Executor(executable: directory.appendingPathComponent("no-such-trainer"), arguments: ["{run}"])
        let runner = Runner(storage: store, executor: missing, workers: 1, leaseSeconds: 30, progress: .silent)
        let counts = try runner.runUntilDone(experiment: "ctl", trapSignals: false)
        XCTAssertEqual(counts.failed, 2)
        XCTAssertEqual(counts.store, [.failed: 2])
        for run in try store.runs(experiment: "ctl", status: nil) {
            XCTAssertTrue(run.errorTail?.contains("cannot start") == true, run.errorTail ?? "")
            XCTAssertTrue(run.errorTail?.contains("No such file or directory") == true, run.errorTail ?? "")
        }
    }

    func testAWorkerThatLosesItsLeaseStopsItsChildAndRecordsNothing() throws {
        let runner = Runner(storage: store, executor: stubbornChild, workers: 1, leaseSeconds: 0.4, progress: .silent)
        let sweep = BackgroundSweep(runner)
        try waitUntil("the first child is running") { FileManager.default.fileExists(atPath: self.startedMarker("ctl-00000")) }
        // Someone else settles the run (as a worker that took it over would): the runner's next heartbeat fails.
        let claimed = try XCTUnwrap(try store.run(id: "ctl-00000"))
        try store.finishRun(runID: "ctl-00000", worker: try XCTUnwrap(claimed.worker), attempt: claimed.attempts,
                            outcome: RunOutcome(status: .completed, exitStatus: 0, errorTail: "settled elsewhere"))
        try waitUntil("the second child is running") { FileManager.default.fileExists(atPath: self.startedMarker("ctl-00001")) }
        try store.finishRun(runID: "ctl-00001", worker: runner.workerName, attempt: 1,
                            outcome: RunOutcome(status: .completed, exitStatus: 0, errorTail: "settled elsewhere"))
        let (counts, failure) = sweep.wait()
        XCTAssertNil(failure)
        XCTAssertEqual(counts?.leasesLost, 2)
        XCTAssertEqual(counts?.completed, 0)
        XCTAssertEqual(counts?.store, [.completed: 2])
        for runID in ["ctl-00000", "ctl-00001"] {
            XCTAssertEqual(try store.run(id: runID)?.errorTail, "settled elsewhere", "the losing worker wrote no outcome")
        }
    }
}

/// `runUntilDone` on a thread of its own, so the test can act while the sweep runs.
private final class BackgroundSweep: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var counts: RunnerCounts?
    private var failure: Error?

    init(_ runner: Runner) {
        Thread { [self] in
            do { counts = try runner.runUntilDone(experiment: "ctl", trapSignals: false) } catch { failure = error }
            done.signal()
        }.start()
    }

    func wait() -> (RunnerCounts?, Error?) {
        done.wait()
        return (counts, failure)
    }
}
