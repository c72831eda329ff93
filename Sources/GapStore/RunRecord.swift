import Foundation
import GapSpec

/// The state machine of a run: pending → running → completed | failed | killed; a running run whose lease
/// expires becomes stale and is claimed again.
public enum RunStatus: String, CaseIterable, Codable, Sendable {
    case pending, running, completed, failed, killed, stale

    public init(parsing text: String) throws {
        guard let status = RunStatus(rawValue: text.lowercased()) else { throw StoreError.invalidStatus(text) }
        self = status
    }

    /// Terminal states are only left by an explicit retry or re-run.
    public var isTerminal: Bool { self == .completed || self == .failed || self == .killed }
}

public struct ExperimentRecord: Equatable, Sendable {
    public var name: String
    public var description: String
    /// The experiment definition as planned (file contents after `extends`), kept for provenance.
    public var definitionJSON: String
    /// Command-line overrides exactly as typed.
    public var overrides: [String]
    public var createdAt: Date

    public init(name: String, description: String = "", definitionJSON: String = "", overrides: [String] = [],
                createdAt: Date = Date()) {
        self.name = name
        self.description = description
        self.definitionJSON = definitionJSON
        self.overrides = overrides
        self.createdAt = createdAt
    }
}

public struct RunRecord: Equatable, Sendable {
    public var runID: String
    /// Order in which runs were planned; claims follow it.
    public var sequence: Int
    public var experiment: String
    public var variant: String
    public var shortName: String
    public var seed: Int
    public var configHash: String
    public var configJSON: String
    public var status: RunStatus
    public var attempts: Int
    public var worker: String?
    public var leaseSeconds: Double?
    public var leaseExpiresAt: Date?
    public var heartbeatAt: Date?
    public var startedAt: Date?
    public var endedAt: Date?
    public var exitStatus: Int?
    public var errorTail: String?
    public var codeVersion: String?
    public var createdAt: Date

    public init(runID: String, sequence: Int, experiment: String, variant: String, shortName: String, seed: Int, configHash: String, configJSON: String, status: RunStatus, attempts: Int, worker: String? = nil, leaseSeconds: Double? = nil, leaseExpiresAt: Date? = nil, heartbeatAt: Date? = nil, startedAt: Date? = nil, endedAt: Date? = nil, exitStatus: Int? = nil, errorTail: String? = nil, codeVersion: String? = nil, createdAt: Date) {
        self.runID = runID
        self.sequence = sequence
        self.experiment = experiment
        self.variant = variant
        self.shortName = shortName
        self.seed = seed
        self.configHash = configHash
        self.configJSON = configJSON
        self.status = status
        self.attempts = attempts
        self.worker = worker
        self.leaseSeconds = leaseSeconds
        self.leaseExpiresAt = leaseExpiresAt
        self.heartbeatAt = heartbeatAt
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.exitStatus = exitStatus
        self.errorTail = errorTail
        self.codeVersion = codeVersion
        self.createdAt = createdAt
    }
}

/// What a worker holds after a successful claim; `attempt` makes the lease unambiguous across reclaims.
public struct ClaimedRun: Equatable, Sendable {
    public var run: RunRecord
    public var worker: String
    public var attempt: Int
    /// The attempt before this one ended with an expired lease (its worker vanished).
    public var reclaimedFromStale: Bool

    public var runID: String { run.runID }

    public init(run: RunRecord, worker: String, attempt: Int, reclaimedFromStale: Bool) {
        self.run = run
        self.worker = worker
        self.attempt = attempt
        self.reclaimedFromStale = reclaimedFromStale
    }
}

public struct AttemptRecord: Equatable, Sendable {
    public var runID: String
    public var attempt: Int
    public var worker: String
    public var status: RunStatus
    public var startedAt: Date
    public var endedAt: Date?
    public var exitStatus: Int?
    public var errorTail: String?
    public var codeVersion: String?

    public init(runID: String, attempt: Int, worker: String, status: RunStatus, startedAt: Date, endedAt: Date? = nil, exitStatus: Int? = nil, errorTail: String? = nil, codeVersion: String? = nil) {
        self.runID = runID
        self.attempt = attempt
        self.worker = worker
        self.status = status
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.exitStatus = exitStatus
        self.errorTail = errorTail
        self.codeVersion = codeVersion
    }
}

/// How a run attempt ended, as the worker reports it.
public struct RunOutcome: Equatable, Sendable {
    public var status: RunStatus
    public var exitStatus: Int?
    public var errorTail: String?

    public init(status: RunStatus, exitStatus: Int? = nil, errorTail: String? = nil) {
        self.status = status
        self.exitStatus = exitStatus
        self.errorTail = errorTail
    }
}

/// One metric value at one step. `value` may be NaN (a diverged loss is recorded, not dropped).
public struct MetricPoint: Equatable, Sendable {
    public var key: String
    public var step: Int
    public var value: Double
    public var epoch: Double?
    public var wallTime: Date

    public init(key: String, step: Int, value: Double, epoch: Double? = nil, wallTime: Date = Date()) {
        self.key = key
        self.step = step
        self.value = value
        self.epoch = epoch
        self.wallTime = wallTime
    }

    public static func == (lhs: MetricPoint, rhs: MetricPoint) -> Bool {
        lhs.key == rhs.key && lhs.step == rhs.step && lhs.epoch == rhs.epoch && lhs.wallTime == rhs.wallTime
            && (lhs.value == rhs.value || (lhs.value.isNaN && rhs.value.isNaN))
    }
}

public struct MetricSummary: Equatable, Sendable {
    public var key: String
    public var direction: MetricDirection
    public var count: Int
    public var finalStep: Int
    public var finalValue: Double
    public var bestStep: Int
    public var bestValue: Double
}

public struct ArtifactRecord: Equatable, Sendable {
    public var runID: String
    public var name: String
    /// Path relative to the run's artifact folder.
    public var path: String
    public var size: Int64
    public var sha256: String
    public var createdAt: Date

    public init(runID: String, name: String, path: String, size: Int64, sha256: String, createdAt: Date) {
        self.runID = runID
        self.name = name
        self.path = path
        self.size = size
        self.sha256 = sha256
        self.createdAt = createdAt
    }
}

public struct EnvironmentEntry: Equatable, Sendable {
    public var runID: String
    public var attempt: Int
    public var key: String
    public var value: String

    public init(runID: String, attempt: Int, key: String, value: String) {
        self.runID = runID
        self.attempt = attempt
        self.key = key
        self.value = value
    }
}

/// Result of planning: which run IDs were new and which already existed (and were left untouched).
public struct PlanOutcome: Equatable, Sendable {
    public var inserted: [String]
    public var existing: [String]

    public init(inserted: [String], existing: [String]) {
        self.inserted = inserted
        self.existing = existing
    }
}
