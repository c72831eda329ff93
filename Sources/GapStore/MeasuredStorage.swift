import Foundation
import GapSpec

/// A storage that forwards every call to another one and adds up the wall time spent in them, so a trainer
/// can report which fraction of a run went to tracking (the store-overhead benchmark; target under 1%).
public final class MeasuredStorage: Storage {
    public let base: Storage
    private let lock = NSLock()
    private var seconds: Double = 0
    private var calls = 0

    public init(_ base: Storage) {
        self.base = base
    }

    /// Total seconds spent inside the wrapped storage, and the number of calls.
    public var spent: (seconds: Double, calls: Int) {
        lock.lock(); defer { lock.unlock() }
        return (seconds, calls)
    }

    private func timed<T>(_ body: () throws -> T) rethrows -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            lock.lock(); seconds += elapsed; calls += 1; lock.unlock()
        }
        return try body()
    }

    public var locator: String { base.locator }
    public var artifactsRoot: URL { base.artifactsRoot }
    public func artifactDirectory(runID: String) -> URL { base.artifactDirectory(runID: runID) }

    public func addExperiment(_ experiment: ExperimentRecord) throws { try timed { try base.addExperiment(experiment) } }
    @discardableResult public func planRuns(_ specs: [RunSpec]) throws -> PlanOutcome { try timed { try base.planRuns(specs) } }
    @discardableResult public func requeueRuns(experiment: String?, statuses: Set<RunStatus>) throws -> [String] {
        try timed { try base.requeueRuns(experiment: experiment, statuses: statuses) }
    }
    @discardableResult public func requeueRuns(ids: [String], statuses: Set<RunStatus>) throws -> [String] {
        try timed { try base.requeueRuns(ids: ids, statuses: statuses) }
    }
    @discardableResult public func requeueCompletedRuns(experiment: String?, madeByOtherThan codeVersion: String) throws -> [String] {
        try timed { try base.requeueCompletedRuns(experiment: experiment, madeByOtherThan: codeVersion) }
    }

    public func claimNextRun(experiment: String?, worker: String, leaseSeconds: Double, codeVersion: String) throws -> ClaimedRun? {
        try timed { try base.claimNextRun(experiment: experiment, worker: worker, leaseSeconds: leaseSeconds, codeVersion: codeVersion) }
    }
    public func heartbeat(runID: String, worker: String, attempt: Int) throws {
        try timed { try base.heartbeat(runID: runID, worker: worker, attempt: attempt) }
    }
    public func finishRun(runID: String, worker: String, attempt: Int, outcome: RunOutcome) throws {
        try timed { try base.finishRun(runID: runID, worker: worker, attempt: attempt, outcome: outcome) }
    }
    public func releaseRun(runID: String, worker: String, attempt: Int) throws {
        try timed { try base.releaseRun(runID: runID, worker: worker, attempt: attempt) }
    }
    @discardableResult public func expireLeases() throws -> [String] { try timed { try base.expireLeases() } }

    public func logMetrics(runID: String, _ points: [MetricPoint]) throws { try timed { try base.logMetrics(runID: runID, points) } }
    public func logParams(runID: String, _ params: [String: ParamValue]) throws { try timed { try base.logParams(runID: runID, params) } }
    @discardableResult public func addArtifact(runID: String, name: String, file: URL) throws -> ArtifactRecord {
        try timed { try base.addArtifact(runID: runID, name: name, file: file) }
    }
    public func setEnvironment(runID: String, attempt: Int, _ values: [String: String]) throws {
        try timed { try base.setEnvironment(runID: runID, attempt: attempt, values) }
    }
    @discardableResult public func importRun(_ snapshot: RunSnapshot) throws -> ImportOutcome {
        try timed { try base.importRun(snapshot) }
    }
    public func setMetricDirection(_ direction: MetricDirection, forKey key: String) throws {
        try timed { try base.setMetricDirection(direction, forKey: key) }
    }

    public func experiments() throws -> [ExperimentRecord] { try timed { try base.experiments() } }
    public func runs(experiment: String?, status: RunStatus?) throws -> [RunRecord] {
        try timed { try base.runs(experiment: experiment, status: status) }
    }
    public func run(id: String) throws -> RunRecord? { try timed { try base.run(id: id) } }
    public func resolveRunID(prefix: String) throws -> String { try timed { try base.resolveRunID(prefix: prefix) } }
    public func params(runID: String) throws -> [String: ParamValue] { try timed { try base.params(runID: runID) } }
    public func metrics(runID: String, key: String?) throws -> [MetricPoint] { try timed { try base.metrics(runID: runID, key: key) } }
    public func metricDirection(forKey key: String) throws -> MetricDirection { try timed { try base.metricDirection(forKey: key) } }
    public func summaries(runIDs: [String]) throws -> [String: [MetricSummary]] { try timed { try base.summaries(runIDs: runIDs) } }
    public func artifacts(runID: String) throws -> [ArtifactRecord] { try timed { try base.artifacts(runID: runID) } }
    public func environment(runID: String) throws -> [EnvironmentEntry] { try timed { try base.environment(runID: runID) } }
    public func attempts(runID: String) throws -> [AttemptRecord] { try timed { try base.attempts(runID: runID) } }
    public func statusCounts(experiment: String?) throws -> [RunStatus: Int] { try timed { try base.statusCounts(experiment: experiment) } }

    public func deleteRun(id: String) throws { try timed { try base.deleteRun(id: id) } }
    @discardableResult public func collectGarbage() throws -> [URL] { try timed { try base.collectGarbage() } }
    public func integrityCheck() throws -> String { try timed { try base.integrityCheck() } }
}
