import Foundation
import GapSpec

/// A run's place in one experiment: the variant and short name that experiment gives it.
public struct RunMembership: Equatable, Hashable, Sendable {
    public var experiment: String
    public var variant: String
    public var shortName: String

    public init(experiment: String, variant: String, shortName: String) {
        self.experiment = experiment
        self.variant = variant
        self.shortName = shortName
    }
}

/// Everything one store holds about a run, as another store imports it (`Storage.importRun`): the run's row,
/// the experiments it belongs to, its params, metrics, attempts, environment and artifact records. The
/// artifact files themselves are copied by `StoreCopy`.
public struct RunSnapshot: Equatable, Sendable {
    /// The run; `experiment`, `variant` and `shortName` are its first experiment's and are among `memberships`.
    /// `sequence` is ignored: an imported run goes after every run the destination has.
    public var run: RunRecord
    public var memberships: [RunMembership]
    public var params: [String: ParamValue]
    public var metrics: [MetricPoint]
    public var attempts: [AttemptRecord]
    public var environment: [EnvironmentEntry]
    public var artifacts: [ArtifactRecord]

    public init(run: RunRecord, memberships: [RunMembership], params: [String: ParamValue] = [:], metrics: [MetricPoint] = [],
                attempts: [AttemptRecord] = [], environment: [EnvironmentEntry] = [], artifacts: [ArtifactRecord] = []) {
        self.run = run
        self.memberships = memberships
        self.params = params
        self.metrics = metrics
        self.attempts = attempts
        self.environment = environment
        self.artifacts = artifacts
    }

    /// Reads the run `id` of `storage` with everything it has; `memberships` are given because the protocol
    /// lists them per experiment (`runs(experiment:status:)`).
    public static func read(_ storage: any Storage, run: RunRecord, memberships: [RunMembership]) throws -> RunSnapshot {
        RunSnapshot(run: run, memberships: memberships, params: try storage.params(runID: run.runID),
                    metrics: try storage.metrics(runID: run.runID, key: nil), attempts: try storage.attempts(runID: run.runID),
                    environment: try storage.environment(runID: run.runID), artifacts: try storage.artifacts(runID: run.runID))
    }

    /// The memberships with the run's own experiment among them (first when it was missing), each experiment once.
    public var allMemberships: [RunMembership] {
        var seen = Set<String>()
        let own = RunMembership(experiment: run.experiment, variant: run.variant, shortName: run.shortName)
        let listed = memberships.contains { $0.experiment == run.experiment } ? memberships : [own] + memberships
        return listed.filter { seen.insert($0.experiment).inserted }
    }

    /// Refuses what an importing store must never take: records of another run, and artifact paths that could
    /// leave the run's folder (absolute, or with a `..` component).
    public func validate() throws {
        for artifact in artifacts {
            if artifact.runID != run.runID {
                throw StoreError.invalid("artifact \(artifact.name) belongs to run \(artifact.runID), not \(run.runID)")
            }
            try ArtifactFolders.checkRelativePath(artifact.path, runID: run.runID)
        }
        if attempts.contains(where: { $0.runID != run.runID }) || environment.contains(where: { $0.runID != run.runID }) {
            throw StoreError.invalid("the snapshot of run \(run.runID) holds records of another run")
        }
    }
}

/// What `Storage.importRun` did with a run.
public enum ImportOutcome: String, Equatable, Sendable {
    /// The destination had no such run: it now has the source's.
    case inserted
    /// The destination's run had not completed and the source's had: the source's state replaced it.
    case replaced
    /// The destination's run is completed: its data is kept.
    case keptCompleted
    /// Neither run is completed: the destination's is kept.
    case keptDestination
    /// The destination's run is running: it is not touched.
    case runningInDestination

    /// Whether the destination now holds the source's state (and so needs the source's artifact files).
    public var tookSource: Bool { self == .inserted || self == .replaced }

    /// What an import does, given the destination's status (nil: no such run) and the source's.
    public static func decide(destination: RunStatus?, source: RunStatus) -> ImportOutcome {
        switch destination {
        case nil: return .inserted
        case .running?: return .runningInDestination
        case .completed?: return .keptCompleted
        default: return source == .completed ? .replaced : .keptDestination
        }
    }
}
