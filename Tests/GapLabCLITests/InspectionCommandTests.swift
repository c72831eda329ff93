import Foundation
import GapTestSupport
import GapRunner
import GapStore
import XCTest

/// `gaplab ls / show / compare / metrics / status / rm / gc` run as a user would, on a store filled by a
/// small fake sweep.
final class InspectionCommandTests: XCTestCase {
    private var directory: URL!
    private var storePath: String!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-inspect-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        storePath = directory.appendingPathComponent("store/gaplab.sqlite").path
        let sweep = try GapLabBinary.Launched(arguments: ["dev", "fake-sweep", "--store", storePath, "--experiment", "look",
                                                          "--plan", "4", "--epochs", "2", "--steps-per-epoch", "3"],
                                              logDirectory: directory, name: "sweep")
        XCTAssertEqual(sweep.wait(), 0, sweep.stderr)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func gaplab(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        let launched = try GapLabBinary.Launched(arguments: arguments, environment: environment, logDirectory: directory,
                                                 name: "cmd-\(UUID().uuidString)")
        let status = launched.wait()
        return (status, launched.stdout, launched.stderr)
    }

    private func json(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8))
    }

    func testListFiltersByExpressionAndPrintsEveryFormat() throws {
        let filtered = try gaplab(["ls", "--store", storePath, "--where", "params.variant.index >= 0.5 and metrics.train.loss < 10",
                                   "--columns", "params.variant.index,metrics.val.alignment.best", "--format", "json"])
        XCTAssertEqual(filtered.status, 0, filtered.stderr)
        let rows = try XCTUnwrap(try json(filtered.stdout) as? [[String: Any]])
        XCTAssertEqual(rows.compactMap { $0["run_id"] as? String }, ["look-00002", "look-00003"])
        XCTAssertEqual(rows.first?["params.variant.index"] as? Double, 0.5)
        XCTAssertNotNil(rows.first?["metrics.val.alignment.best"] as? Double)

        let missing = try gaplab(["ls", "--store", storePath, "--where", "params.no.such.key > 0 or variant in ('v1')", "--format", "csv"])
        XCTAssertEqual(missing.status, 0, missing.stderr)
        XCTAssertEqual(missing.stdout.split(separator: "\n").count, 2, missing.stdout)
        XCTAssertTrue(missing.stdout.contains("look-00001,look,v1,1,completed,1,"), missing.stdout)

        // The store can also come from the environment.
        let table = try gaplab(["ls", "--status", "completed"], environment: ["GAPLAB_STORE": storePath])
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertEqual(table.stdout.split(separator: "\n").count, 5)
        XCTAssertTrue(table.stdout.hasPrefix("run_id"))

        let experiments = try gaplab(["ls", "--store", storePath, "--experiments", "--format", "csv"])
        XCTAssertTrue(experiments.stdout.contains("look,,4,4,0,0,0,"), experiments.stdout)

        let bad = try gaplab(["ls", "--store", storePath, "--where", "params.a >"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("invalid --where expression"), bad.stderr)
        let noStore = try gaplab(["ls", "--store", directory.appendingPathComponent("none/gaplab.sqlite").path])
        XCTAssertNotEqual(noStore.status, 0)
        XCTAssertTrue(noStore.stderr.contains("no store at"), noStore.stderr)
    }

    func testShowCompareMetricsAndStatus() throws {
        let show = try gaplab(["show", "--store", storePath, "look-00002", "--format", "json"])
        XCTAssertEqual(show.status, 0, show.stderr)
        let run = try XCTUnwrap(try json(show.stdout) as? [String: Any])
        XCTAssertEqual(run["status"] as? String, "completed")
        let metrics = try XCTUnwrap(run["metrics"] as? [String: [String: Any]])
        XCTAssertEqual(metrics["train.loss"]?["final_step"] as? Int, 6)
        XCTAssertEqual(metrics["train.loss"]?["direction"] as? String, "min")
        XCTAssertEqual((run["params"] as? [String: Any])?["train.epochs"] as? Int, 2)
        let human = try gaplab(["show", "--store", storePath, "look-00002"])
        XCTAssertTrue(human.stdout.contains("status      completed, attempt 1"), human.stdout)
        let ambiguous = try gaplab(["show", "--store", storePath, "look-0000"])
        XCTAssertNotEqual(ambiguous.status, 0)
        XCTAssertTrue(ambiguous.stderr.contains("matches 4 runs"), ambiguous.stderr)

        let compare = try gaplab(["compare", "--store", storePath, "look-00000", "look-00001", "--format", "json"])
        XCTAssertEqual(compare.status, 0, compare.stderr)
        let diff = try XCTUnwrap(try json(compare.stdout) as? [String: Any])
        let params = try XCTUnwrap(diff["params"] as? [[String: Any]])
        XCTAssertEqual(Set(params.compactMap { $0["param"] as? String }), ["seed", "variant.index"])
        XCTAssertEqual((diff["metrics"] as? [[String: Any]])?.count, 2)

        let points = try gaplab(["metrics", "--store", storePath, "look-00003", "--key", "train.loss"])
        XCTAssertEqual(points.status, 0, points.stderr)
        let lines = points.stdout.split(separator: "\n")
        XCTAssertEqual(lines.first, "key,step,epoch,value,wall_time")
        XCTAssertEqual(lines.dropFirst().map { $0.split(separator: ",")[1] }, ["1", "2", "3", "4", "5", "6"])

        let status = try gaplab(["status", "--store", storePath, "look", "--format", "json"])
        let counts = try XCTUnwrap((try json(status.stdout) as? [String: Any])?["counts"] as? [[String: Any]])
        XCTAssertEqual(counts.first { $0["status"] as? String == "completed" }?["runs"] as? Int, 4)
    }

    func testRemoveRefusesARunningRunAndGarbageCollectionKeepsKnownRuns() throws {
        let store = try SQLiteStorage(path: storePath, create: false)
        try store.planRuns(FakeRuns.specs(experiment: "busy", count: 1, epochs: 1, stepsPerEpoch: 1))
        _ = try XCTUnwrap(try store.claimNextRun(experiment: "busy", worker: "elsewhere:1", leaseSeconds: 600, codeVersion: "c"))

        let refused = try gaplab(["rm", "--store", storePath, "busy-00000", "look-00000"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("busy-00000 is running"), refused.stderr)
        XCTAssertTrue(refused.stdout.contains("deleted look-00000"), refused.stdout)
        XCTAssertEqual(try store.run(id: "busy-00000")?.status, .running)
        XCTAssertNil(try store.run(id: "look-00000"))

        let orphan = store.artifactDirectory(runID: "orphan")
        try FileManager.default.createDirectory(at: orphan, withIntermediateDirectories: true)
        let gc = try gaplab(["gc", "--store", storePath])
        XCTAssertEqual(gc.status, 0, gc.stderr)
        XCTAssertTrue(gc.stdout.contains("1 orphaned artifact folder removed"), gc.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: orphan.path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: store.artifactDirectory(runID: "look-00001").path))

        let status = try gaplab(["status", "--store", storePath, "busy"])
        XCTAssertTrue(status.stdout.contains("elsewhere:1"), status.stdout)
    }
}
