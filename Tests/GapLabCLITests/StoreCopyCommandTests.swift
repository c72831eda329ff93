import Foundation
import GapStore
import GapStorePostgres
import GapTestSupport
import XCTest

/// `gaplab store copy` as a person runs it: a sweep made on a laptop's SQLite store copied into a PostgreSQL store
/// (the tests' server, scripts/postgres-server), twice.
final class StoreCopyCommandTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-storecopy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    private func gaplab(_ arguments: [String], name: String) throws -> GapLabBinary.Launched {
        let launched = try GapLabBinary.Launched(arguments: arguments, logDirectory: directory, name: name)
        launched.wait()
        return launched
    }

    func testASQLiteSweepIsCopiedIntoPostgreSQLOnceAndOnlyOnce() throws {
        let url = try PostgresTestServer.freshDatabase()
        let laptop = directory.appendingPathComponent("laptop/gaplab.sqlite").path
        let labArtifacts = directory.appendingPathComponent("lab-artifacts").path
        let sweep = try gaplab(["dev", "fake-sweep", "--store", laptop, "--experiment", "sweep", "--plan", "3", "--epochs", "2",
                                "--steps-per-epoch", "3", "--workers", "1"], name: "sweep")
        XCTAssertEqual(sweep.process.terminationStatus, 0, sweep.stderr)

        let secretURL = url.replacingOccurrences(of: "postgresql://postgres@", with: "postgresql://postgres:not-needed@")
        let copy = try gaplab(["store", "copy", laptop, secretURL, "--dst-artifacts", labArtifacts], name: "copy")
        XCTAssertEqual(copy.process.terminationStatus, 0, copy.stdout + copy.stderr)
        XCTAssertTrue(copy.stdout.contains("runs: 3 inserted, 0 replaced, 0 already there"), copy.stdout)
        XCTAssertFalse((copy.stdout + copy.stderr).contains("not-needed"), "passwords are never printed")

        let source = try SQLiteStorage(path: laptop, create: false)
        let lab = try PostgresStorage(locator: url, artifacts: nil, create: false)
        XCTAssertEqual(lab.artifactsRoot.path, URL(fileURLWithPath: labArtifacts).standardizedFileURL.path, "the folder is recorded")
        let runs = try lab.runs(experiment: "sweep", status: nil)
        XCTAssertEqual(runs.map(\.runID), try source.runs(experiment: "sweep", status: nil).map(\.runID))
        XCTAssertEqual(runs.map(\.status), [.completed, .completed, .completed])
        for run in runs {
            XCTAssertEqual(try metricsByKeyAndStep(lab, run.runID), try metricsByKeyAndStep(source, run.runID), run.runID)
            XCTAssertEqual(try lab.params(runID: run.runID), try source.params(runID: run.runID), run.runID)
            let artifacts = try lab.artifacts(runID: run.runID)
            XCTAssertEqual(artifacts, try source.artifacts(runID: run.runID), run.runID)
            XCTAssertFalse(artifacts.isEmpty, run.runID)
            for artifact in artifacts {
                let file = lab.artifactDirectory(runID: run.runID).appendingPathComponent(artifact.path)
                XCTAssertEqual(try ArtifactFolders(root: lab.artifactsRoot).record(runID: run.runID, name: artifact.name, file: file,
                                                                                   createdAt: artifact.createdAt), artifact)
            }
        }

        let again = try gaplab(["store", "copy", laptop, url, "--experiment", "sweep"], name: "again")
        XCTAssertEqual(again.process.terminationStatus, 0, again.stdout + again.stderr)
        XCTAssertTrue(again.stdout.contains("runs: 0 inserted, 0 replaced, 3 already there"), again.stdout)
        XCTAssertEqual(try lab.runs(experiment: nil, status: nil).count, 3)

        let missing = try gaplab(["store", "copy", directory.appendingPathComponent("nope.sqlite").path, url], name: "missing")
        XCTAssertNotEqual(missing.process.terminationStatus, 0)
        XCTAssertTrue(missing.stderr.contains("no source store at"), missing.stderr)
        let noFolder = try gaplab(["store", "copy", laptop, try PostgresTestServer.freshDatabase()], name: "nofolder")
        XCTAssertNotEqual(noFolder.process.terminationStatus, 0)
        XCTAssertTrue(noFolder.stderr.contains("--dst-artifacts"), noFolder.stderr)
        let unknown = try gaplab(["store", "copy", laptop, url, "--experiment", "nope"], name: "unknown")
        XCTAssertNotEqual(unknown.process.terminationStatus, 0)
        XCTAssertTrue(unknown.stderr.contains("no experiment 'nope'"), unknown.stderr)
    }

    func testHelpExplainsEveryOption() throws {
        let help = try gaplab(["store", "copy", "--help"], name: "help")
        XCTAssertEqual(help.process.terminationStatus, 0, help.stderr)
        for option in ["--experiment", "--src-artifacts", "--dst-artifacts", "<source>", "<destination>"] {
            XCTAssertTrue(help.stdout.contains(option), "\(option) missing from help:\n\(help.stdout)")
        }
    }
}
