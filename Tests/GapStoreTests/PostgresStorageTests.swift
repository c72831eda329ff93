import Foundation
import GapSpec
import GapStore
import GapStorePostgres
import GapTestSupport
import XCTest

/// The storage conformance checks against a real PostgreSQL server (started by scripts/postgres-server), each
/// test in a database of its own, plus what is specific to PostgreSQL.
final class PostgresStorageTests: XCTestCase {
    private var databaseURL: String!
    private var artifacts: URL!

    override func setUpWithError() throws {
        databaseURL = try PostgresTestServer.freshDatabase()
        artifacts = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-pg-artifacts-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws {
        if let artifacts { try? FileManager.default.removeItem(at: artifacts) }
    }

    private func open() throws -> Storage { try PostgresStorage(locator: databaseURL, artifacts: artifacts) }

    func testPlanningIsIdempotent() throws { try StorageConformance.planningIsIdempotent(open) }
    func testSharedRunsBelongToEveryExperiment() throws { try StorageConformance.sharedRunsBelongToEveryExperimentThatPlannedThem(open) }
    func testParamsKeepTheirTypes() throws { try StorageConformance.paramsKeepTheirTypes(open) }
    func testExperimentsRoundTrip() throws { try StorageConformance.experimentsRoundTrip(open) }
    func testClaimsFollowPlanOrderAndHonourLeases() throws { try StorageConformance.claimsFollowPlanOrderAndHonourLeases(open) }
    func testExpiredLeaseIsTakenOver() throws { try StorageConformance.expiredLeaseIsTakenOver(open) }
    func testReleaseReturnsTheRunUntouched() throws { try StorageConformance.releaseReturnsTheRunUntouched(open) }
    func testMetricsAreIdempotentPerStep() throws { try StorageConformance.metricsAreIdempotentPerStep(open) }
    func testSummariesUseTheMetricDirection() throws { try StorageConformance.summariesUseTheMetricDirection(open) }
    func testRequeueRetriesFailedAndRerunsOtherCode() throws { try StorageConformance.requeueRetriesFailedAndRerunsOtherCode(open) }
    func testRequeueByIDTouchesOnlyTheNamedRuns() throws { try StorageConformance.requeueByIDTouchesOnlyTheNamedRuns(open) }
    func testArtifactsAreHashed() throws { try StorageConformance.artifactsAreHashed(open) }
    func testEnvironmentIsKeptPerAttempt() throws { try StorageConformance.environmentIsKeptPerAttempt(open) }
    func testRunIDPrefixesResolve() throws { try StorageConformance.runIDPrefixesResolve(open) }
    func testDeletionNeverTouchesARunningRun() throws { try StorageConformance.deletionNeverTouchesARunningRun(open) }
    func testConcurrentClaimsNeverShareARun() throws { try StorageConformance.concurrentClaimsNeverShareARun(open) }
    func testImportRunIsIdempotentAndKeepsACompletedDestination() throws {
        try StorageConformance.importRunIsIdempotentAndKeepsACompletedDestination(open)
    }

    func testOpeningADatabaseWithoutAStoreForReadingFails() throws {
        XCTAssertThrowsError(try PostgresStorage(locator: databaseURL, artifacts: artifacts, create: false)) { error in
            XCTAssertTrue("\(error)".contains(databaseURL), "\(error)")
        }
        let store = try open()
        XCTAssertEqual(try store.integrityCheck(), "ok")
        XCTAssertNoThrow(try PostgresStorage(locator: databaseURL, artifacts: nil, create: false))
    }

    func testTheFirstArtifactsFolderIsRecordedAsTheStoresDefault() throws {
        XCTAssertThrowsError(try PostgresStorage(locator: databaseURL, artifacts: nil)) { error in
            XCTAssertTrue("\(error)".contains("--artifacts"), "\(error)")
        }
        _ = try open()
        let reopened = try PostgresStorage(locator: databaseURL, artifacts: nil, create: false)
        XCTAssertEqual(reopened.artifactsRoot.path, artifacts.standardizedFileURL.path)
        XCTAssertEqual(reopened.artifactDirectory(runID: "r1").path, artifacts.appendingPathComponent("r1").standardizedFileURL.path)
        let elsewhere = artifacts.appendingPathComponent("other")
        XCTAssertEqual(try PostgresStorage(locator: databaseURL, artifacts: elsewhere).artifactsRoot.path, elsewhere.path,
                       "an explicit folder wins for this process")
        XCTAssertEqual(try PostgresStorage(locator: databaseURL, artifacts: nil).artifactsRoot.path, artifacts.standardizedFileURL.path,
                       "and the recorded default stays the first one")
    }

    func testManyConnectionsOpeningANewStoreAtOnceAllSucceed() throws {
        let errors = LockedList<Error>()
        let group = DispatchGroup()
        for _ in 0..<6 {
            group.enter()
            Thread {
                defer { group.leave() }
                do { _ = try self.open().statusCounts(experiment: nil) } catch { errors.append(error) }
            }.start()
        }
        group.wait()
        XCTAssertTrue(errors.items.isEmpty, "\(errors.items)")
    }

    func testAnUnreachableServerIsAClearErrorWithoutThePassword() throws {
        let url = "postgresql://someone:s3cret@127.0.0.1:1/nowhere"
        XCTAssertThrowsError(try PostgresStorage(locator: url, artifacts: artifacts)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("postgresql://someone@127.0.0.1:1/nowhere"), text)
            XCTAssertFalse(text.contains("s3cret"), text)
        }
    }

    /// The server stops in the middle of a sweep and comes back: the same connection pool carries on.
    func testTheStoreSurvivesAServerRestart() throws {
        let store = try open()
        try store.planRuns([StorageConformance.spec(0), StorageConformance.spec(1)])
        let first = try XCTUnwrap(try store.claimNextRun(experiment: nil, worker: "w", leaseSeconds: 600, codeVersion: "v"))
        try PostgresTestServer.restart(downFor: 1)
        try store.logMetrics(runID: first.runID, [MetricPoint(key: "loss", step: 1, value: 0.5)])
        try store.heartbeat(runID: first.runID, worker: "w", attempt: first.attempt)
        try store.finishRun(runID: first.runID, worker: "w", attempt: first.attempt, outcome: RunOutcome(status: .completed, exitStatus: 0))
        XCTAssertEqual(try store.claimNextRun(experiment: nil, worker: "w", leaseSeconds: 600, codeVersion: "v")?.runID, "run-0001")
        XCTAssertEqual(try store.metrics(runID: first.runID, key: nil).map(\.value), [0.5])
    }
}

/// What needs no server: reading URLs and password files, and keeping passwords out of what is shown.
final class PostgresURLTests: XCTestCase {
    func testURLsParseAsLibpqReadsThem() throws {
        let url = try PostgresURL(parsing: "postgresql://lab:pa%3Ass@db.example.org:6543/sweeps?sslmode=require")
        XCTAssertEqual(url.user, "lab")
        XCTAssertEqual(url.host, "db.example.org")
        XCTAssertEqual(url.port, 6543)
        XCTAssertEqual(url.database, "sweeps")
        XCTAssertEqual(url.tls, .require)
        XCTAssertEqual(url.password(environment: [:]), "pa:ss")
        XCTAssertEqual(url.locator, "postgresql://lab@db.example.org:6543/sweeps?sslmode=require")
        let defaults = try PostgresURL(parsing: "postgres://lab@localhost")
        XCTAssertEqual(defaults.port, 5432)
        XCTAssertEqual(defaults.database, "lab")
        XCTAssertEqual(defaults.tls, .prefer)
        XCTAssertThrowsError(try PostgresURL(parsing: "postgresql://lab@h/db?sslmode=sometimes")) { error in
            XCTAssertTrue("\(error)".contains("sslmode"), "\(error)")
        }
        XCTAssertThrowsError(try PostgresURL(parsing: "postgresql:///db")) { error in
            XCTAssertTrue("\(error)".contains("no host"), "\(error)")
        }
    }

    func testThePasswordComesFromTheURLThenPGPASSWORDThenThePasswordFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-pgpass-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("pgpass")
        try """
            # comment
            other:5432:*:lab:wrong
            db.example.org:*:sweeps:lab:from\\:file
            """.write(to: file, atomically: true, encoding: .utf8)
        let url = try PostgresURL(parsing: "postgresql://lab@db.example.org/sweeps")
        XCTAssertEqual(url.password(environment: ["PGPASSFILE": file.path]), "from:file")
        XCTAssertEqual(url.password(environment: ["PGPASSFILE": file.path, "PGPASSWORD": "env"]), "env")
        XCTAssertEqual(try PostgresURL(parsing: "postgresql://lab:url@db.example.org/sweeps").password(environment: ["PGPASSWORD": "env"]), "url")
        XCTAssertNil(try PostgresURL(parsing: "postgresql://lab@elsewhere/sweeps").password(environment: ["PGPASSFILE": file.path]))
    }

    func testPasswordsAreRedactedFromCommandLines() {
        XCTAssertEqual(StoreLocation.redactingPasswords("gaplab run x.json --store postgresql://lab:s3cret@db:5432/sweeps --workers 2"),
                       "gaplab run x.json --store postgresql://lab@db:5432/sweeps --workers 2")
        XCTAssertEqual(StoreLocation.redactingPasswords("--store=postgres://u:p@h/d"), "--store=postgres://u@h/d")
        XCTAssertEqual(StoreLocation.redactingPasswords("no url here"), "no url here")
        XCTAssertEqual(StoreLocation.redactingPasswords("postgresql://lab@db/sweeps"), "postgresql://lab@db/sweeps")
    }
}
