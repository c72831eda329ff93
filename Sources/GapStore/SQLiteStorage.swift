import Foundation
import GRDB
import GapSpec
#if canImport(Glibc)
import Glibc
#endif

/// The SQLite store: one database file in WAL mode shared by every worker process, with a busy timeout so
/// concurrent writers wait instead of failing, and every write in an IMMEDIATE transaction so no transaction
/// ever has to upgrade a read lock (the source of "database is locked" under contention).
public final class SQLiteStorage: Storage {
    public let location: StoreLocation
    public var locator: String { location.databaseURL.path }
    private let pool: DatabasePool

    /// Opens (and with `create`, creates and migrates) the store. Several processes may open the same new
    /// store at once: creation and migration are serialised by a lock file beside the database.
    public init(location: StoreLocation, create: Bool = true, busyTimeout: TimeInterval = 30) throws {
        self.location = location
        let fileManager = FileManager.default
        let path = location.databaseURL.path
        if !create && !fileManager.fileExists(atPath: path) {
            throw StoreError.storeNotFound(path: path)
        }
        try fileManager.createDirectory(at: location.databaseURL.deletingLastPathComponent(),
                                        withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.foreignKeysEnabled = true
        configuration.label = "gaplab-store"
        configuration.prepareDatabase { db in
            // With WAL, NORMAL never corrupts the store; a power cut may only lose the last commits.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        pool = try Self.withFileLock(path: path + ".lock") {
            let pool = try DatabasePool(path: path, configuration: configuration)
            try StoreSchema.migrator.migrate(pool)
            return pool
        }
    }

    public convenience init(path: String, create: Bool = true) throws {
        try self.init(location: StoreLocation(databaseURL: URL(fileURLWithPath: path)), create: create)
    }

    private static func withFileLock<T>(path: String, _ body: () throws -> T) throws -> T {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw StoreError.invalid("cannot open lock file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        while flock(descriptor, LOCK_EX) != 0 {
            if errno != EINTR { throw StoreError.invalid("cannot lock \(path): \(String(cString: strerror(errno)))") }
        }
        defer { flock(descriptor, LOCK_UN) }
        return try body()
    }

    private var folders: ArtifactFolders { ArtifactFolders(root: location.artifactsRoot) }
    public var artifactsRoot: URL { location.artifactsRoot }

    public func artifactDirectory(runID: String) -> URL { folders.directory(runID: runID) }

    /// Runs `body` in an IMMEDIATE transaction: the write lock is taken up front (waiting up to the busy timeout).
    private func write<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.writeWithoutTransaction { db in
            var result: T?
            try db.inTransaction(.immediate) {
                result = try body(db)
                return .commit
            }
            return result!
        }
    }

    private func read<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.read(body)
    }

    private static func now() -> Double { Date().timeIntervalSince1970 }

    // MARK: Planning

    public func addExperiment(_ experiment: ExperimentRecord) throws {
        let overrides = try Self.jsonText(experiment.overrides)
        try write { db in
            try db.execute(sql: """
                INSERT INTO experiments (name, description, definition_json, overrides_json, created_at)
                VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET description = excluded.description,
                    definition_json = excluded.definition_json, overrides_json = excluded.overrides_json
                """, arguments: [experiment.name, experiment.description, experiment.definitionJSON, overrides,
                                 experiment.createdAt.timeIntervalSince1970])
        }
    }

    @discardableResult
    public func planRuns(_ specs: [RunSpec]) throws -> PlanOutcome {
        var seenInBatch = Set<String>()
        for spec in specs where !seenInBatch.insert(spec.runID).inserted {
            throw StoreError.invalid("run ID \(spec.runID) appears twice in one plan")
        }
        return try write { db in
            var outcome = PlanOutcome(inserted: [], existing: [])
            let now = Self.now()
            var nextSequence = try Int.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), -1) + 1 FROM runs") ?? 0
            for experiment in Set(specs.map(\.experiment)) {
                try db.execute(sql: "INSERT OR IGNORE INTO experiments (name, created_at) VALUES (?, ?)",
                               arguments: [experiment, now])
            }
            for spec in specs {
                try db.execute(sql: """
                    INSERT OR IGNORE INTO runs (run_id, seq, experiment, variant, short_name, seed, config_hash,
                        config_json, status, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)
                    """, arguments: [spec.runID, nextSequence, spec.experiment, spec.variant, spec.shortName,
                                     spec.seed, spec.configHash, spec.configJSON, now])
                let inserted = db.changesCount > 0
                try db.execute(sql: """
                    INSERT OR IGNORE INTO experiment_runs (experiment, run_id, variant, short_name) VALUES (?, ?, ?, ?)
                    """, arguments: [spec.experiment, spec.runID, spec.variant, spec.shortName])
                if !inserted {
                    outcome.existing.append(spec.runID)
                    continue
                }
                nextSequence += 1
                outcome.inserted.append(spec.runID)
                try Self.upsertParams(db, runID: spec.runID, spec.params)
            }
            return outcome
        }
    }

    private static func upsertParams(_ db: Database, runID: String, _ params: [String: ParamValue]) throws {
        let statement = try db.cachedStatement(sql: """
            INSERT INTO params (run_id, key, type, num_value, text_value) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(run_id, key) DO UPDATE SET type = excluded.type, num_value = excluded.num_value,
                text_value = excluded.text_value
            """)
        for (key, value) in params.sorted(by: { $0.key < $1.key }) {
            let columns = ParamColumns.encode(value)
            try statement.execute(arguments: [runID, key, columns.type, columns.number, columns.text])
        }
    }

    @discardableResult
    public func requeueRuns(experiment: String?, statuses: Set<RunStatus>) throws -> [String] {
        guard let experiment else { return try requeue(statuses: statuses, condition: nil, arguments: []) }
        return try requeue(statuses: statuses, condition: "run_id IN (SELECT run_id FROM experiment_runs WHERE experiment = ?)",
                           arguments: [experiment])
    }

    @discardableResult
    public func requeueRuns(ids: [String], statuses: Set<RunStatus>) throws -> [String] {
        if ids.isEmpty { return [] }
        return try requeue(statuses: statuses, condition: "run_id IN (\(ids.map { _ in "?" }.joined(separator: ",")))",
                           arguments: StatementArguments(ids))
    }

    private func requeue(statuses: Set<RunStatus>, condition: String?, arguments extra: StatementArguments) throws -> [String] {
        let wanted = statuses.filter { $0 != .running && $0 != .pending }
        if wanted.isEmpty { return [] }
        return try write { db in
            let placeholders = wanted.map { _ in "?" }.joined(separator: ",")
            var arguments = StatementArguments(wanted.map(\.rawValue))
            var filter = "status IN (\(placeholders))"
            if let condition {
                filter += " AND " + condition
                arguments += extra
            }
            let ids = try String.fetchAll(db, sql: "SELECT run_id FROM runs WHERE \(filter) ORDER BY seq", arguments: arguments)
            try db.execute(sql: """
                UPDATE runs SET status = 'pending', worker = NULL, lease_expires_at = NULL, ended_at = NULL,
                    exit_status = NULL, error_tail = NULL WHERE \(filter)
                """, arguments: arguments)
            return ids
        }
    }

    @discardableResult
    public func requeueCompletedRuns(experiment: String?, madeByOtherThan codeVersion: String) throws -> [String] {
        let ids: [String] = try write { db in
            var arguments: StatementArguments = [codeVersion]
            var filter = "status = 'completed' AND (code_version IS NULL OR code_version != ?)"
            if let experiment {
                filter += " AND run_id IN (SELECT run_id FROM experiment_runs WHERE experiment = ?)"
                arguments += [experiment]
            }
            let ids = try String.fetchAll(db, sql: "SELECT run_id FROM runs WHERE \(filter) ORDER BY seq", arguments: arguments)
            for id in ids {
                try db.execute(sql: "DELETE FROM metrics WHERE run_id = ?", arguments: [id])
                try db.execute(sql: "DELETE FROM artifacts WHERE run_id = ?", arguments: [id])
                try db.execute(sql: """
                    UPDATE runs SET status = 'pending', worker = NULL, lease_expires_at = NULL, ended_at = NULL,
                        exit_status = NULL, error_tail = NULL WHERE run_id = ?
                    """, arguments: [id])
            }
            return ids
        }
        // Checkpoints of the old code must not be resumed by the new code.
        for id in ids { try? FileManager.default.removeItem(at: artifactDirectory(runID: id)) }
        return ids
    }

    // MARK: Leases

    public func claimNextRun(experiment: String?, worker: String, leaseSeconds: Double,
                             codeVersion: String) throws -> ClaimedRun? {
        precondition(leaseSeconds > 0, "lease must be positive")
        return try write { db in
            let now = Self.now()
            try Self.expireLeases(db, now: now)
            var arguments: StatementArguments = []
            var filter = "status IN ('pending', 'stale')"
            if let experiment {
                filter += " AND run_id IN (SELECT run_id FROM experiment_runs WHERE experiment = ?)"
                arguments += [experiment]
            }
            // Stale runs first: they were already under way and have checkpoints to resume from.
            guard let row = try Row.fetchOne(db, sql: """
                SELECT run_id, status, attempts FROM runs WHERE \(filter)
                ORDER BY (status = 'stale') DESC, seq LIMIT 1
                """, arguments: arguments) else { return nil }
            let runID: String = row["run_id"]
            let wasStale = (row["status"] as String) == RunStatus.stale.rawValue
            let attempt = (row["attempts"] as Int) + 1
            try db.execute(sql: """
                UPDATE runs SET status = 'running', attempts = ?, worker = ?, lease_seconds = ?, lease_expires_at = ?,
                    heartbeat_at = ?, started_at = ?, ended_at = NULL, exit_status = NULL, error_tail = NULL,
                    code_version = ?
                WHERE run_id = ?
                """, arguments: [attempt, worker, leaseSeconds, now + leaseSeconds, now, now, codeVersion, runID])
            try db.execute(sql: """
                INSERT OR REPLACE INTO run_attempts (run_id, attempt, worker, status, started_at, code_version)
                VALUES (?, ?, ?, 'running', ?, ?)
                """, arguments: [runID, attempt, worker, now, codeVersion])
            guard let run = try Self.fetchRun(db, id: runID) else { throw StoreError.runNotFound(runID) }
            return ClaimedRun(run: run, worker: worker, attempt: attempt, reclaimedFromStale: wasStale)
        }
    }

    @discardableResult
    public func expireLeases() throws -> [String] {
        try write { db in try Self.expireLeases(db, now: Self.now()) }
    }

    @discardableResult
    private static func expireLeases(_ db: Database, now: Double) throws -> [String] {
        let expired = try Row.fetchAll(db, sql: """
            SELECT run_id, attempts FROM runs WHERE status = 'running' AND lease_expires_at < ?
            """, arguments: [now])
        for row in expired {
            let runID: String = row["run_id"]
            let attempt: Int = row["attempts"]
            try db.execute(sql: "UPDATE runs SET status = 'stale', ended_at = ?, lease_expires_at = NULL WHERE run_id = ?",
                           arguments: [now, runID])
            try db.execute(sql: """
                UPDATE run_attempts SET status = 'stale', ended_at = ?,
                    error_tail = 'lease expired: the worker stopped sending heartbeats'
                WHERE run_id = ? AND attempt = ?
                """, arguments: [now, runID, attempt])
        }
        return expired.map { $0["run_id"] }
    }

    /// Throws `leaseLost` unless `worker` holds the running `attempt` of the run.
    private static func requireLease(_ db: Database, runID: String, worker: String, attempt: Int) throws {
        let held = try Bool.fetchOne(db, sql: """
            SELECT 1 FROM runs WHERE run_id = ? AND status = 'running' AND worker = ? AND attempts = ?
            """, arguments: [runID, worker, attempt]) ?? false
        if !held {
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM runs WHERE run_id = ?", arguments: [runID]) == nil {
                throw StoreError.runNotFound(runID)
            }
            throw StoreError.leaseLost(runID: runID, worker: worker, attempt: attempt)
        }
    }

    public func heartbeat(runID: String, worker: String, attempt: Int) throws {
        try write { db in
            try Self.requireLease(db, runID: runID, worker: worker, attempt: attempt)
            let now = Self.now()
            try db.execute(sql: """
                UPDATE runs SET heartbeat_at = ?, lease_expires_at = ? + lease_seconds WHERE run_id = ?
                """, arguments: [now, now, runID])
        }
    }

    public func finishRun(runID: String, worker: String, attempt: Int, outcome: RunOutcome) throws {
        guard outcome.status.isTerminal else {
            throw StoreError.invalid("a run finishes as completed, failed or killed, not \(outcome.status.rawValue)")
        }
        try write { db in
            try Self.requireLease(db, runID: runID, worker: worker, attempt: attempt)
            let now = Self.now()
            try db.execute(sql: """
                UPDATE runs SET status = ?, ended_at = ?, exit_status = ?, error_tail = ?, lease_expires_at = NULL
                WHERE run_id = ?
                """, arguments: [outcome.status.rawValue, now, outcome.exitStatus, outcome.errorTail, runID])
            try db.execute(sql: """
                UPDATE run_attempts SET status = ?, ended_at = ?, exit_status = ?, error_tail = ?
                WHERE run_id = ? AND attempt = ?
                """, arguments: [outcome.status.rawValue, now, outcome.exitStatus, outcome.errorTail, runID, attempt])
        }
    }

    public func releaseRun(runID: String, worker: String, attempt: Int) throws {
        try write { db in
            try Self.requireLease(db, runID: runID, worker: worker, attempt: attempt)
            let previous = try Row.fetchOne(db, sql: """
                SELECT status FROM run_attempts WHERE run_id = ? AND attempt = ?
                """, arguments: [runID, attempt - 1])
            // A run taken over from a vanished worker goes back to stale, so it is still resumed first.
            let status = previous.map { ($0["status"] as String) == RunStatus.stale.rawValue } == true ? "stale" : "pending"
            try db.execute(sql: "DELETE FROM run_attempts WHERE run_id = ? AND attempt = ?", arguments: [runID, attempt])
            try db.execute(sql: "DELETE FROM environment WHERE run_id = ? AND attempt = ?", arguments: [runID, attempt])
            try db.execute(sql: """
                UPDATE runs SET status = ?, attempts = attempts - 1, worker = NULL, lease_expires_at = NULL,
                    started_at = NULL WHERE run_id = ?
                """, arguments: [status, runID])
        }
    }

    // MARK: Logging

    public func logMetrics(runID: String, _ points: [MetricPoint]) throws {
        if points.isEmpty { return }
        try write { db in
            let statement = try db.cachedStatement(sql: """
                INSERT INTO metrics (run_id, key, step, value, epoch, wall_time) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(run_id, key, step) DO UPDATE SET value = excluded.value, epoch = excluded.epoch,
                    wall_time = excluded.wall_time
                """)
            for point in points {
                try statement.execute(arguments: [runID, point.key, point.step, point.value.isNaN ? nil : point.value,
                                                  point.epoch, point.wallTime.timeIntervalSince1970])
            }
        }
    }

    public func logParams(runID: String, _ params: [String: ParamValue]) throws {
        try write { db in try Self.upsertParams(db, runID: runID, params) }
    }

    @discardableResult
    public func addArtifact(runID: String, name: String, file: URL) throws -> ArtifactRecord {
        // Built from the stored seconds, so the returned record equals the one read back later.
        let record = try folders.record(runID: runID, name: name, file: file, createdAt: Date(timeIntervalSince1970: Self.now()))
        try write { db in
            try db.execute(sql: """
                INSERT OR REPLACE INTO artifacts (run_id, name, path, size, sha256, created_at) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [runID, name, record.path, record.size, record.sha256, record.createdAt.timeIntervalSince1970])
        }
        return record
    }

    public func setEnvironment(runID: String, attempt: Int, _ values: [String: String]) throws {
        try write { db in
            for (key, value) in values.sorted(by: { $0.key < $1.key }) {
                try db.execute(sql: "INSERT OR REPLACE INTO environment (run_id, attempt, key, value) VALUES (?, ?, ?, ?)",
                               arguments: [runID, attempt, key, value])
            }
        }
    }

    @discardableResult
    public func importRun(_ snapshot: RunSnapshot) throws -> ImportOutcome {
        try snapshot.validate()
        let run = snapshot.run
        return try write { db in
            let existing = try String.fetchOne(db, sql: "SELECT status FROM runs WHERE run_id = ?", arguments: [run.runID])
            let outcome = ImportOutcome.decide(destination: existing.map { RunStatus(rawValue: $0) ?? .pending }, source: run.status)
            for membership in snapshot.allMemberships {
                try db.execute(sql: "INSERT OR IGNORE INTO experiments (name, created_at) VALUES (?, ?)",
                               arguments: [membership.experiment, run.createdAt.timeIntervalSince1970])
            }
            if outcome == .inserted {
                let sequence = try Int.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), -1) + 1 FROM runs") ?? 0
                try db.execute(sql: """
                    INSERT INTO runs (run_id, seq, experiment, variant, short_name, seed, config_hash, config_json, status,
                        created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)
                    """, arguments: [run.runID, sequence, run.experiment, run.variant, run.shortName, run.seed, run.configHash,
                                     run.configJSON, run.createdAt.timeIntervalSince1970])
            }
            for membership in snapshot.allMemberships {
                try db.execute(sql: """
                    INSERT OR IGNORE INTO experiment_runs (experiment, run_id, variant, short_name) VALUES (?, ?, ?, ?)
                    """, arguments: [membership.experiment, run.runID, membership.variant, membership.shortName])
            }
            guard outcome.tookSource else { return outcome }
            for table in ["params", "metrics", "artifacts", "run_attempts", "environment"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE run_id = ?", arguments: [run.runID])
            }
            try db.execute(sql: """
                UPDATE runs SET status = ?, attempts = ?, worker = ?, lease_seconds = ?, lease_expires_at = ?, heartbeat_at = ?,
                    started_at = ?, ended_at = ?, exit_status = ?, error_tail = ?, code_version = ?
                WHERE run_id = ?
                """, arguments: [run.status.rawValue, run.attempts, run.worker, run.leaseSeconds,
                                 run.leaseExpiresAt?.timeIntervalSince1970, run.heartbeatAt?.timeIntervalSince1970,
                                 run.startedAt?.timeIntervalSince1970, run.endedAt?.timeIntervalSince1970, run.exitStatus,
                                 run.errorTail, run.codeVersion, run.runID])
            try Self.upsertParams(db, runID: run.runID, snapshot.params)
            let metric = try db.cachedStatement(sql: """
                INSERT INTO metrics (run_id, key, step, value, epoch, wall_time) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(run_id, key, step) DO UPDATE SET value = excluded.value, epoch = excluded.epoch,
                    wall_time = excluded.wall_time
                """)
            for point in snapshot.metrics {
                try metric.execute(arguments: [run.runID, point.key, point.step, point.value.isNaN ? nil : point.value,
                                               point.epoch, point.wallTime.timeIntervalSince1970])
            }
            for attempt in snapshot.attempts {
                try db.execute(sql: """
                    INSERT OR REPLACE INTO run_attempts (run_id, attempt, worker, status, started_at, ended_at, exit_status,
                        error_tail, code_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [run.runID, attempt.attempt, attempt.worker, attempt.status.rawValue,
                                     attempt.startedAt.timeIntervalSince1970, attempt.endedAt?.timeIntervalSince1970,
                                     attempt.exitStatus, attempt.errorTail, attempt.codeVersion])
            }
            for entry in snapshot.environment {
                try db.execute(sql: "INSERT OR REPLACE INTO environment (run_id, attempt, key, value) VALUES (?, ?, ?, ?)",
                               arguments: [run.runID, entry.attempt, entry.key, entry.value])
            }
            for artifact in snapshot.artifacts {
                try db.execute(sql: """
                    INSERT OR REPLACE INTO artifacts (run_id, name, path, size, sha256, created_at) VALUES (?, ?, ?, ?, ?, ?)
                    """, arguments: [run.runID, artifact.name, artifact.path, artifact.size, artifact.sha256,
                                     artifact.createdAt.timeIntervalSince1970])
            }
            return outcome
        }
    }

    public func setMetricDirection(_ direction: MetricDirection, forKey key: String) throws {
        try write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO metric_directions (key, direction) VALUES (?, ?)",
                           arguments: [key, direction.rawValue])
        }
    }

    // MARK: Queries

    public func experiments() throws -> [ExperimentRecord] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM experiments ORDER BY created_at, name").map { row in
                let overridesText: String = row["overrides_json"]
                let overrides = (try? JSONDecoder().decode([String].self, from: Data(overridesText.utf8))) ?? []
                return ExperimentRecord(name: row["name"], description: row["description"],
                                        definitionJSON: row["definition_json"], overrides: overrides,
                                        createdAt: Date(timeIntervalSince1970: row["created_at"]))
            }
        }
    }

    public func runs(experiment: String?, status: RunStatus?) throws -> [RunRecord] {
        try read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let status {
                conditions.append("status = ?")
                arguments += [status.rawValue]
            }
            guard let experiment else {
                let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
                return try Row.fetchAll(db, sql: "SELECT * FROM runs \(whereClause) ORDER BY seq", arguments: arguments)
                    .map(Self.runRecord)
            }
            // Within an experiment a run carries that experiment's variant and short name.
            let whereClause = (["m.experiment = ?"] + conditions.map { "runs." + $0 }).joined(separator: " AND ")
            return try Row.fetchAll(db, sql: """
                SELECT runs.*, m.variant AS member_variant, m.short_name AS member_short_name
                FROM runs JOIN experiment_runs m ON m.run_id = runs.run_id
                WHERE \(whereClause) ORDER BY runs.seq
                """, arguments: [experiment] + arguments).map { row in
                var record = Self.runRecord(row)
                record.experiment = experiment
                record.variant = row["member_variant"]
                record.shortName = row["member_short_name"]
                return record
            }
        }
    }

    public func run(id: String) throws -> RunRecord? {
        try read { db in try Self.fetchRun(db, id: id) }
    }

    private static func fetchRun(_ db: Database, id: String) throws -> RunRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM runs WHERE run_id = ?", arguments: [id]).map(runRecord)
    }

    private static func date(_ value: Double?) -> Date? { value.map(Date.init(timeIntervalSince1970:)) }

    private static func runRecord(_ row: Row) -> RunRecord {
        RunRecord(runID: row["run_id"], sequence: row["seq"], experiment: row["experiment"], variant: row["variant"],
                  shortName: row["short_name"], seed: row["seed"], configHash: row["config_hash"],
                  configJSON: row["config_json"], status: RunStatus(rawValue: row["status"]) ?? .pending,
                  attempts: row["attempts"], worker: row["worker"], leaseSeconds: row["lease_seconds"],
                  leaseExpiresAt: date(row["lease_expires_at"]), heartbeatAt: date(row["heartbeat_at"]),
                  startedAt: date(row["started_at"]), endedAt: date(row["ended_at"]), exitStatus: row["exit_status"],
                  errorTail: row["error_tail"], codeVersion: row["code_version"],
                  createdAt: Date(timeIntervalSince1970: row["created_at"]))
    }

    public func resolveRunID(prefix: String) throws -> String {
        if prefix.isEmpty { throw StoreError.runNotFound(prefix) }
        return try read { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM runs WHERE run_id = ?", arguments: [prefix]) != nil {
                return prefix
            }
            let escaped = prefix.replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
            let matches = try String.fetchAll(db, sql: """
                SELECT run_id FROM runs WHERE run_id LIKE ? ESCAPE '\\' ORDER BY run_id LIMIT 50
                """, arguments: [escaped + "%"])
            // LIKE ignores ASCII case; run IDs are case-sensitive.
            let exact = matches.filter { $0.hasPrefix(prefix) }
            switch exact.count {
            case 0: throw StoreError.runNotFound(prefix)
            case 1: return exact[0]
            default: throw StoreError.ambiguousRunID(prefix: prefix, matches: exact)
            }
        }
    }

    public func params(runID: String) throws -> [String: ParamValue] {
        try read { db in
            var result: [String: ParamValue] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT key, type, num_value, text_value FROM params WHERE run_id = ?",
                                        arguments: [runID]) {
                result[row["key"]] = ParamColumns.decode(type: row["type"], number: row["num_value"], text: row["text_value"])
            }
            return result
        }
    }

    public func metrics(runID: String, key: String?) throws -> [MetricPoint] {
        try read { db in
            var sql = "SELECT key, step, value, epoch, wall_time FROM metrics WHERE run_id = ?"
            var arguments: StatementArguments = [runID]
            if let key {
                sql += " AND key = ?"
                arguments += [key]
            }
            sql += " ORDER BY key, step"
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                MetricPoint(key: row["key"], step: row["step"], value: (row["value"] as Double?) ?? .nan,
                            epoch: row["epoch"], wallTime: Date(timeIntervalSince1970: row["wall_time"]))
            }
        }
    }

    public func metricDirection(forKey key: String) throws -> MetricDirection {
        try read { db in try Self.directions(db)[key] } ?? MetricDirection.defaultDirection(forKey: key)
    }

    private static func directions(_ db: Database) throws -> [String: MetricDirection] {
        var result: [String: MetricDirection] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT key, direction FROM metric_directions") {
            result[row["key"]] = MetricDirection(rawValue: row["direction"])
        }
        return result
    }

    public func summaries(runIDs: [String]) throws -> [String: [MetricSummary]] {
        if runIDs.isEmpty { return [:] }
        return try read { db in
            let explicit = try Self.directions(db)
            var result: [String: [MetricSummary]] = [:]
            // Chunks keep the statement under SQLite's variable limit for large sweeps.
            for chunkStart in stride(from: 0, to: runIDs.count, by: 500) {
                let chunk = Array(runIDs[chunkStart..<min(chunkStart + 500, runIDs.count)])
                let placeholders = chunk.map { _ in "?" }.joined(separator: ",")
                let rows = try Row.fetchAll(db, sql: MetricExtremeRow.query(runFilter: "run_id IN (\(placeholders))"),
                                            arguments: StatementArguments(chunk)).map { row in
                    MetricExtremeRow(runID: row["run_id"], key: row["key"], step: row["step"],
                                     value: (row["value"] as Double?) ?? .nan, count: row["n"], isFinal: (row["from_end"] as Int) == 1,
                                     isMax: (row["max_rank"] as Int) == 1, isMin: (row["min_rank"] as Int) == 1)
                }
                result.merge(MetricExtremeRow.summaries(rows, directions: explicit)) { _, new in new }
            }
            return result
        }
    }

    public func artifacts(runID: String) throws -> [ArtifactRecord] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM artifacts WHERE run_id = ? ORDER BY name", arguments: [runID]).map { row in
                ArtifactRecord(runID: row["run_id"], name: row["name"], path: row["path"], size: row["size"],
                               sha256: row["sha256"], createdAt: Date(timeIntervalSince1970: row["created_at"]))
            }
        }
    }

    public func environment(runID: String) throws -> [EnvironmentEntry] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM environment WHERE run_id = ? ORDER BY attempt, key",
                             arguments: [runID]).map { row in
                EnvironmentEntry(runID: row["run_id"], attempt: row["attempt"], key: row["key"], value: row["value"])
            }
        }
    }

    public func attempts(runID: String) throws -> [AttemptRecord] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM run_attempts WHERE run_id = ? ORDER BY attempt",
                             arguments: [runID]).map { row in
                AttemptRecord(runID: row["run_id"], attempt: row["attempt"], worker: row["worker"],
                              status: RunStatus(rawValue: row["status"]) ?? .stale,
                              startedAt: Date(timeIntervalSince1970: row["started_at"]),
                              endedAt: Self.date(row["ended_at"]), exitStatus: row["exit_status"],
                              errorTail: row["error_tail"], codeVersion: row["code_version"])
            }
        }
    }

    public func statusCounts(experiment: String?) throws -> [RunStatus: Int] {
        try read { db in
            var sql = "SELECT status, COUNT(*) AS n FROM runs"
            var arguments: StatementArguments = []
            if let experiment {
                sql += " WHERE run_id IN (SELECT run_id FROM experiment_runs WHERE experiment = ?)"
                arguments += [experiment]
            }
            sql += " GROUP BY status"
            var counts: [RunStatus: Int] = [:]
            for row in try Row.fetchAll(db, sql: sql, arguments: arguments) {
                if let status = RunStatus(rawValue: row["status"]) { counts[status] = row["n"] }
            }
            return counts
        }
    }

    // MARK: Maintenance

    public func deleteRun(id: String) throws {
        try write { db in
            guard let status = try String.fetchOne(db, sql: "SELECT status FROM runs WHERE run_id = ?", arguments: [id]) else {
                throw StoreError.runNotFound(id)
            }
            if status == RunStatus.running.rawValue { throw StoreError.runIsRunning(id) }
            try db.execute(sql: "DELETE FROM runs WHERE run_id = ?", arguments: [id])
        }
        try folders.removeDirectory(runID: id)
    }

    @discardableResult
    public func collectGarbage() throws -> [URL] {
        let known = Set(try read { db in try String.fetchAll(db, sql: "SELECT run_id FROM runs") })
        return try folders.removeOrphans(known: known)
    }

    public func integrityCheck() throws -> String {
        try read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "\n") }
    }

    private static func jsonText(_ value: [String]) throws -> String {
        String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
    }
}
