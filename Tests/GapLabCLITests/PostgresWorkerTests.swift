import Foundation
import GapRunner
import GapStore
import GapStorePostgres
import GapTestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Runner processes on a real PostgreSQL store (scripts/postgres-server): many workers claiming at once, a worker
/// SIGKILLed mid-run, and the server restarting in the middle of a sweep. The runs are `gaplab dev fake-train`
/// children, each opening the store from the URL it is given, as they would on other hosts.
final class PostgresWorkerTests: XCTestCase {
    private var directory: URL!
    private var url: String!
    private var artifacts: String { directory.appendingPathComponent("artifacts").path }

    override func setUpWithError() throws {
        url = try PostgresTestServer.freshDatabase()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-pgworkers-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    private func store() throws -> PostgresStorage {
        try PostgresStorage(locator: url, artifacts: URL(fileURLWithPath: artifacts))
    }

    private func executions(_ store: Storage, _ runID: String) -> [String] {
        let log = store.artifactDirectory(runID: runID).appendingPathComponent("executions.log")
        guard let text = try? String(contentsOf: log, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").map(String.init)
    }

    private func sweep(_ experiment: String, plan: Int, epochs: Int, steps: Int, lease: Int) -> [String] {
        ["dev", "fake-sweep", "--store", url, "--artifacts", artifacts, "--experiment", experiment, "--plan", String(plan),
         "--epochs", String(epochs), "--steps-per-epoch", String(steps), "--workers", "1", "--lease", String(lease)]
    }

    /// Every run's metrics, step by step, with no step missing or twice.
    private func assertCompleteMetrics(_ store: Storage, _ runID: String, steps: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let points = try store.metrics(runID: runID, key: "train.loss")
        XCTAssertEqual(points.map(\.step), Array(1...steps), runID, file: file, line: line)
    }

    func testEightWorkerProcessesExecuteEachOfFourHundredRunsExactlyOnce() throws {
        let workers = try (0..<8).map { index in
            try GapLabBinary.Launched(arguments: sweep("many", plan: 400, epochs: 1, steps: 2, lease: 60),
                                      logDirectory: directory, name: "worker\(index)")
        }
        for worker in workers { XCTAssertEqual(worker.wait(), 0, worker.stderr) }
        let store = try store()
        let runs = try store.runs(experiment: "many", status: nil)
        XCTAssertEqual(runs.count, 400)
        for run in runs {
            XCTAssertEqual(run.status, .completed, run.runID)
            XCTAssertEqual(run.attempts, 1, run.runID)
            XCTAssertEqual(executions(store, run.runID).count, 1, "\(run.runID) executed once")
            try assertCompleteMetrics(store, run.runID, steps: 2)
        }
        XCTAssertGreaterThanOrEqual(Set(runs.compactMap(\.worker)).count, 2, "\(Set(runs.compactMap(\.worker)))")
        XCTAssertEqual(try store.integrityCheck(), "ok")
    }

    func testAWorkerKilledWithSIGKILLIsTakenOverAfterItsLeaseAndResumed() throws {
        let store = try store()
        let arguments = sweep("kill", plan: 3, epochs: 4, steps: 4, lease: 2)
        let victim = try GapLabBinary.Launched(arguments: arguments, environment: ["GAPLAB_FAKE_STEP_SLEEP": "0.15"],
                                               logDirectory: directory, name: "victim")
        try waitUntil("the first run is past its first checkpoint") {
            (try store.metrics(runID: "kill-00000", key: "train.loss").last?.step ?? 0) >= 6
        }
        kill(victim.pid, SIGKILL)
        victim.wait()
        XCTAssertEqual(try store.run(id: "kill-00000")?.status, .running, "nobody recorded the end: only the lease can tell")
        let orphan = try XCTUnwrap(executions(store, "kill-00000").first?.split(separator: " ").first?
            .split(separator: "=").last.flatMap { pid_t($0) })
        try waitUntil("the orphaned trainer exits") { kill(orphan, 0) != 0 }

        let rescuer = try GapLabBinary.Launched(arguments: arguments, logDirectory: directory, name: "rescuer")
        XCTAssertEqual(rescuer.wait(), 0, rescuer.stderr)
        XCTAssertEqual(try store.statusCounts(experiment: "kill"), [.completed: 3])
        XCTAssertEqual(try store.attempts(runID: "kill-00000").map(\.status), [.stale, .completed])
        let starts = executions(store, "kill-00000")
        XCTAssertEqual(starts.count, 2)
        XCTAssertFalse(starts[1].hasSuffix("start_step=0"), "the second execution resumed from a checkpoint: \(starts)")
        for runID in ["kill-00000", "kill-00001", "kill-00002"] { try assertCompleteMetrics(store, runID, steps: 16) }
        XCTAssertEqual(try store.integrityCheck(), "ok")
    }

    func testASweepCompletesWhenTheServerRestartsInTheMiddle() throws {
        let store = try store()
        let arguments = sweep("restart", plan: 6, epochs: 2, steps: 5, lease: 60)
        let workers = try (0..<2).map { index in
            try GapLabBinary.Launched(arguments: arguments, environment: ["GAPLAB_FAKE_STEP_SLEEP": "0.1"],
                                      logDirectory: directory, name: "worker\(index)")
        }
        try waitUntil("two runs are under way") { (try store.statusCounts(experiment: "restart")[.running] ?? 0) >= 1 }
        try PostgresTestServer.restart(downFor: 2)
        for worker in workers { XCTAssertEqual(worker.wait(), 0, worker.stdout + worker.stderr) }
        XCTAssertEqual(try store.statusCounts(experiment: "restart"), [.completed: 6])
        for run in try store.runs(experiment: "restart", status: nil) {
            XCTAssertEqual(executions(store, run.runID).count, 1, "\(run.runID) executed once")
            try assertCompleteMetrics(store, run.runID, steps: 10)
        }
        XCTAssertEqual(try store.integrityCheck(), "ok")
    }

    /// The server trusts loopback, so any password is accepted; it must not reach the store, the logs or the output.
    func testAPasswordInTheURLIsNeverRecorded() throws {
        let withPassword = url.replacingOccurrences(of: "postgresql://postgres@", with: "postgresql://postgres:s3cr3t-pw@")
        var arguments = sweep("secret", plan: 2, epochs: 1, steps: 2, lease: 60)
        arguments[arguments.firstIndex(of: url)!] = withPassword
        let worker = try GapLabBinary.Launched(arguments: arguments, logDirectory: directory, name: "secret")
        XCTAssertEqual(worker.wait(), 0, worker.stderr)
        XCTAssertFalse((worker.stdout + worker.stderr).contains("s3cr3t-pw"))
        let store = try store()
        XCTAssertEqual(try store.statusCounts(experiment: "secret"), [.completed: 2])
        for run in try store.runs(experiment: "secret", status: nil) {
            let environment = try store.environment(runID: run.runID)
            XCTAssertTrue(environment.contains { $0.key == "command_line" && $0.value.contains("postgresql://postgres@") })
            XCTAssertFalse(environment.contains { $0.value.contains("s3cr3t-pw") }, "\(environment)")
            let files = FileManager.default.enumerator(at: store.artifactDirectory(runID: run.runID), includingPropertiesForKeys: nil)!
            for case let file as URL in files where !file.hasDirectoryPath {
                XCTAssertFalse((try? String(contentsOf: file, encoding: .utf8))?.contains("s3cr3t-pw") == true, file.path)
            }
        }
    }
}
