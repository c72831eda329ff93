import Foundation
import GapSpec
import GapStore
import GapStorePostgres
import GapTestSupport
import XCTest

/// `StoreCopy` between real stores: SQLite files in a temporary folder and databases on the tests' PostgreSQL
/// server (scripts/postgres-server).
final class StoreCopyTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-copy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    private func sqlite(_ name: String, artifacts: URL? = nil) throws -> SQLiteStorage {
        try SQLiteStorage(location: StoreLocation(databaseURL: directory.appendingPathComponent("\(name)/gaplab.sqlite"),
                                                  artifactsRoot: artifacts))
    }

    private func postgres() throws -> PostgresStorage {
        try PostgresStorage(locator: try PostgresTestServer.freshDatabase(), artifacts: directory.appendingPathComponent("pg-artifacts"))
    }

    /// Claims the next run and ends it as `status`, with metrics, environment and two files (one recorded as an artifact).
    @discardableResult
    private func execute(_ store: Storage, as status: RunStatus, loss: Double = 1, note: String = "source") throws -> String {
        let claim = try XCTUnwrap(try store.claimNextRun(experiment: nil, worker: "laptop:\(note)", leaseSeconds: 60, codeVersion: "code-\(note)"))
        let id = claim.runID
        try store.setEnvironment(runID: id, attempt: claim.attempt, ["host": note, "git_commit": "abc"])
        try store.logMetrics(runID: id, (1...4).map { MetricPoint(key: "train.loss", step: $0, value: loss / Double($0), epoch: Double($0) / 2) })
        try store.logMetrics(runID: id, [MetricPoint(key: "val.recall_at_1", step: 4, value: 0.5, epoch: nil),
                                         MetricPoint(key: "diverged", step: 1, value: .nan)])
        try store.logParams(runID: id, ["measured.flops": .double(1.5e9)])
        let folder = store.artifactDirectory(runID: id)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("ckpt"), withIntermediateDirectories: true)
        let checkpoint = folder.appendingPathComponent("ckpt/last.json")
        try Data("{\"run\":\"\(id)\",\"by\":\"\(note)\"}".utf8).write(to: checkpoint)
        try Data("log of \(id) by \(note)\n".utf8).write(to: folder.appendingPathComponent("run.log"))
        try store.addArtifact(runID: id, name: "checkpoint", file: checkpoint)
        try store.finishRun(runID: id, worker: claim.worker, attempt: claim.attempt,
                            outcome: RunOutcome(status: status, exitStatus: status == .completed ? 0 : 1,
                                                errorTail: status == .completed ? nil : "failed by \(note)"))
        return id
    }

    /// Two experiments sharing a run, runs completed, failed, killed and pending, one run with two attempts.
    private func makeSource() throws -> SQLiteStorage {
        let store = try sqlite("source")
        try store.addExperiment(ExperimentRecord(name: "sharing", description: "depth sweep", definitionJSON: "{\"name\":\"sharing\"}",
                                                 overrides: ["seeds=2"]))
        try store.planRuns((0..<4).map { StorageConformance.spec($0, experiment: "sharing") })
        var shared = StorageConformance.spec(1, experiment: "baseline", variant: "base")
        shared.shortName = "base1"
        try store.planRuns([shared, StorageConformance.spec(5, experiment: "baseline")])
        try execute(store, as: .completed, loss: 2)   // run-0000
        try execute(store, as: .killed)               // run-0001, then retried below
        try execute(store, as: .failed)               // run-0002
        try store.requeueRuns(ids: ["run-0001"], statuses: [.killed])
        XCTAssertEqual(try execute(store, as: .completed, loss: 3), "run-0001")
        return store  // run-0003 and run-0005 stay pending
    }

    private struct Contents: Equatable {
        var experiments: [String: [String]]
        var runs: [String]
        var params: [String: [String: ParamValue]]
        var metrics: [String: [MetricPoint]]
        var attempts: [String: [AttemptRecord]]
        var environment: [String: [EnvironmentEntry]]
        var artifacts: [String: [String]]
    }

    /// What a store holds, in terms every store must agree on (not sequence numbers, not creation times of runs).
    private func contents(_ store: Storage) throws -> Contents {
        var contents = Contents(experiments: [:], runs: [], params: [:], metrics: [:], attempts: [:], environment: [:], artifacts: [:])
        for experiment in try store.experiments() {
            contents.experiments[experiment.name] = try [experiment.description, experiment.definitionJSON, experiment.overrides.joined(separator: " ")]
                + store.runs(experiment: experiment.name, status: nil).map { "\($0.runID) \($0.variant) \($0.shortName)" }
        }
        for run in try store.runs(experiment: nil, status: nil) {
            let id = run.runID
            contents.runs.append([id, run.status.rawValue, String(run.attempts), run.configJSON, run.configHash, String(run.seed),
                                  run.worker ?? "-", "\(run.startedAt?.timeIntervalSince1970 ?? 0)", "\(run.endedAt?.timeIntervalSince1970 ?? 0)",
                                  "\(run.exitStatus ?? -1)", run.errorTail ?? "-", run.codeVersion ?? "-"].joined(separator: "|"))
            contents.params[id] = try store.params(runID: id)
            contents.metrics[id] = try store.metrics(runID: id, key: nil)
            contents.attempts[id] = try store.attempts(runID: id)
            contents.environment[id] = try store.environment(runID: id)
            contents.artifacts[id] = try store.artifacts(runID: id).map { artifact in
                // The file is there, with the recorded size and digest.
                let file = store.artifactDirectory(runID: id).appendingPathComponent(artifact.path)
                let actual = try ArtifactFolders(root: store.artifactsRoot).record(runID: id, name: artifact.name, file: file,
                                                                                   createdAt: artifact.createdAt)
                XCTAssertEqual(actual, artifact, "\(id): \(artifact.name)")
                return "\(artifact.name) \(artifact.path) \(artifact.size) \(artifact.sha256)"
            }
        }
        return contents
    }

    func testRoundTripSQLiteToPostgresToSQLiteGivesTheSameRunsParamsMetricsAndArtifacts() throws {
        let source = try makeSource()
        let lab = try postgres()
        let toLab = try StoreCopy.copy(from: source, to: lab)
        XCTAssertEqual(toLab.inserted, ["run-0000", "run-0001", "run-0002", "run-0003", "run-0005"])
        XCTAssertEqual(Set(toLab.experimentsCreated), ["sharing", "baseline"])
        XCTAssertEqual(toLab.metricRows, 18)
        XCTAssertEqual(toLab.artifactFiles, 6, "each executed run's checkpoint and log")
        XCTAssertFalse(toLab.sharedArtifactsFolder)
        let laptop = try sqlite("back")
        let back = try StoreCopy.copy(from: lab, to: laptop)
        XCTAssertEqual(back.inserted, toLab.inserted)
        XCTAssertEqual(back.artifactFiles, 6)

        let expected = try contents(source)
        XCTAssertEqual(try contents(lab), expected)
        XCTAssertEqual(try contents(laptop), expected)
        XCTAssertEqual(expected.experiments["baseline"], ["", "", "", "run-0001 base base1", "run-0005 v1 short5"])
        XCTAssertEqual(expected.attempts["run-0001"]?.map(\.status), [.killed, .completed])
        XCTAssertEqual(try laptop.runs(experiment: nil, status: nil).map(\.sequence), [0, 1, 2, 3, 4])
        XCTAssertEqual(try laptop.run(id: "run-0000")?.createdAt, try source.run(id: "run-0000")?.createdAt)
        XCTAssertEqual(try String(contentsOf: laptop.artifactDirectory(runID: "run-0002").appendingPathComponent("run.log"), encoding: .utf8),
                       "log of run-0002 by source\n", "files that are not recorded artifacts travel too")
        XCTAssertEqual(try laptop.integrityCheck(), "ok")
        XCTAssertEqual(try lab.integrityCheck(), "ok")
    }

    func testCopyingTwiceDuplicatesNothing() throws {
        let source = try makeSource()
        let lab = try postgres()
        try StoreCopy.copy(from: source, to: lab)
        let once = try contents(lab)
        let again = try StoreCopy.copy(from: source, to: lab)
        XCTAssertEqual(again.inserted, [])
        XCTAssertEqual(again.replaced, [])
        XCTAssertEqual(again.keptCompleted, [])
        XCTAssertEqual(again.alreadyThere, ["run-0000", "run-0001", "run-0002", "run-0003", "run-0005"])
        XCTAssertEqual(again.metricRows, 0)
        XCTAssertEqual(again.artifactFiles, 0)
        XCTAssertEqual(Set(again.experimentsExisting), ["sharing", "baseline"])
        XCTAssertEqual(try contents(lab), once)
        XCTAssertEqual(try lab.metrics(runID: "run-0000", key: nil).count, 6)
    }

    func testARunCompletedInBothKeepsTheDestinationsAndIsReported() throws {
        let source = try makeSource()
        let destination = try sqlite("destination")
        try destination.planRuns([StorageConformance.spec(0, experiment: "sharing")])
        try execute(destination, as: .completed, loss: 100, note: "lab")
        let report = try StoreCopy.copy(from: source, to: destination)
        XCTAssertEqual(report.keptCompleted, ["run-0000"])
        XCTAssertEqual(report.inserted, ["run-0001", "run-0002", "run-0003", "run-0005"])
        XCTAssertEqual(try destination.metrics(runID: "run-0000", key: "train.loss").first?.value, 100)
        XCTAssertEqual(try destination.attempts(runID: "run-0000").map(\.worker), ["laptop:lab"])
        XCTAssertEqual(try String(contentsOf: destination.artifactDirectory(runID: "run-0000").appendingPathComponent("run.log"),
                                  encoding: .utf8), "log of run-0000 by lab\n", "the destination's files stay")
        XCTAssertEqual(try destination.runs(experiment: "sharing", status: nil).map(\.runID),
                       ["run-0000", "run-0001", "run-0002", "run-0003"])
        _ = try contents(destination)
    }

    func testAFailedDestinationRunIsReplacedByTheSourcesCompletedOne() throws {
        let source = try makeSource()
        let destination = try sqlite("destination")
        try destination.planRuns([StorageConformance.spec(0, experiment: "sharing")])
        try execute(destination, as: .failed, loss: 100, note: "lab")
        let stray = destination.artifactDirectory(runID: "run-0000").appendingPathComponent("ckpt/partial.bin")
        try Data("partial".utf8).write(to: stray)
        let report = try StoreCopy.copy(from: source, to: destination)
        XCTAssertEqual(report.replaced, ["run-0000"])
        XCTAssertEqual(report.keptCompleted, [])
        let run = try XCTUnwrap(try destination.run(id: "run-0000"))
        XCTAssertEqual(run.status, .completed)
        XCTAssertEqual(run.sequence, 0, "the run keeps its place")
        XCTAssertEqual(try destination.metrics(runID: "run-0000", key: nil), try source.metrics(runID: "run-0000", key: nil))
        XCTAssertEqual(try destination.attempts(runID: "run-0000"), try source.attempts(runID: "run-0000"))
        XCTAssertEqual(try destination.environment(runID: "run-0000"), try source.environment(runID: "run-0000"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: stray.path), "the failed attempt's files are gone")
        XCTAssertEqual(try contents(destination), try contents(source))
    }

    func testOneExperimentIsCopiedAloneAndAnUnknownOneIsAnError() throws {
        let source = try makeSource()
        let destination = try sqlite("destination")
        XCTAssertThrowsError(try StoreCopy.copy(from: source, to: destination, experiment: "nope")) { error in
            XCTAssertTrue("\(error)".contains("no experiment 'nope'"), "\(error)")
            XCTAssertTrue("\(error)".contains("sharing"), "\(error)")
        }
        let report = try StoreCopy.copy(from: source, to: destination, experiment: "baseline")
        XCTAssertEqual(report.inserted, ["run-0001", "run-0005"])
        XCTAssertEqual(try destination.experiments().map(\.name), ["baseline"])
        let shared = try XCTUnwrap(try destination.run(id: "run-0001"))
        XCTAssertEqual([shared.experiment, shared.variant, shared.shortName], ["baseline", "base", "base1"])
        // Copying the other experiment later adds its membership to the shared run.
        let rest = try StoreCopy.copy(from: source, to: destination, experiment: "sharing")
        XCTAssertEqual(rest.inserted, ["run-0000", "run-0002", "run-0003"])
        XCTAssertEqual(rest.alreadyThere, ["run-0001"])
        XCTAssertEqual(try destination.runs(experiment: "sharing", status: nil).first { $0.runID == "run-0001" }?.variant, "v1")
        XCTAssertEqual(try destination.experiments().first { $0.name == "sharing" }?.description, "depth sweep")
    }

    func testAFileThatNoLongerMatchesItsRecordStopsTheCopy() throws {
        let source = try makeSource()
        try Data("tampered".utf8).write(to: source.artifactDirectory(runID: "run-0000").appendingPathComponent("ckpt/last.json"))
        let destination = try sqlite("destination")
        XCTAssertThrowsError(try StoreCopy.copy(from: source, to: destination)) { error in
            XCTAssertTrue("\(error)".contains("SHA-256"), "\(error)")
        }
        XCTAssertNil(try destination.run(id: "run-0000"), "a run whose files do not check out is not recorded")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: destination.artifactsRoot.path)
        XCTAssertEqual(leftovers, [], "no staging folder is left behind")
    }

    func testStoresSharingAnArtifactsFolderCopyNoFile() throws {
        let folder = directory.appendingPathComponent("shared-artifacts")
        let source = try sqlite("source", artifacts: folder)
        try source.planRuns([StorageConformance.spec(0)])
        try execute(source, as: .completed)
        let destination = try sqlite("destination", artifacts: folder)
        let report = try StoreCopy.copy(from: source, to: destination)
        XCTAssertTrue(report.sharedArtifactsFolder)
        XCTAssertEqual(report.inserted, ["run-0000"])
        XCTAssertEqual(report.artifactFiles, 0)
        XCTAssertEqual(try contents(destination), try contents(source))
    }
}
