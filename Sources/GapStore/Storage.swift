import Foundation
import GapSpec

/// Everything the runner and the command line do with the tracking store. The SQLite store (embedded, one
/// machine) and the PostgreSQL store (a server, many hosts) implement it, and one conformance suite checks
/// both. Implementations are safe to use from several threads and from several processes on the same store.
public protocol Storage: AnyObject {
    /// How a child process reaches this store (`--store` argument): a file path for SQLite, a URL without its
    /// password for PostgreSQL.
    var locator: String { get }
    /// The folder that holds every run's artifact folder.
    var artifactsRoot: URL { get }
    /// Folder holding a run's checkpoints, logs and other files; it may not exist yet.
    func artifactDirectory(runID: String) -> URL

    // MARK: Planning

    /// Creates the experiment or updates its description, definition and overrides.
    func addExperiment(_ experiment: ExperimentRecord) throws
    /// Inserts runs that do not exist yet as pending, with their parameters; existing run IDs are left untouched.
    @discardableResult func planRuns(_ specs: [RunSpec]) throws -> PlanOutcome
    /// Puts runs with one of `statuses` back to pending (e.g. failed and killed for `--retry-failed`); returns their IDs.
    @discardableResult func requeueRuns(experiment: String?, statuses: Set<RunStatus>) throws -> [String]
    /// Puts the runs among `ids` whose status is one of `statuses` back to pending (a worker handing back what a
    /// signal stopped, without touching anyone else's runs); returns their IDs.
    @discardableResult func requeueRuns(ids: [String], statuses: Set<RunStatus>) throws -> [String]
    /// Puts completed runs made by other code back to pending, dropping their metrics and artifacts so they
    /// start from scratch; returns their IDs.
    @discardableResult func requeueCompletedRuns(experiment: String?, madeByOtherThan codeVersion: String) throws -> [String]

    // MARK: Leases

    /// Atomically takes the next pending or stale run (or a running run whose lease expired, whose attempt is
    /// then recorded as stale) and marks it running for `worker`. Nil when nothing is claimable.
    func claimNextRun(experiment: String?, worker: String, leaseSeconds: Double, codeVersion: String) throws -> ClaimedRun?
    /// Extends the lease; throws `StoreError.leaseLost` when the worker no longer holds this attempt.
    func heartbeat(runID: String, worker: String, attempt: Int) throws
    /// Records the outcome of the attempt; throws `StoreError.leaseLost` when the worker no longer holds it.
    func finishRun(runID: String, worker: String, attempt: Int, outcome: RunOutcome) throws
    /// Hands a claimed run back untouched (its attempt is forgotten), e.g. when the runner stops before starting it.
    func releaseRun(runID: String, worker: String, attempt: Int) throws
    /// Marks running runs whose lease has expired as stale; returns their IDs.
    @discardableResult func expireLeases() throws -> [String]

    // MARK: Logging

    /// Writes the points in one transaction; a point at an existing (run, key, step) replaces it.
    func logMetrics(runID: String, _ points: [MetricPoint]) throws
    func logParams(runID: String, _ params: [String: ParamValue]) throws
    /// Records a file inside the run's artifact folder with its size and SHA-256 (replacing a record of the same name).
    @discardableResult func addArtifact(runID: String, name: String, file: URL) throws -> ArtifactRecord
    func setEnvironment(runID: String, attempt: Int, _ values: [String: String]) throws
    /// Takes a run as it stands in another store, in one transaction, by run identity: a run the store lacks is
    /// inserted with everything (after every run it has); one it has gains the snapshot's missing experiment
    /// memberships, and only when it has not completed (nor is running) while the snapshot's has, the snapshot's
    /// state replaces its own. A completed or running run is never changed. Artifact files are not copied.
    @discardableResult func importRun(_ snapshot: RunSnapshot) throws -> ImportOutcome
    /// Overrides the name-based default direction of a metric key for every run.
    func setMetricDirection(_ direction: MetricDirection, forKey key: String) throws

    // MARK: Queries

    func experiments() throws -> [ExperimentRecord]
    func runs(experiment: String?, status: RunStatus?) throws -> [RunRecord]
    func run(id: String) throws -> RunRecord?
    /// The full run ID for a unique prefix.
    func resolveRunID(prefix: String) throws -> String
    func params(runID: String) throws -> [String: ParamValue]
    func metrics(runID: String, key: String?) throws -> [MetricPoint]
    func metricDirection(forKey key: String) throws -> MetricDirection
    /// Final and best value per metric key, for each requested run.
    func summaries(runIDs: [String]) throws -> [String: [MetricSummary]]
    func artifacts(runID: String) throws -> [ArtifactRecord]
    func environment(runID: String) throws -> [EnvironmentEntry]
    func attempts(runID: String) throws -> [AttemptRecord]
    func statusCounts(experiment: String?) throws -> [RunStatus: Int]

    // MARK: Maintenance

    /// Deletes a run with its parameters, metrics, records and artifact folder; refuses a running run.
    func deleteRun(id: String) throws
    /// Removes artifact folders that belong to no run; returns them.
    @discardableResult func collectGarbage() throws -> [URL]
    /// The store's own consistency check; "ok" when sound.
    func integrityCheck() throws -> String
}
