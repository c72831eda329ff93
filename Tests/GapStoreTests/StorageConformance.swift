import Foundation
import GapStore
import GapSpec
import XCTest

/// The behaviour every `Storage` implementation must have. Each check takes `open`, which returns a new
/// connection to one and the same fresh store each time it is called (so concurrency across connections
/// can be checked too). A new implementation gets its own test class that calls every check.
enum StorageConformance {
    typealias Open = () throws -> Storage

    static func spec(_ index: Int, experiment: String = "exp", variant: String? = nil,
                     params: [String: ParamValue]? = nil) -> RunSpec {
        RunSpec(runID: String(format: "run-%04d", index), experiment: experiment, variant: variant ?? "v\(index % 2)",
                shortName: "short\(index)", seed: index, configHash: String(format: "hash%04d", index),
                configJSON: "{\"seed\":\(index)}",
                params: params ?? ["seed": .int(index), "loss.beta": .double(Double(index) / 10),
                                   "model.kind": .string(index % 2 == 0 ? "clip" : "shared"), "train.augment": .bool(index % 2 == 0)])
    }

    static func planningIsIdempotent(_ open: @escaping Open) throws {
        let store = try open()
        let first = try store.planRuns([spec(0), spec(1), spec(2)])
        XCTAssertEqual(first.inserted, ["run-0000", "run-0001", "run-0002"])
        XCTAssertEqual(first.existing, [])
        var changed = spec(1)
        changed.configJSON = "{\"changed\":true}"
        changed.params = ["other": .int(1)]
        let second = try store.planRuns([changed, spec(3)])
        XCTAssertEqual(second.inserted, ["run-0003"])
        XCTAssertEqual(second.existing, ["run-0001"])
        let run1 = try XCTUnwrap(try store.run(id: "run-0001"))
        XCTAssertEqual(run1.configJSON, "{\"seed\":1}", "an existing run is left untouched")
        XCTAssertEqual(run1.status, .pending)
        XCTAssertEqual(run1.attempts, 0)
        XCTAssertEqual(try store.params(runID: "run-0001"), spec(1).params)
        XCTAssertEqual(try store.runs(experiment: "exp", status: nil).map(\.runID), ["run-0000", "run-0001", "run-0002", "run-0003"])
        XCTAssertEqual(try store.runs(experiment: "exp", status: nil).map(\.sequence), [0, 1, 2, 3])
        XCTAssertThrowsError(try store.planRuns([spec(7), spec(7)]))
        XCTAssertNil(try store.run(id: "run-0007"), "a rejected plan writes nothing")
    }

    /// A configuration two experiments plan is one run, listed, counted and claimable in both, each with its own
    /// variant and short name; completed once, it is never run again for the second experiment.
    static func sharedRunsBelongToEveryExperimentThatPlannedThem(_ open: @escaping Open) throws {
        let store = try open()
        try store.planRuns([spec(0, experiment: "first", variant: "clip"), spec(1, experiment: "first", variant: "clip")])
        var again = spec(1, experiment: "second", variant: "baseline")
        again.shortName = "baseline"
        let outcome = try store.planRuns([again, spec(2, experiment: "second", variant: "other")])
        XCTAssertEqual(outcome.existing, ["run-0001"])
        XCTAssertEqual(try store.runs(experiment: "second", status: nil).map(\.runID), ["run-0001", "run-0002"])
        XCTAssertEqual(try store.runs(experiment: "second", status: nil).first?.variant, "baseline")
        XCTAssertEqual(try store.runs(experiment: "second", status: nil).first?.experiment, "second")
        XCTAssertEqual(try store.runs(experiment: "first", status: nil).last?.variant, "clip")
        XCTAssertEqual(try store.statusCounts(experiment: "second")[.pending], 2)
        let claim = try XCTUnwrap(try store.claimNextRun(experiment: "second", worker: "w", leaseSeconds: 60, codeVersion: "v"))
        XCTAssertEqual(claim.runID, "run-0001")
        try store.finishRun(runID: claim.runID, worker: "w", attempt: claim.attempt, outcome: RunOutcome(status: .completed, exitStatus: 0, errorTail: nil))
        XCTAssertEqual(try store.runs(experiment: "first", status: .completed).map(\.runID), ["run-0001"])
        let next = try XCTUnwrap(try store.claimNextRun(experiment: "second", worker: "w", leaseSeconds: 60, codeVersion: "v"))
        XCTAssertEqual(next.runID, "run-0002", "the shared run is done for both")
    }

    static func paramsKeepTheirTypes(_ open: @escaping Open) throws {
        let store = try open()
        let params: [String: ParamValue] = ["a.int": .int(-3), "a.big": .int(Int.max), "b.double": .double(0.1),
                                            "c.text": .string("x y"), "d.flag": .bool(true), "d.off": .bool(false)]
        try store.planRuns([spec(0, params: params)])
        XCTAssertEqual(try store.params(runID: "run-0000"), params)
        try store.logParams(runID: "run-0000", ["a.int": .double(2.5), "e.new": .string("n")])
        let updated = try store.params(runID: "run-0000")
        XCTAssertEqual(updated["a.int"], .double(2.5))
        XCTAssertEqual(updated["e.new"], .string("n"))
        XCTAssertEqual(updated.count, params.count + 1)
    }

    static func experimentsRoundTrip(_ open: @escaping Open) throws {
        let store = try open()
        try store.addExperiment(ExperimentRecord(name: "sharing", description: "depth sweep", definitionJSON: "{\"name\":\"sharing\"}",
                                                 overrides: ["train.lr=0.01", "seeds=3"]))
        try store.addExperiment(ExperimentRecord(name: "sharing", description: "depth sweep, again", overrides: ["x=1"]))
        try store.planRuns([spec(0, experiment: "implicit")])
        let experiments = try store.experiments()
        XCTAssertEqual(Set(experiments.map(\.name)), ["sharing", "implicit"])
        let sharing = try XCTUnwrap(experiments.first { $0.name == "sharing" })
        XCTAssertEqual(sharing.description, "depth sweep, again")
        XCTAssertEqual(sharing.overrides, ["x=1"])
    }

    static func claimsFollowPlanOrderAndHonourLeases(_ open: @escaping Open) throws {
        let store = try open()
        try store.planRuns([spec(0), spec(1, experiment: "other"), spec(2)])
        let a = try XCTUnwrap(try store.claimNextRun(experiment: "exp", worker: "h:1", leaseSeconds: 60, codeVersion: "c1"))
        XCTAssertEqual(a.runID, "run-0000")
        XCTAssertEqual(a.attempt, 1)
        XCTAssertFalse(a.reclaimedFromStale)
        XCTAssertEqual(a.run.status, .running)
        XCTAssertEqual(a.run.worker, "h:1")
        XCTAssertEqual(a.run.codeVersion, "c1")
        let b = try XCTUnwrap(try store.claimNextRun(experiment: "exp", worker: "h:2", leaseSeconds: 60, codeVersion: "c1"))
        XCTAssertEqual(b.runID, "run-0002", "runs of other experiments are not claimed")
        XCTAssertNil(try store.claimNextRun(experiment: "exp", worker: "h:3", leaseSeconds: 60, codeVersion: "c1"))

        try store.heartbeat(runID: a.runID, worker: "h:1", attempt: 1)
        XCTAssertThrowsError(try store.heartbeat(runID: a.runID, worker: "h:2", attempt: 1)) { error in
            XCTAssertEqual(error as? StoreError, .leaseLost(runID: a.runID, worker: "h:2", attempt: 1))
        }
        XCTAssertThrowsError(try store.heartbeat(runID: "missing", worker: "h:1", attempt: 1)) { error in
            XCTAssertEqual(error as? StoreError, .runNotFound("missing"))
        }
        XCTAssertThrowsError(try store.finishRun(runID: a.runID, worker: "h:1", attempt: 1, outcome: RunOutcome(status: .pending)))
        try store.finishRun(runID: a.runID, worker: "h:1", attempt: 1,
                            outcome: RunOutcome(status: .failed, exitStatus: 3, errorTail: "boom"))
        XCTAssertThrowsError(try store.finishRun(runID: a.runID, worker: "h:1", attempt: 1, outcome: RunOutcome(status: .completed)),
                             "a finished run cannot be finished again")
        let failed = try XCTUnwrap(try store.run(id: a.runID))
        XCTAssertEqual(failed.status, .failed)
        XCTAssertEqual(failed.exitStatus, 3)
        XCTAssertEqual(failed.errorTail, "boom")
        XCTAssertNotNil(failed.endedAt)
        XCTAssertEqual(try store.attempts(runID: a.runID).map(\.status), [.failed])

        // Claims without an experiment take any experiment's runs.
        let c = try XCTUnwrap(try store.claimNextRun(experiment: nil, worker: "h:3", leaseSeconds: 60, codeVersion: "c1"))
        XCTAssertEqual(c.runID, "run-0001")
        XCTAssertEqual(try store.statusCounts(experiment: nil), [.failed: 1, .running: 2])
        XCTAssertEqual(try store.statusCounts(experiment: "exp"), [.failed: 1, .running: 1])
        XCTAssertEqual(try store.runs(experiment: nil, status: .running).map(\.runID), ["run-0001", "run-0002"])
    }

    static func expiredLeaseIsTakenOver(_ open: @escaping Open) throws {
        let store = try open()
        try store.planRuns([spec(0), spec(1)])
        let first = try XCTUnwrap(try store.claimNextRun(experiment: nil, worker: "gone:1", leaseSeconds: 0.05, codeVersion: "c"))
        XCTAssertEqual(first.runID, "run-0000")
        // Wait until the lease has passed; the check is on the outcome, not on how long it took.
        while try store.expireLeases().isEmpty { Thread.sleep(forTimeInterval: 0.02) }
        XCTAssertEqual(try store.run(id: "run-0000")?.status, .stale)
        let second = try XCTUnwrap(try store.claimNextRun(experiment: nil, worker: "new:2", leaseSeconds: 60, codeVersion: "c"))
        XCTAssertEqual(second.runID, "run-0000", "a stale run is resumed before pending runs are started")
        XCTAssertEqual(second.attempt, 2)
        XCTAssertTrue(second.reclaimedFromStale)
        XCTAssertEqual(try store.attempts(runID: "run-0000").map(\.status), [.stale, .running])
        XCTAssertEqual(try store.attempts(runID: "run-0000").map(\.worker), ["gone:1", "new:2"])
        XCTAssertThrowsError(try store.heartbeat(runID: "run-0000", worker: "gone:1", attempt: 1))
        XCTAssertThrowsError(try store.finishRun(runID: "run-0000", worker: "gone:1", attempt: 1, outcome: RunOutcome(status: .completed)))
        try store.finishRun(runID: "run-0000", worker: "new:2", attempt: 2, outcome: RunOutcome(status: .completed, exitStatus: 0))
        let run = try XCTUnwrap(try store.run(id: "run-0000"))
        XCTAssertEqual(run.status, .completed)
        XCTAssertEqual(run.attempts, 2)

        // A running run whose lease passed is also claimable directly, without a separate expiry pass.
        let third = try XCTUnwrap(try store.claimNextRun(experiment: nil, worker: "gone:3", leaseSeconds: 0.05, codeVersion: "c"))
        var retaken: ClaimedRun?
        while retaken == nil {
            Thread.sleep(forTimeInterval: 0.02)
            retaken = try store.claimNextRun(experiment: nil, worker: "new:4", leaseSeconds: 60, codeVersion: "c")
        }
        XCTAssertEqual(retaken?.runID, third.runID)
        XCTAssertEqual(retaken?.attempt, 2)
    }

    static func releaseReturnsTheRunUntouched(_ open: @escaping Open) throws {
        let store = try open()
        try store.planRuns([spec(0)])
        let claim = try XCTUnwrap(try store.claimNextRun(experiment: nil, worker: "w", leaseSeconds: 60, codeVersion: "c"))
        try store.setEnvironment(runID: claim.runID, attempt: claim.attempt, ["host": "w"])
        try store.releaseRun(runID: claim.runID, worker: "w", attempt: claim.attempt)
        let run = try XCTUnwrap(try store.run(id: claim.runID))
        XCTAssertEqual(run.status, .pending)
        XCTAssertEqual(run.attempts, 0)
        XCTAssertEqual(try store.attempts(runID: claim.runID), [])
        XCTAssertEqual(try store.environment(runID: claim.runID), [])
        XCTAssertEqual(try store.claimNextRun(experiment: nil, worker: "w", leaseSeconds: 60, codeVersion: "c")?.attempt, 1)
    }

    static func metricsAreIdempotentPerStep(_ open: @escaping Open) throws {
        let store = try open()
        try store.planRuns([spec(0)])
        try store.logMetrics(runID: "run-0000", (0..<10).map { MetricPoint(key: "train.loss", step: $0, value: Double($0), epoch: 0) })
        // A resumed run logs steps 5... again: they replace, never duplicate.
        try store.logMetrics(runID: "run-0000", (5..<15).map { MetricPoint(key: "train.loss", step: $0, value: Double($0) * 2, epoch: 1) })
        try store.logMetrics(runID: "run-0000", [MetricPoint(key: "diverged", step: 1, value: .nan)])
        try store.logMetrics(runID: "run-0000", [])
        let points = try store.metrics(runID: "run-0000", key: "train.loss")
        XCTAssertEqual(points.map(\.step), Array(0..<15))
        XCTAssertEqual(points.map(\.value), (0..<5).map(Double.init) + (5..<15).map { Double($0) * 2 })
        XCTAssertEqual(points[4].epoch, 0)
        XCTAssertEqual(points[5].epoch, 1)
        let nan = try store.metrics(runID: "run-0000", key: "diverged")
        XCTAssertEqual(nan.count, 1)
        XCTAssertTrue(nan[0].value.isNaN)
        XCTAssertEqual(try store.metrics(runID: "run-0000", key: nil).count, 16)
    }

    static func summariesUseTheMetricDirection(_ open: @escaping Open) throws {
        let store = try open()
        try store.planRuns([spec(0), spec(1)])
        let loss = [3.0, 1.0, 2.0, 1.0, 2.5]
        let accuracy = [0.1, 0.7, 0.7, 0.4]
        try store.logMetrics(runID: "run-0000", loss.enumerated().map { MetricPoint(key: "val.loss", step: $0.offset * 10, value: $0.element) })
        try store.logMetrics(runID: "run-0000", accuracy.enumerated().map { MetricPoint(key: "recall_at_1", step: $0.offset, value: $0.element) })
        try store.logMetrics(runID: "run-0000", [MetricPoint(key: "modality_gap", step: 0, value: .nan),
                                                 MetricPoint(key: "modality_gap", step: 1, value: 0.5),
                                                 MetricPoint(key: "modality_gap", step: 2, value: .nan)])
        try store.logMetrics(runID: "run-0001", [MetricPoint(key: "val.loss", step: 0, value: 9)])
        var summaries = try store.summaries(runIDs: ["run-0000", "run-0001", "no-such-run"])
        let first = try XCTUnwrap(summaries["run-0000"])
        XCTAssertEqual(first.map(\.key), ["modality_gap", "recall_at_1", "val.loss"])
        let lossSummary = first[2]
        XCTAssertEqual(lossSummary.direction, .min)
        XCTAssertEqual(lossSummary.count, 5)
        XCTAssertEqual(lossSummary.finalStep, 40)
        XCTAssertEqual(lossSummary.finalValue, 2.5)
        XCTAssertEqual(lossSummary.bestValue, 1.0)
        XCTAssertEqual(lossSummary.bestStep, 10, "ties go to the earliest step")
        let recall = first[1]
        XCTAssertEqual(recall.direction, .max)
        XCTAssertEqual(recall.bestValue, 0.7)
        XCTAssertEqual(recall.bestStep, 1)
        XCTAssertEqual(recall.finalValue, 0.4)
        let gap = first[0]
        XCTAssertEqual(gap.bestValue, 0.5, "NaN is never best")
        XCTAssertTrue(gap.finalValue.isNaN)
        XCTAssertEqual(summaries["run-0001"]?.first?.finalValue, 9)
        XCTAssertNil(summaries["no-such-run"])

        try store.setMetricDirection(.max, forKey: "val.loss")
        XCTAssertEqual(try store.metricDirection(forKey: "val.loss"), .max)
        XCTAssertEqual(try store.metricDirection(forKey: "train.loss"), .min)
        summaries = try store.summaries(runIDs: ["run-0000"])
        XCTAssertEqual(summaries["run-0000"]?[2].bestValue, 3.0)
        XCTAssertEqual(summaries["run-0000"]?[2].bestStep, 0)
    }

    /// A worker hands back exactly the runs it names, and only in the statuses it names.
    static func requeueByIDTouchesOnlyTheNamedRuns(_ open: @escaping Open) throws {
        let store = try open()
        try store.planRuns((0..<4).map { spec($0) })
        for status in [RunStatus.killed, .killed, .failed, .completed] {
            let claim = try XCTUnwrap(try store.claimNextRun(experiment: nil, worker: "w", leaseSeconds: 60, codeVersion: "v"))
            try store.finishRun(runID: claim.runID, worker: "w", attempt: claim.attempt, outcome: RunOutcome(status: status))
        }
        XCTAssertEqual(try store.requeueRuns(ids: ["run-0000", "run-0002", "run-0003", "run-9999"], statuses: [.killed]), ["run-0000"])
        XCTAssertEqual(try store.run(id: "run-0000")?.status, .pending)
        XCTAssertEqual(try store.attempts(runID: "run-0000").map(\.status), [.killed], "the killed attempt stays in the history")
        XCTAssertEqual(try store.run(id: "run-0001")?.status, .killed, "a run not named is left alone")
        XCTAssertEqual(try store.run(id: "run-0002")?.status, .failed)
        XCTAssertEqual(try store.run(id: "run-0003")?.status, .completed)
        XCTAssertEqual(try store.requeueRuns(ids: [], statuses: [.killed]), [])
        XCTAssertEqual(try store.requeueRuns(ids: ["run-0001"], statuses: [.running, .pending]), [])
    }

    static func requeueRetriesFailedAndRerunsOtherCode(_ open: @escaping Open) throws {
        let store = try open()
        try store.planRuns((0..<4).map { spec($0) })
        let outcomes: [RunStatus] = [.completed, .failed, .killed, .completed]
        for (index, status) in outcomes.enumerated() {
            let claim = try XCTUnwrap(try store.claimNextRun(experiment: "exp", worker: "w", leaseSeconds: 60,
                                                            codeVersion: index == 3 ? "new" : "old"))
            try store.logMetrics(runID: claim.runID, [MetricPoint(key: "loss", step: 1, value: 1)])
            try store.finishRun(runID: claim.runID, worker: "w", attempt: claim.attempt, outcome: RunOutcome(status: status))
        }
        let folder = store.artifactDirectory(runID: "run-0000")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: folder.appendingPathComponent("checkpoint"))
        try store.addArtifact(runID: "run-0000", name: "checkpoint", file: folder.appendingPathComponent("checkpoint"))

        XCTAssertEqual(try store.requeueRuns(experiment: "exp", statuses: [.failed, .killed]), ["run-0001", "run-0002"])
        XCTAssertEqual(try store.run(id: "run-0001")?.status, .pending)
        XCTAssertNil(try store.run(id: "run-0001")?.errorTail)
        XCTAssertEqual(try store.metrics(runID: "run-0001", key: nil).count, 1, "a retried run keeps what it logged and resumes")
        XCTAssertEqual(try store.requeueRuns(experiment: "exp", statuses: [.running]), [])

        XCTAssertEqual(try store.requeueCompletedRuns(experiment: "exp", madeByOtherThan: "new"), ["run-0000"])
        XCTAssertEqual(try store.run(id: "run-0000")?.status, .pending)
        XCTAssertEqual(try store.metrics(runID: "run-0000", key: nil), [], "a re-run starts from scratch")
        XCTAssertEqual(try store.artifacts(runID: "run-0000"), [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.path))
        XCTAssertEqual(try store.run(id: "run-0003")?.status, .completed)
        let retried = try XCTUnwrap(try store.claimNextRun(experiment: "exp", worker: "w", leaseSeconds: 60, codeVersion: "new"))
        XCTAssertEqual(retried.runID, "run-0000")
        XCTAssertEqual(retried.attempt, 2)
    }

    static func artifactsAreHashed(_ open: @escaping Open) throws {
        let store = try open()
        try store.planRuns([spec(0)])
        let folder = store.artifactDirectory(runID: "run-0000")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("plots"), withIntermediateDirectories: true)
        let file = folder.appendingPathComponent("plots/abc.txt")
        try Data("abc".utf8).write(to: file)
        let record = try store.addArtifact(runID: "run-0000", name: "abc", file: file)
        XCTAssertEqual(record.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(record.size, 3)
        XCTAssertEqual(record.path, "plots/abc.txt")
        XCTAssertEqual(try store.artifacts(runID: "run-0000"), [record])
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-outside-\(UUID().uuidString)")
        try Data("x".utf8).write(to: outside)
        defer { try? FileManager.default.removeItem(at: outside) }
        XCTAssertThrowsError(try store.addArtifact(runID: "run-0000", name: "x", file: outside))
    }

    static func environmentIsKeptPerAttempt(_ open: @escaping Open) throws {
        let store = try open()
        try store.planRuns([spec(0)])
        try store.setEnvironment(runID: "run-0000", attempt: 1, ["host": "a", "git_commit": "c1"])
        try store.setEnvironment(runID: "run-0000", attempt: 2, ["host": "b"])
        let entries = try store.environment(runID: "run-0000")
        XCTAssertEqual(entries.map { "\($0.attempt):\($0.key)=\($0.value)" }, ["1:git_commit=c1", "1:host=a", "2:host=b"])
    }

    static func runIDPrefixesResolve(_ open: @escaping Open) throws {
        let store = try open()
        try store.planRuns([spec(10), spec(11), spec(20)])
        XCTAssertEqual(try store.resolveRunID(prefix: "run-002"), "run-0020")
        XCTAssertEqual(try store.resolveRunID(prefix: "run-0011"), "run-0011")
        XCTAssertThrowsError(try store.resolveRunID(prefix: "run-001")) { error in
            XCTAssertEqual(error as? StoreError, .ambiguousRunID(prefix: "run-001", matches: ["run-0010", "run-0011"]))
        }
        XCTAssertThrowsError(try store.resolveRunID(prefix: "RUN-002"), "run IDs are case-sensitive")
        XCTAssertThrowsError(try store.resolveRunID(prefix: "run_00"), "LIKE wildcards are literal")
        XCTAssertThrowsError(try store.resolveRunID(prefix: ""))
    }

    static func deletionNeverTouchesARunningRun(_ open: @escaping Open) throws {
        let store = try open()
        try store.planRuns([spec(0), spec(1)])
        let claim = try XCTUnwrap(try store.claimNextRun(experiment: nil, worker: "w", leaseSeconds: 60, codeVersion: "c"))
        XCTAssertThrowsError(try store.deleteRun(id: claim.runID)) { error in
            XCTAssertEqual(error as? StoreError, .runIsRunning(claim.runID))
        }
        try store.logMetrics(runID: "run-0001", [MetricPoint(key: "loss", step: 0, value: 1)])
        try store.setEnvironment(runID: "run-0001", attempt: 1, ["k": "v"])
        for id in ["run-0000", "run-0001"] {
            try FileManager.default.createDirectory(at: store.artifactDirectory(runID: id), withIntermediateDirectories: true)
        }
        let orphan = store.artifactDirectory(runID: "deleted-long-ago")
        try FileManager.default.createDirectory(at: orphan, withIntermediateDirectories: true)

        try store.deleteRun(id: "run-0001")
        XCTAssertNil(try store.run(id: "run-0001"))
        XCTAssertEqual(try store.metrics(runID: "run-0001", key: nil), [])
        XCTAssertEqual(try store.params(runID: "run-0001"), [:])
        XCTAssertEqual(try store.environment(runID: "run-0001"), [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: store.artifactDirectory(runID: "run-0001").path))
        XCTAssertThrowsError(try store.deleteRun(id: "run-0001"))

        XCTAssertEqual(try store.collectGarbage().map(\.lastPathComponent), ["deleted-long-ago"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: store.artifactDirectory(runID: "run-0000").path),
                      "the running run's folder stays")
        XCTAssertEqual(try store.collectGarbage(), [])
        XCTAssertEqual(try store.integrityCheck(), "ok")
    }

    /// A run as it stands in another store, for `importRun`.
    static func snapshot(_ index: Int, status: RunStatus, memberships: [RunMembership]? = nil, lossScale: Double = 1) -> RunSnapshot {
        let id = String(format: "run-%04d", index)
        let start = Date(timeIntervalSince1970: 1_700_000_000.25 + Double(index))
        let end = start.addingTimeInterval(30.5)
        let finished = status.isTerminal
        let run = RunRecord(runID: id, sequence: 99, experiment: "exp", variant: "v\(index % 2)", shortName: "short\(index)",
                            seed: index, configHash: String(format: "hash%04d", index), configJSON: "{\"seed\":\(index)}",
                            status: status, attempts: status == .pending ? 0 : 1, worker: status == .pending ? nil : "laptop:1",
                            leaseSeconds: status == .pending ? nil : 60, startedAt: status == .pending ? nil : start,
                            endedAt: finished ? end : nil, exitStatus: finished ? (status == .completed ? 0 : 2) : nil,
                            errorTail: status == .failed ? "boom" : nil, codeVersion: "code1", createdAt: start)
        return RunSnapshot(
            run: run, memberships: memberships ?? [RunMembership(experiment: "exp", variant: "v\(index % 2)", shortName: "short\(index)")],
            params: ["seed": .int(index), "loss.beta": .double(0.25), "big": .int(Int.max), "kind": .string("clip"), "flag": .bool(true)],
            metrics: [MetricPoint(key: "diverged", step: 0, value: .nan, epoch: nil, wallTime: start)]
                + (1...3).map { MetricPoint(key: "train.loss", step: $0, value: Double($0) * lossScale, epoch: Double($0) / 2,
                                            wallTime: start.addingTimeInterval(Double($0))) },
            attempts: status == .pending ? [] : [AttemptRecord(runID: id, attempt: 1, worker: "laptop:1", status: status, startedAt: start,
                                                               endedAt: finished ? end : nil, exitStatus: run.exitStatus,
                                                               errorTail: run.errorTail, codeVersion: "code1")],
            environment: status == .pending ? [] : [EnvironmentEntry(runID: id, attempt: 1, key: "host", value: "laptop")],
            artifacts: [ArtifactRecord(runID: id, name: "checkpoint", path: "ckpt/last.json", size: 3,
                                       sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", createdAt: end)])
    }

    /// What the store holds of a run, in the snapshot's shape (memberships from the given experiments).
    static func stored(_ store: Storage, _ id: String, experiments: [String]) throws -> RunSnapshot? {
        guard let run = try store.run(id: id) else { return nil }
        let memberships = try experiments.compactMap { experiment in
            try store.runs(experiment: experiment, status: nil).first { $0.runID == id }
                .map { RunMembership(experiment: experiment, variant: $0.variant, shortName: $0.shortName) }
        }
        return try RunSnapshot.read(store, run: run, memberships: memberships)
    }

    /// Importing by run identity: a new run comes with everything and goes last; importing it again changes nothing;
    /// a destination run that has not completed takes a completed source run's state; a completed or running
    /// destination run is kept (gaining only experiment memberships); paths out of the run's folder are refused.
    static func importRunIsIdempotentAndKeepsACompletedDestination(_ open: @escaping Open) throws {
        let store = try open()
        try store.planRuns([spec(0), spec(1), spec(2), spec(3)])

        var new = snapshot(10, status: .completed, memberships: [
            RunMembership(experiment: "exp", variant: "v0", shortName: "short10"),
            RunMembership(experiment: "second", variant: "baseline", shortName: "base")])
        XCTAssertEqual(try store.importRun(new), .inserted)
        let inserted = try XCTUnwrap(try stored(store, "run-0010", experiments: ["exp", "second"]))
        XCTAssertEqual(inserted.run.sequence, 4, "an imported run goes after every run the store has")
        new.run.sequence = 4
        XCTAssertEqual(inserted, new)
        XCTAssertEqual(try store.runs(experiment: "second", status: nil).map(\.variant), ["baseline"])
        XCTAssertTrue(try store.experiments().contains { $0.name == "second" })
        XCTAssertEqual(try store.importRun(new), .keptCompleted, "importing again changes nothing")
        XCTAssertEqual(try stored(store, "run-0010", experiments: ["exp", "second"]), inserted)
        XCTAssertEqual(try store.metrics(runID: "run-0010", key: nil).count, 4)

        // A pending destination run takes the completed source run's state, keeping its place in the queue.
        XCTAssertEqual(try store.importRun(snapshot(0, status: .completed)), .replaced)
        var replaced = snapshot(0, status: .completed)
        replaced.run.sequence = 0
        replaced.run.createdAt = try XCTUnwrap(try store.run(id: "run-0000")).createdAt
        XCTAssertEqual(try stored(store, "run-0000", experiments: ["exp"]), replaced)

        // A failed destination run is replaced too, its own metrics and attempts gone.
        let failing = try XCTUnwrap(try store.claimNextRun(experiment: nil, worker: "w", leaseSeconds: 60, codeVersion: "c"))
        XCTAssertEqual(failing.runID, "run-0001")
        try store.logMetrics(runID: "run-0001", [MetricPoint(key: "train.loss", step: 7, value: 9)])
        try store.finishRun(runID: "run-0001", worker: "w", attempt: 1, outcome: RunOutcome(status: .failed, exitStatus: 1))
        XCTAssertEqual(try store.importRun(snapshot(1, status: .failed)), .keptDestination, "neither completed: the destination's stays")
        XCTAssertEqual(try store.metrics(runID: "run-0001", key: nil).map(\.step), [7])
        XCTAssertEqual(try store.importRun(snapshot(1, status: .completed)), .replaced)
        XCTAssertEqual(try store.run(id: "run-0001")?.status, .completed)
        XCTAssertEqual(try store.metrics(runID: "run-0001", key: "train.loss").map(\.step), [1, 2, 3])
        XCTAssertEqual(try store.attempts(runID: "run-0001").map(\.worker), ["laptop:1"])

        // A run completed in the destination keeps its data, gaining only the membership.
        let completing = try XCTUnwrap(try store.claimNextRun(experiment: nil, worker: "w", leaseSeconds: 60, codeVersion: "c"))
        XCTAssertEqual(completing.runID, "run-0002")
        try store.logMetrics(runID: "run-0002", [MetricPoint(key: "train.loss", step: 1, value: 42)])
        try store.finishRun(runID: "run-0002", worker: "w", attempt: 1, outcome: RunOutcome(status: .completed, exitStatus: 0))
        let other = snapshot(2, status: .completed, memberships: [RunMembership(experiment: "third", variant: "x", shortName: "x2")])
        XCTAssertEqual(try store.importRun(other), .keptCompleted)
        XCTAssertEqual(try store.metrics(runID: "run-0002", key: nil).map(\.value), [42])
        XCTAssertEqual(try store.attempts(runID: "run-0002").map(\.worker), ["w"])
        XCTAssertEqual(try store.runs(experiment: "third", status: nil).map(\.runID), ["run-0002"])

        // A running destination run is never touched.
        let running = try XCTUnwrap(try store.claimNextRun(experiment: nil, worker: "w", leaseSeconds: 60, codeVersion: "c"))
        XCTAssertEqual(running.runID, "run-0003")
        XCTAssertEqual(try store.importRun(snapshot(3, status: .completed)), .runningInDestination)
        XCTAssertEqual(try store.run(id: "run-0003")?.status, .running)
        XCTAssertEqual(try store.run(id: "run-0003")?.worker, "w")
        XCTAssertEqual(try store.metrics(runID: "run-0003", key: nil), [])

        // Artifact paths never leave the run's folder; a refused snapshot writes nothing.
        for path in ["../run-0000/x", "/etc/passwd", "a/../../b", ""] {
            var escaping = snapshot(20, status: .completed)
            escaping.artifacts[0].path = path
            XCTAssertThrowsError(try store.importRun(escaping), path) { error in
                XCTAssertTrue("\(error)".contains("not inside the run's folder"), "\(error)")
            }
        }
        XCTAssertNil(try store.run(id: "run-0020"))
        XCTAssertEqual(try store.runs(experiment: nil, status: nil).map(\.sequence), [0, 1, 2, 3, 4])
        XCTAssertEqual(try store.integrityCheck(), "ok")
    }

    /// Connections in parallel threads claim every run exactly once.
    static func concurrentClaimsNeverShareARun(_ open: @escaping Open) throws {
        let setup = try open()
        try setup.planRuns((0..<120).map { spec($0) })
        let workers = 4
        let claimed = LockedList<String>()
        let errors = LockedList<Error>()
        let group = DispatchGroup()
        for worker in 0..<workers {
            group.enter()
            Thread {
                defer { group.leave() }
                do {
                    let store = try open()
                    while let claim = try store.claimNextRun(experiment: nil, worker: "w\(worker)", leaseSeconds: 60, codeVersion: "c") {
                        try store.logMetrics(runID: claim.runID, [MetricPoint(key: "loss", step: 0, value: 1)])
                        try store.finishRun(runID: claim.runID, worker: "w\(worker)", attempt: claim.attempt,
                                            outcome: RunOutcome(status: .completed, exitStatus: 0))
                        claimed.append(claim.runID)
                    }
                } catch {
                    errors.append(error)
                }
            }.start()
        }
        group.wait()
        XCTAssertTrue(errors.items.isEmpty, "\(errors.items)")
        XCTAssertEqual(claimed.items.count, 120)
        XCTAssertEqual(Set(claimed.items).count, 120)
        XCTAssertEqual(try setup.statusCounts(experiment: nil), [.completed: 120])
        XCTAssertTrue(try setup.runs(experiment: nil, status: nil).allSatisfy { $0.attempts == 1 })
    }
}

/// A list appended to from several threads.
final class LockedList<Element>: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [Element] = []

    func append(_ element: Element) {
        lock.lock(); storage.append(element); lock.unlock()
    }

    var items: [Element] {
        lock.lock(); defer { lock.unlock() }
        return storage
    }
}
