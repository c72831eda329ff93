import Foundation
import GapStore
import GapSpec
import XCTest

/// Runs the storage conformance checks against the SQLite store (a real file in a temporary folder),
/// plus what is specific to SQLite.
final class SQLiteStorageTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private var location: StoreLocation { StoreLocation(databaseURL: directory.appendingPathComponent("gaplab.sqlite")) }

    private func open() throws -> Storage { try SQLiteStorage(location: location) }

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

    func testOpeningAMissingStoreForReadingFails() throws {
        let missing = StoreLocation(databaseURL: directory.appendingPathComponent("nope/gaplab.sqlite"))
        XCTAssertThrowsError(try SQLiteStorage(location: missing, create: false)) { error in
            XCTAssertEqual(error as? StoreError, .storeNotFound(path: missing.databaseURL.path))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing.databaseURL.path))
    }

    func testStoreUsesWALAndPersistsAcrossConnections() throws {
        do {
            let store = try SQLiteStorage(location: location)
            try store.planRuns([StorageConformance.spec(0)])
        }
        let reopened = try SQLiteStorage(location: location, create: false)
        XCTAssertEqual(try reopened.run(id: "run-0000")?.status, .pending)
        XCTAssertEqual(try reopened.integrityCheck(), "ok")
        XCTAssertTrue(FileManager.default.fileExists(atPath: location.databaseURL.path + "-wal"))
        XCTAssertEqual(reopened.artifactDirectory(runID: "r1").path, directory.appendingPathComponent("artifacts/r1").path)
        XCTAssertEqual(reopened.locator, location.databaseURL.path)
    }

    func testManyConnectionsOpeningANewStoreAtOnceAllSucceed() throws {
        let errors = LockedList<Error>()
        let group = DispatchGroup()
        for _ in 0..<6 {
            group.enter()
            Thread {
                defer { group.leave() }
                do { _ = try SQLiteStorage(location: self.location).statusCounts(experiment: nil) } catch {
                    errors.append(error)
                }
            }.start()
        }
        group.wait()
        XCTAssertTrue(errors.items.isEmpty, "\(errors.items)")
    }
}

/// The same conformance checks through `MeasuredStorage` (which must behave exactly like what it wraps),
/// plus its time accounting.
final class MeasuredStorageTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-measured-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func open() throws -> Storage {
        MeasuredStorage(try SQLiteStorage(location: StoreLocation(databaseURL: directory.appendingPathComponent("gaplab.sqlite"))))
    }

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

    func testTimeSpentInTheStoreIsCounted() throws {
        let store = try XCTUnwrap(try open() as? MeasuredStorage)
        XCTAssertEqual(store.spent.calls, 0)
        try store.planRuns([StorageConformance.spec(0)])
        try store.logMetrics(runID: "run-0000", [MetricPoint(key: "loss", step: 0, value: 1)])
        _ = try store.metrics(runID: "run-0000", key: nil)
        XCTAssertEqual(store.spent.calls, 3)
        XCTAssertGreaterThan(store.spent.seconds, 0)
    }
}
