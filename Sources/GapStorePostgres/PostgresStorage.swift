import Foundation
import GapSpec
import GapStore
import PostgresNIO

/// The PostgreSQL store: one database that workers on many hosts share. Every method runs in one transaction
/// on a connection from a pool. Claims lock the chosen row with `FOR UPDATE SKIP LOCKED`, so concurrent workers
/// never wait on each other or take the same run, and every lease and heartbeat time is the server's clock
/// (`now()`), so hosts whose clocks disagree never take over a live run. An operation that loses its connection
/// (a server restart, a network blip) is retried on a new one until `patience` runs out.
public final class PostgresStorage: Storage, @unchecked Sendable {
    public let url: PostgresURL
    public let artifactsRoot: URL
    public var locator: String { url.locator }
    private let folders: ArtifactFolders
    private let clientConfiguration: PostgresClient.Configuration
    private let clientLock = NSLock()
    private var client: PostgresClient
    private var runTask: Task<Void, Never>
    /// How long one attempt may take before its connection pool is replaced and the operation retried.
    public var attemptTimeout: TimeInterval = 20
    private let logger = Logger(label: "gaplab.store.postgres")
    /// How long an operation keeps retrying a lost connection before it fails.
    public var patience: TimeInterval = 120

    /// Opens the store at `url`, creating and migrating its schema when `create` (a missing schema is an error
    /// otherwise). `artifacts` is the folder for run artifacts; without it the folder recorded in the store is used,
    /// and the first folder given is recorded as the store's default. An unreachable server is an error at once,
    /// or after `connectPatience` seconds of retrying (a run's process waits out a server restart; a person's
    /// command with a mistyped URL does not).
    public init(url: PostgresURL, artifacts: URL?, create: Bool = true, maximumConnections: Int = 4,
                connectPatience: TimeInterval = 0) throws {
        self.url = url
        let password = url.password()
        let (tlsRequired, tlsConfiguration) = try Self.tls(url)
        let clientTLS: PostgresClient.Configuration.TLS = tlsConfiguration.map { tlsRequired ? .require($0) : .prefer($0) } ?? .disable
        let connectionTLS: PostgresConnection.Configuration.TLS = tlsConfiguration.map { tlsRequired ? .require(try! NIOSSLContext(configuration: $0)) : .prefer(try! NIOSSLContext(configuration: $0)) } ?? .disable
        var configuration = PostgresClient.Configuration(host: url.host, port: url.port, username: url.user,
                                                         password: password, database: url.database, tls: clientTLS)
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = .seconds(10)
        clientConfiguration = configuration
        (client, runTask) = Self.startClient(configuration)
        var connectionSettings = PostgresConnection.Configuration(host: url.host, port: url.port, username: url.user,
                                                                       password: password, database: url.database, tls: connectionTLS)
        connectionSettings.options.connectTimeout = TimeAmount.seconds(10)
        let connectionConfiguration = connectionSettings
        let recorded: String?
        do {
            recorded = try Self.openWithRetries(patience: connectPatience) { [logger] in
                try await Self.prepareSchema(connectionConfiguration, create: create, artifacts: artifacts?.standardizedFileURL.path,
                                             logger: logger)
            }
        } catch {
            runTask.cancel()
            throw StoreError.invalid("cannot open the PostgreSQL store \(url.locator): \(Self.describe(error))")
        }
        guard let root = artifacts ?? recorded.map({ URL(fileURLWithPath: $0, isDirectory: true) }) else {
            runTask.cancel()
            throw StoreError.invalid("the PostgreSQL store \(url.locator) has no artifacts folder yet; pass --artifacts DIR "
                                     + "(a folder every worker host can read and write) once, and it is recorded in the store")
        }
        artifactsRoot = root.standardizedFileURL
        folders = ArtifactFolders(root: artifactsRoot)
    }

    public convenience init(locator: String, artifacts: URL?, create: Bool = true, connectPatience: TimeInterval = 0) throws {
        try self.init(url: try PostgresURL(parsing: locator), artifacts: artifacts, create: create, connectPatience: connectPatience)
    }

    deinit { runTask.cancel() }

    /// Opening attempts, each given 10 s (a server that is starting up may accept a connection and not answer),
    /// retried while the server cannot be reached until `patience` runs out.
    private static func openWithRetries<T: Sendable>(patience: TimeInterval, _ body: @escaping @Sendable () async throws -> T) throws -> T {
        let deadline = Date().addingTimeInterval(patience)
        var delay: TimeInterval = 0.1
        while true {
            switch wait(seconds: 10, body) {
            case .success(let value): return value
            case .failure(let error) where isRetryable(error) && Date() < deadline:
                Thread.sleep(forTimeInterval: delay)
                delay = min(delay * 2, 2)
            case .failure(let error): throw error
            }
        }
    }

    private static func startClient(_ configuration: PostgresClient.Configuration) -> (PostgresClient, Task<Void, Never>) {
        let client = PostgresClient(configuration: configuration)
        return (client, Task.detached { await client.run() })
    }

    private func currentClient() -> PostgresClient {
        clientLock.lock(); defer { clientLock.unlock() }
        return client
    }

    /// Swaps in a new pool unless another thread already replaced `stale`.
    private func replaceClient(_ stale: PostgresClient) {
        clientLock.lock(); defer { clientLock.unlock() }
        guard client === stale else { return }
        runTask.cancel()
        (client, runTask) = Self.startClient(clientConfiguration)
    }

    public func artifactDirectory(runID: String) -> URL { folders.directory(runID: runID) }

    /// libpq's sslmode: whether TLS is required, and how certificates are checked (nil: no TLS).
    private static func tls(_ url: PostgresURL) throws -> (required: Bool, configuration: TLSConfiguration?) {
        var unverified = TLSConfiguration.makeClientConfiguration()
        unverified.certificateVerification = .none
        switch url.tls {
        case .disable: return (false, nil)
        case .allow, .prefer: return (false, unverified)
        case .require: return (true, unverified)
        case .verifyCA, .verifyFull:
            var verified = TLSConfiguration.makeClientConfiguration()
            if let file = url.rootCertificate {
                verified.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(file))
            }
            if url.tls == .verifyCA { verified.certificateVerification = .noHostnameVerification }
            return (true, verified)
        }
    }

    // MARK: Schema

    /// The schema, one migration per version, applied in order under an advisory lock so that many workers can
    /// open a new store at once. Existing migrations are never edited; the names follow the SQLite store's.
    static let migrations: [(name: String, sql: [String])] = [
        ("v1", [
            """
            CREATE TABLE experiments (
                name TEXT PRIMARY KEY NOT NULL,
                description TEXT NOT NULL DEFAULT '',
                definition_json TEXT NOT NULL DEFAULT '',
                overrides_json TEXT NOT NULL DEFAULT '[]',
                created_at DOUBLE PRECISION NOT NULL)
            """,
            """
            CREATE TABLE runs (
                run_id TEXT PRIMARY KEY NOT NULL,
                seq BIGINT NOT NULL,
                experiment TEXT NOT NULL REFERENCES experiments(name) ON DELETE RESTRICT,
                variant TEXT NOT NULL,
                short_name TEXT NOT NULL,
                seed BIGINT NOT NULL,
                config_hash TEXT NOT NULL,
                config_json TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('pending','running','completed','failed','killed','stale')),
                attempts BIGINT NOT NULL DEFAULT 0,
                worker TEXT,
                lease_seconds DOUBLE PRECISION,
                lease_expires_at DOUBLE PRECISION,
                heartbeat_at DOUBLE PRECISION,
                started_at DOUBLE PRECISION,
                ended_at DOUBLE PRECISION,
                exit_status BIGINT,
                error_tail TEXT,
                code_version TEXT,
                created_at DOUBLE PRECISION NOT NULL)
            """,
            "CREATE INDEX runs_by_experiment_status ON runs(experiment, status, seq)",
            "CREATE INDEX runs_by_status ON runs(status, seq)",
            """
            CREATE TABLE run_attempts (
                run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
                attempt BIGINT NOT NULL,
                worker TEXT NOT NULL,
                status TEXT NOT NULL,
                started_at DOUBLE PRECISION NOT NULL,
                ended_at DOUBLE PRECISION,
                exit_status BIGINT,
                error_tail TEXT,
                code_version TEXT,
                PRIMARY KEY (run_id, attempt))
            """,
            """
            CREATE TABLE params (
                run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
                key TEXT NOT NULL,
                type TEXT NOT NULL CHECK (type IN ('int','double','string','bool')),
                num_value DOUBLE PRECISION,
                text_value TEXT,
                PRIMARY KEY (run_id, key))
            """,
            "CREATE INDEX params_by_key ON params(key, num_value)",
            """
            CREATE TABLE metrics (
                run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
                key TEXT NOT NULL,
                step BIGINT NOT NULL,
                value DOUBLE PRECISION,
                epoch DOUBLE PRECISION,
                wall_time DOUBLE PRECISION NOT NULL,
                UNIQUE (run_id, key, step))
            """,
            """
            CREATE TABLE metric_directions (
                key TEXT PRIMARY KEY NOT NULL,
                direction TEXT NOT NULL CHECK (direction IN ('max','min')))
            """,
            """
            CREATE TABLE artifacts (
                run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
                name TEXT NOT NULL,
                path TEXT NOT NULL,
                size BIGINT NOT NULL,
                sha256 TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (run_id, name))
            """,
            """
            CREATE TABLE environment (
                run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
                attempt BIGINT NOT NULL,
                key TEXT NOT NULL,
                value TEXT NOT NULL,
                PRIMARY KEY (run_id, attempt, key))
            """,
        ]),
        ("v2-experiment-runs", [
            """
            CREATE TABLE experiment_runs (
                experiment TEXT NOT NULL,
                run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
                variant TEXT NOT NULL,
                short_name TEXT NOT NULL,
                PRIMARY KEY (experiment, run_id))
            """,
            "CREATE INDEX experiment_runs_by_run ON experiment_runs(run_id)",
            "INSERT INTO experiment_runs (experiment, run_id, variant, short_name) SELECT experiment, run_id, variant, short_name FROM runs",
        ]),
        // Settings of the store itself: the artifacts folder every host uses unless told otherwise.
        ("v3-store-settings", [
            "CREATE TABLE store_settings (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)",
        ]),
    ]

    /// Applies missing migrations (or, without `create`, checks there are none) and records the artifacts folder
    /// when the store has none; returns the recorded folder.
    private static func prepareSchema(_ configuration: PostgresConnection.Configuration, create: Bool, artifacts: String?,
                                      logger: Logger) async throws -> String? {
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
        do {
            let transaction = Transaction(connection: connection, logger: logger)
            try await transaction.execute("BEGIN")
            // One lock for every GapLab store on the server: migrations are rare and short.
            try await transaction.execute("SELECT pg_advisory_xact_lock(727001)")
            try await transaction.execute("CREATE TABLE IF NOT EXISTS gaplab_migrations (name TEXT PRIMARY KEY NOT NULL, applied_at DOUBLE PRECISION NOT NULL)")
            let applied = Set(try await transaction.rows("SELECT name FROM gaplab_migrations").map { try $0.string("name") })
            let missing = migrations.filter { !applied.contains($0.name) }
            if !missing.isEmpty && !create && !applied.contains("v1") {
                try await transaction.execute("ROLLBACK")
                throw StoreError.storeNotFound(path: configuration.database ?? "")
            }
            for migration in missing {
                for statement in migration.sql { try await transaction.execute(statement) }
                try await transaction.execute("INSERT INTO gaplab_migrations (name, applied_at) VALUES ($1, EXTRACT(EPOCH FROM now())::float8)",
                                              [.text(migration.name)])
            }
            if let artifacts {
                try await transaction.execute("INSERT INTO store_settings (key, value) VALUES ('artifacts', $1) ON CONFLICT (key) DO NOTHING",
                                              [.text(artifacts)])
            }
            let recorded = try await transaction.rows("SELECT value FROM store_settings WHERE key = 'artifacts'").first?.string("value")
            try await transaction.execute("COMMIT")
            try? await connection.close()
            return recorded
        } catch {
            try? await connection.close()
            throw error
        }
    }

    // MARK: Running operations

    /// Runs `body` in one transaction on a pooled connection, retrying on a new connection when the connection
    /// was lost, until `patience` runs out.
    private func transaction<T: Sendable>(_ body: @escaping @Sendable (Transaction) async throws -> T) throws -> T {
        try perform(inTransaction: true, body)
    }

    private func perform<T: Sendable>(inTransaction: Bool, _ body: @escaping @Sendable (Transaction) async throws -> T) throws -> T {
        let logger = logger
        let deadline = Date().addingTimeInterval(patience)
        var delay: TimeInterval = 0.05
        while true {
            let client = currentClient()
            let attempt = Self.wait(seconds: attemptTimeout) {
                try await client.withConnection { connection in
                    let transaction = Transaction(connection: connection, logger: logger)
                    if !inTransaction { return try await body(transaction) }
                    try await transaction.execute("BEGIN")
                    do {
                        let result = try await body(transaction)
                        try await transaction.execute("COMMIT")
                        return result
                    } catch {
                        try? await transaction.execute("ROLLBACK")
                        throw error
                    }
                }
            }
            switch attempt {
            case .success(let value):
                return value
            case .failure(let error as OperationTimedOut):
                // A pool that stopped answering (seen after a server restart) is replaced, not waited on.
                replaceClient(client)
                if Date() >= deadline { throw StoreError.invalid("PostgreSQL store \(url.locator): \(error)") }
            case .failure(let error) where Self.isRetryable(error) && Date() < deadline:
                Thread.sleep(forTimeInterval: delay)
                delay = min(delay * 2, 2)
            case .failure(let error as StoreError):
                throw error
            case .failure(let error):
                throw StoreError.invalid("PostgreSQL store: \(Self.describe(error))")
            }
        }
    }

    /// Runs `body`, one statement, in its own implicit transaction (one round trip instead of three), with the same
    /// retries as `transaction`.
    private func statement<T: Sendable>(_ body: @escaping @Sendable (Transaction) async throws -> T) throws -> T {
        try perform(inTransaction: false, body)
    }

    /// Lost connections and the server's own transient refusals (shutting down, starting up, serialization).
    static func isRetryable(_ error: Error) -> Bool {
        if error is StoreError { return false }
        if let error = error as? PSQLError {
            switch error.code {
            case .server:
                let state = error.serverInfo?[.sqlState] ?? ""
                return state.hasPrefix("08") || state.hasPrefix("57P") || state == "40001" || state == "40P01"
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown:
                return true
            default:
                return false
            }
        }
        return error is IOError || error is ChannelError || error is OperationTimedOut
    }

    struct OperationTimedOut: Error, CustomStringConvertible {
        var seconds: TimeInterval
        var description: String { "no answer within \(Int(seconds)) s" }
    }

    private final class Outcome<T>: @unchecked Sendable {
        private let lock = NSLock()
        private var result: Result<T, Error>?
        let done = DispatchSemaphore(value: 0)

        func finish(_ value: Result<T, Error>) {
            lock.lock(); defer { lock.unlock() }
            if result == nil { result = value; done.signal() }
        }

        func take(after seconds: TimeInterval) -> Result<T, Error> {
            if done.wait(timeout: .now() + seconds) == .timedOut { finish(.failure(OperationTimedOut(seconds: seconds))) }
            lock.lock(); defer { lock.unlock() }
            return result!
        }
    }

    /// The storage protocol is synchronous (workers are threads and processes); this waits for the async client at
    /// most `seconds`. Work that has not answered by then is cancelled and left behind, never waited on.
    private static func wait<T: Sendable>(seconds: TimeInterval, _ body: @escaping @Sendable () async throws -> T) -> Result<T, Error> {
        let outcome = Outcome<T>()
        let task = Task.detached {
            do { outcome.finish(.success(try await body())) } catch { outcome.finish(.failure(error)) }
        }
        let result = outcome.take(after: seconds)
        if case .failure(let error) = result, error is OperationTimedOut { task.cancel() }
        return result
    }

    /// The server's message where there is one (postgres-nio's own description hides it).
    static func describe(_ error: Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                return message + (error.serverInfo?[.detail].map { " (\($0))" } ?? "")
            }
            if let underlying = error.underlying { return "\(error.code): \(underlying)" }
            return "\(error.code)"
        }
        return "\(error)"
    }

    private static let now = "EXTRACT(EPOCH FROM now())::float8"

    // MARK: Planning

    public func addExperiment(_ experiment: ExperimentRecord) throws {
        let overrides = String(decoding: try JSONEncoder().encode(experiment.overrides), as: UTF8.self)
        try statement { tx in
            try await tx.execute("""
                INSERT INTO experiments (name, description, definition_json, overrides_json, created_at) VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (name) DO UPDATE SET description = excluded.description,
                    definition_json = excluded.definition_json, overrides_json = excluded.overrides_json
                """, [.text(experiment.name), .text(experiment.description), .text(experiment.definitionJSON), .text(overrides),
                      .double(experiment.createdAt.timeIntervalSince1970)])
        }
    }

    @discardableResult
    public func planRuns(_ specs: [RunSpec]) throws -> PlanOutcome {
        var seenInBatch = Set<String>()
        for spec in specs where !seenInBatch.insert(spec.runID).inserted {
            throw StoreError.invalid("run ID \(spec.runID) appears twice in one plan")
        }
        return try transaction { tx in
            // Planners take turns, so sequence numbers stay dense and in plan order, as in the SQLite store.
            try await tx.execute("SELECT pg_advisory_xact_lock(727002)")
            var outcome = PlanOutcome(inserted: [], existing: [])
            var next = try await tx.rows("SELECT COALESCE(MAX(seq), -1) + 1 AS next FROM runs").first?.int("next") ?? 0
            for experiment in Set(specs.map(\.experiment)).sorted() {
                try await tx.execute("INSERT INTO experiments (name, created_at) VALUES ($1, \(Self.now)) ON CONFLICT (name) DO NOTHING",
                                     [.text(experiment)])
            }
            for spec in specs {
                let inserted = try await tx.rows("""
                    INSERT INTO runs (run_id, seq, experiment, variant, short_name, seed, config_hash, config_json, status, created_at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', \(Self.now))
                    ON CONFLICT (run_id) DO NOTHING RETURNING run_id
                    """, [.text(spec.runID), .int(next), .text(spec.experiment), .text(spec.variant), .text(spec.shortName),
                          .int(spec.seed), .text(spec.configHash), .text(spec.configJSON)]).count == 1
                try await tx.execute("""
                    INSERT INTO experiment_runs (experiment, run_id, variant, short_name) VALUES ($1, $2, $3, $4)
                    ON CONFLICT (experiment, run_id) DO NOTHING
                    """, [.text(spec.experiment), .text(spec.runID), .text(spec.variant), .text(spec.shortName)])
                if !inserted {
                    outcome.existing.append(spec.runID)
                    continue
                }
                next += 1
                outcome.inserted.append(spec.runID)
                try await Self.upsertParams(tx, runID: spec.runID, spec.params)
            }
            return outcome
        }
    }

    private static func upsertParams(_ tx: Transaction, runID: String, _ params: [String: ParamValue]) async throws {
        if params.isEmpty { return }
        let sorted = params.sorted { $0.key < $1.key }
        let columns = sorted.map { ParamColumns.encode($0.value) }
        // NaN stands for a missing number in the arrays; NULLIF turns it back into NULL.
        try await tx.execute("""
            INSERT INTO params (run_id, key, type, num_value, text_value)
            SELECT $1, k, t, NULLIF(n, 'NaN'::float8), NULLIF(x, E'\\u0001') FROM unnest($2::text[], $3::text[], $4::float8[], $5::text[]) AS p(k, t, n, x)
            ON CONFLICT (run_id, key) DO UPDATE SET type = excluded.type, num_value = excluded.num_value, text_value = excluded.text_value
            """, [.text(runID), .texts(sorted.map(\.key)), .texts(columns.map(\.type)), .doubles(columns.map { $0.number ?? .nan }),
                  .texts(columns.map { $0.text ?? "\u{1}" })])
    }

    /// The runs of `experiment` (all when nil) with one of `statuses`, as an SQL condition on `runs`.
    private static func runCondition(experiment: String?, statusList: [String], firstParameter: Int) -> (String, [Bind]) {
        var condition = "status = ANY($\(firstParameter)::text[])"
        var binds: [Bind] = [.texts(statusList)]
        if let experiment {
            condition += " AND run_id IN (SELECT run_id FROM experiment_runs WHERE experiment = $\(firstParameter + 1))"
            binds.append(.text(experiment))
        }
        return (condition, binds)
    }

    @discardableResult
    public func requeueRuns(experiment: String?, statuses: Set<RunStatus>) throws -> [String] {
        let wanted = statuses.filter { $0 != .running && $0 != .pending }.map(\.rawValue).sorted()
        let (condition, binds) = Self.runCondition(experiment: experiment, statusList: wanted, firstParameter: 1)
        return try requeue(wanted: wanted, condition: condition, binds: binds)
    }

    @discardableResult
    public func requeueRuns(ids: [String], statuses: Set<RunStatus>) throws -> [String] {
        let wanted = statuses.filter { $0 != .running && $0 != .pending }.map(\.rawValue).sorted()
        return try requeue(wanted: ids.isEmpty ? [] : wanted, condition: "status = ANY($1::text[]) AND run_id = ANY($2::text[])",
                           binds: [.texts(wanted), .texts(ids)])
    }

    private func requeue(wanted: [String], condition: String, binds: [Bind]) throws -> [String] {
        if wanted.isEmpty { return [] }
        return try transaction { tx in
            try await tx.rows("""
                WITH chosen AS (SELECT run_id, seq FROM runs WHERE \(condition) FOR UPDATE)
                UPDATE runs SET status = 'pending', worker = NULL, lease_expires_at = NULL, ended_at = NULL, exit_status = NULL,
                    error_tail = NULL FROM chosen WHERE runs.run_id = chosen.run_id RETURNING runs.run_id, chosen.seq
                """, binds).sorted { try $0.int("seq") < $1.int("seq") }.map { try $0.string("run_id") }
        }
    }

    @discardableResult
    public func requeueCompletedRuns(experiment: String?, madeByOtherThan codeVersion: String) throws -> [String] {
        var condition = "status = 'completed' AND (code_version IS NULL OR code_version <> $1)"
        var binds: [Bind] = [.text(codeVersion)]
        if let experiment {
            condition += " AND run_id IN (SELECT run_id FROM experiment_runs WHERE experiment = $2)"
            binds.append(.text(experiment))
        }
        let ids: [String] = try transaction { [condition, binds] tx in
            let ids = try await tx.rows("SELECT run_id FROM runs WHERE \(condition) ORDER BY seq FOR UPDATE", binds).map { try $0.string("run_id") }
            if ids.isEmpty { return [] }
            try await tx.execute("DELETE FROM metrics WHERE run_id = ANY($1::text[])", [.texts(ids)])
            try await tx.execute("DELETE FROM artifacts WHERE run_id = ANY($1::text[])", [.texts(ids)])
            try await tx.execute("""
                UPDATE runs SET status = 'pending', worker = NULL, lease_expires_at = NULL, ended_at = NULL, exit_status = NULL,
                    error_tail = NULL WHERE run_id = ANY($1::text[])
                """, [.texts(ids)])
            return ids
        }
        // Checkpoints of the old code must not be resumed by the new code.
        for id in ids { try? folders.removeDirectory(runID: id) }
        return ids
    }

    // MARK: Leases

    public func claimNextRun(experiment: String?, worker: String, leaseSeconds: Double, codeVersion: String) throws -> ClaimedRun? {
        precondition(leaseSeconds > 0, "lease must be positive")
        let (condition, binds) = Self.runCondition(experiment: experiment, statusList: ["pending", "stale"], firstParameter: 1)
        return try transaction { tx in
            try await Self.expireLeases(tx)
            // Stale runs first: they were already under way and have checkpoints to resume from.
            guard let row = try await tx.rows("""
                SELECT run_id, status, attempts FROM runs WHERE \(condition)
                ORDER BY (status = 'stale') DESC, seq LIMIT 1 FOR UPDATE SKIP LOCKED
                """, binds).first else { return nil }
            let runID = try row.string("run_id")
            let wasStale = try row.string("status") == RunStatus.stale.rawValue
            let attempt = try row.int("attempts") + 1
            try await tx.execute("""
                UPDATE runs SET status = 'running', attempts = $1, worker = $2, lease_seconds = $3, lease_expires_at = \(Self.now) + $3,
                    heartbeat_at = \(Self.now), started_at = \(Self.now), ended_at = NULL, exit_status = NULL, error_tail = NULL,
                    code_version = $4
                WHERE run_id = $5
                """, [.int(attempt), .text(worker), .double(leaseSeconds), .text(codeVersion), .text(runID)])
            try await tx.execute("""
                INSERT INTO run_attempts (run_id, attempt, worker, status, started_at, code_version)
                VALUES ($1, $2, $3, 'running', \(Self.now), $4)
                ON CONFLICT (run_id, attempt) DO UPDATE SET worker = excluded.worker, status = 'running',
                    started_at = excluded.started_at, ended_at = NULL, exit_status = NULL, error_tail = NULL,
                    code_version = excluded.code_version
                """, [.text(runID), .int(attempt), .text(worker), .text(codeVersion)])
            guard let run = try await Self.fetchRun(tx, id: runID) else { throw StoreError.runNotFound(runID) }
            return ClaimedRun(run: run, worker: worker, attempt: attempt, reclaimedFromStale: wasStale)
        }
    }

    @discardableResult
    public func expireLeases() throws -> [String] {
        try transaction { tx in try await Self.expireLeases(tx) }
    }

    /// Marks running runs whose lease is past (by the server's clock) as stale, skipping rows another
    /// transaction holds (that one is heartbeating or finishing them).
    @discardableResult
    private static func expireLeases(_ tx: Transaction) async throws -> [String] {
        let expired = try await tx.rows("""
            WITH expired AS (
                SELECT run_id FROM runs WHERE status = 'running' AND lease_expires_at < \(now) FOR UPDATE SKIP LOCKED)
            UPDATE runs SET status = 'stale', ended_at = \(now), lease_expires_at = NULL FROM expired
            WHERE runs.run_id = expired.run_id RETURNING runs.run_id, runs.attempts
            """)
        for row in expired {
            try await tx.execute("""
                UPDATE run_attempts SET status = 'stale', ended_at = \(now),
                    error_tail = 'lease expired: the worker stopped sending heartbeats'
                WHERE run_id = $1 AND attempt = $2
                """, [.text(try row.string("run_id")), .int(try row.int("attempts"))])
        }
        return try expired.map { try $0.string("run_id") }
    }

    /// Locks the run and throws `leaseLost` unless `worker` holds its running `attempt`.
    private static func requireLease(_ tx: Transaction, runID: String, worker: String, attempt: Int) async throws {
        guard let row = try await tx.rows("SELECT status, worker, attempts FROM runs WHERE run_id = $1 FOR UPDATE", [.text(runID)]).first else {
            throw StoreError.runNotFound(runID)
        }
        let held = try row.string("status") == RunStatus.running.rawValue && row.optionalString("worker") == worker
            && row.int("attempts") == attempt
        if !held { throw StoreError.leaseLost(runID: runID, worker: worker, attempt: attempt) }
    }

    public func heartbeat(runID: String, worker: String, attempt: Int) throws {
        try statement { tx in
            let extended = try await tx.rows("""
                UPDATE runs SET heartbeat_at = \(Self.now), lease_expires_at = \(Self.now) + lease_seconds
                WHERE run_id = $1 AND status = 'running' AND worker = $2 AND attempts = $3 RETURNING run_id
                """, [.text(runID), .text(worker), .int(attempt)])
            if extended.isEmpty { try await Self.requireLease(tx, runID: runID, worker: worker, attempt: attempt) }
        }
    }

    public func finishRun(runID: String, worker: String, attempt: Int, outcome: RunOutcome) throws {
        guard outcome.status.isTerminal else {
            throw StoreError.invalid("a run finishes as completed, failed or killed, not \(outcome.status.rawValue)")
        }
        try transaction { tx in
            // A retry after a commit whose answer was lost finds its own outcome already recorded.
            if let row = try await tx.rows("SELECT status, worker, attempts FROM runs WHERE run_id = $1", [.text(runID)]).first,
               try row.string("status") == outcome.status.rawValue, try row.optionalString("worker") == worker,
               try row.int("attempts") == attempt {
                return
            }
            try await Self.requireLease(tx, runID: runID, worker: worker, attempt: attempt)
            let exit: Bind = .int(outcome.exitStatus), tail: Bind = .text(outcome.errorTail)
            try await tx.execute("""
                UPDATE runs SET status = $1, ended_at = \(Self.now), exit_status = $2, error_tail = $3, lease_expires_at = NULL
                WHERE run_id = $4
                """, [.text(outcome.status.rawValue), exit, tail, .text(runID)])
            try await tx.execute("""
                UPDATE run_attempts SET status = $1, ended_at = \(Self.now), exit_status = $2, error_tail = $3
                WHERE run_id = $4 AND attempt = $5
                """, [.text(outcome.status.rawValue), exit, tail, .text(runID), .int(attempt)])
        }
    }

    public func releaseRun(runID: String, worker: String, attempt: Int) throws {
        try transaction { tx in
            try await Self.requireLease(tx, runID: runID, worker: worker, attempt: attempt)
            let previous = try await tx.rows("SELECT status FROM run_attempts WHERE run_id = $1 AND attempt = $2",
                                             [.text(runID), .int(attempt - 1)]).first
            // A run taken over from a vanished worker goes back to stale, so it is still resumed first.
            let status = try previous?.string("status") == RunStatus.stale.rawValue ? "stale" : "pending"
            try await tx.execute("DELETE FROM run_attempts WHERE run_id = $1 AND attempt = $2", [.text(runID), .int(attempt)])
            try await tx.execute("DELETE FROM environment WHERE run_id = $1 AND attempt = $2", [.text(runID), .int(attempt)])
            try await tx.execute("""
                UPDATE runs SET status = $1, attempts = attempts - 1, worker = NULL, lease_expires_at = NULL, started_at = NULL
                WHERE run_id = $2
                """, [.text(status), .text(runID)])
        }
    }

    // MARK: Logging

    public func logMetrics(runID: String, _ points: [MetricPoint]) throws {
        if points.isEmpty { return }
        try statement { tx in try await Self.upsertMetrics(tx, runID: runID, points) }
    }

    /// One `unnest` upsert for a batch, idempotent by (run, key, step); within the batch the last point of a
    /// (key, step) wins, as a sequence of single upserts would leave it (one statement may not touch a row twice).
    private static func upsertMetrics(_ tx: Transaction, runID: String, _ points: [MetricPoint]) async throws {
        var latest: [String: Int] = [:]
        for (index, point) in points.enumerated() { latest["\(point.key)\u{0}\(point.step)"] = index }
        let batch = latest.values.sorted().map { points[$0] }
        if batch.isEmpty { return }
        try await tx.execute("""
            INSERT INTO metrics (run_id, key, step, value, epoch, wall_time)
            SELECT $1, k, s, NULLIF(v, 'NaN'::float8), NULLIF(e, 'NaN'::float8), w
            FROM unnest($2::text[], $3::bigint[], $4::float8[], $5::float8[], $6::float8[]) AS m(k, s, v, e, w)
            ON CONFLICT (run_id, key, step) DO UPDATE SET value = excluded.value, epoch = excluded.epoch, wall_time = excluded.wall_time
            """, [.text(runID), .texts(batch.map(\.key)), .ints(batch.map(\.step)), .doubles(batch.map(\.value)),
                  .doubles(batch.map { $0.epoch ?? .nan }), .doubles(batch.map { $0.wallTime.timeIntervalSince1970 })])
    }

    public func logParams(runID: String, _ params: [String: ParamValue]) throws {
        try statement { tx in try await Self.upsertParams(tx, runID: runID, params) }
    }

    @discardableResult
    public func addArtifact(runID: String, name: String, file: URL) throws -> ArtifactRecord {
        var record = try folders.record(runID: runID, name: name, file: file, createdAt: Date())
        let createdAt = try statement { [record] tx in
            try await tx.rows("""
                INSERT INTO artifacts (run_id, name, path, size, sha256, created_at) VALUES ($1, $2, $3, $4, $5, \(Self.now))
                ON CONFLICT (run_id, name) DO UPDATE SET path = excluded.path, size = excluded.size, sha256 = excluded.sha256,
                    created_at = excluded.created_at
                RETURNING created_at
                """, [.text(runID), .text(name), .text(record.path), .int(Int(record.size)), .text(record.sha256)]).first!.double("created_at")
        }
        // The stored seconds, so the returned record equals the one read back later.
        record.createdAt = Date(timeIntervalSince1970: createdAt)
        return record
    }

    public func setEnvironment(runID: String, attempt: Int, _ values: [String: String]) throws {
        if values.isEmpty { return }
        let sorted = values.sorted { $0.key < $1.key }
        try statement { tx in
            try await tx.execute("""
                INSERT INTO environment (run_id, attempt, key, value) SELECT $1, $2, k, v FROM unnest($3::text[], $4::text[]) AS e(k, v)
                ON CONFLICT (run_id, attempt, key) DO UPDATE SET value = excluded.value
                """, [.text(runID), .int(attempt), .texts(sorted.map(\.key)), .texts(sorted.map(\.value))])
        }
    }

    @discardableResult
    public func importRun(_ snapshot: RunSnapshot) throws -> ImportOutcome {
        try snapshot.validate()
        return try transaction { tx in
            let run = snapshot.run
            let id: Bind = .text(run.runID)
            // Importers take turns with planners, so a run is inserted once and sequence numbers stay dense.
            try await tx.execute("SELECT pg_advisory_xact_lock(727002)")
            let existing = try await tx.rows("SELECT status FROM runs WHERE run_id = $1 FOR UPDATE", [id]).first
            let outcome = ImportOutcome.decide(destination: try existing.map { RunStatus(rawValue: try $0.string("status")) ?? .pending },
                                               source: run.status)
            let memberships = snapshot.allMemberships
            try await tx.execute("""
                INSERT INTO experiments (name, created_at) SELECT e, $2 FROM unnest($1::text[]) AS x(e) ON CONFLICT (name) DO NOTHING
                """, [.texts(memberships.map(\.experiment)), .double(run.createdAt.timeIntervalSince1970)])
            if outcome == .inserted {
                try await tx.execute("""
                    INSERT INTO runs (run_id, seq, experiment, variant, short_name, seed, config_hash, config_json, status, created_at)
                    SELECT $1, COALESCE(MAX(seq), -1) + 1, $2, $3, $4, $5, $6, $7, 'pending', $8 FROM runs
                    """, [id, .text(run.experiment), .text(run.variant), .text(run.shortName), .int(run.seed),
                          .text(run.configHash), .text(run.configJSON), .double(run.createdAt.timeIntervalSince1970)])
            }
            try await tx.execute("""
                INSERT INTO experiment_runs (experiment, run_id, variant, short_name)
                SELECT e, $1, v, s FROM unnest($2::text[], $3::text[], $4::text[]) AS m(e, v, s)
                ON CONFLICT (experiment, run_id) DO NOTHING
                """, [id, .texts(memberships.map(\.experiment)), .texts(memberships.map(\.variant)),
                      .texts(memberships.map(\.shortName))])
            guard outcome.tookSource else { return outcome }
            for table in ["params", "metrics", "artifacts", "run_attempts", "environment"] {
                try await tx.execute("DELETE FROM \(table) WHERE run_id = $1", [id])
            }
            try await tx.execute("""
                UPDATE runs SET status = $2, attempts = $3, worker = $4, lease_seconds = $5, lease_expires_at = $6, heartbeat_at = $7,
                    started_at = $8, ended_at = $9, exit_status = $10, error_tail = $11, code_version = $12
                WHERE run_id = $1
                """, [id, .text(run.status.rawValue), .int(run.attempts), .text(run.worker), .double(run.leaseSeconds),
                      .double(run.leaseExpiresAt?.timeIntervalSince1970), .double(run.heartbeatAt?.timeIntervalSince1970),
                      .double(run.startedAt?.timeIntervalSince1970), .double(run.endedAt?.timeIntervalSince1970),
                      .int(run.exitStatus), .text(run.errorTail), .text(run.codeVersion)])
            try await Self.upsertParams(tx, runID: run.runID, snapshot.params)
            try await Self.upsertMetrics(tx, runID: run.runID, snapshot.metrics)
            for attempt in snapshot.attempts {
                try await tx.execute("""
                    INSERT INTO run_attempts (run_id, attempt, worker, status, started_at, ended_at, exit_status, error_tail, code_version)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                    """, [id, .int(attempt.attempt), .text(attempt.worker), .text(attempt.status.rawValue),
                          .double(attempt.startedAt.timeIntervalSince1970), .double(attempt.endedAt?.timeIntervalSince1970),
                          .int(attempt.exitStatus), .text(attempt.errorTail), .text(attempt.codeVersion)])
            }
            if !snapshot.environment.isEmpty {
                let entries = snapshot.environment
                try await tx.execute("""
                    INSERT INTO environment (run_id, attempt, key, value)
                    SELECT $1, a, k, v FROM unnest($2::bigint[], $3::text[], $4::text[]) AS e(a, k, v)
                    ON CONFLICT (run_id, attempt, key) DO UPDATE SET value = excluded.value
                    """, [id, .ints(entries.map(\.attempt)), .texts(entries.map(\.key)), .texts(entries.map(\.value))])
            }
            for artifact in snapshot.artifacts {
                try await tx.execute("""
                    INSERT INTO artifacts (run_id, name, path, size, sha256, created_at) VALUES ($1, $2, $3, $4, $5, $6)
                    ON CONFLICT (run_id, name) DO UPDATE SET path = excluded.path, size = excluded.size, sha256 = excluded.sha256,
                        created_at = excluded.created_at
                    """, [id, .text(artifact.name), .text(artifact.path), .int(Int(artifact.size)), .text(artifact.sha256),
                          .double(artifact.createdAt.timeIntervalSince1970)])
            }
            return outcome
        }
    }

    public func setMetricDirection(_ direction: MetricDirection, forKey key: String) throws {
        try statement { tx in
            try await tx.execute("""
                INSERT INTO metric_directions (key, direction) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET direction = excluded.direction
                """, [.text(key), .text(direction.rawValue)])
        }
    }

    // MARK: Queries

    public func experiments() throws -> [ExperimentRecord] {
        try statement { tx in
            try await tx.rows("SELECT * FROM experiments ORDER BY created_at, name").map { row in
                let overrides = (try? JSONDecoder().decode([String].self, from: Data(try row.string("overrides_json").utf8))) ?? []
                return ExperimentRecord(name: try row.string("name"), description: try row.string("description"),
                                        definitionJSON: try row.string("definition_json"), overrides: overrides,
                                        createdAt: Date(timeIntervalSince1970: try row.double("created_at")))
            }
        }
    }

    public func runs(experiment: String?, status: RunStatus?) throws -> [RunRecord] {
        try statement { tx in
            guard let experiment else {
                if let status {
                    return try await tx.rows("SELECT * FROM runs WHERE status = $1 ORDER BY seq", [.text(status.rawValue)]).map(Self.runRecord)
                }
                return try await tx.rows("SELECT * FROM runs ORDER BY seq").map(Self.runRecord)
            }
            // Within an experiment a run carries that experiment's variant and short name.
            var binds: [Bind] = [.text(experiment)]
            var condition = "m.experiment = $1"
            if let status {
                condition += " AND runs.status = $2"
                binds.append(.text(status.rawValue))
            }
            return try await tx.rows("""
                SELECT runs.*, m.variant AS member_variant, m.short_name AS member_short_name
                FROM runs JOIN experiment_runs m ON m.run_id = runs.run_id WHERE \(condition) ORDER BY runs.seq
                """, binds).map { row in
                var record = try Self.runRecord(row)
                record.experiment = experiment
                record.variant = try row.string("member_variant")
                record.shortName = try row.string("member_short_name")
                return record
            }
        }
    }

    public func run(id: String) throws -> RunRecord? {
        try statement { tx in try await Self.fetchRun(tx, id: id) }
    }

    private static func fetchRun(_ tx: Transaction, id: String) async throws -> RunRecord? {
        try await tx.rows("SELECT * FROM runs WHERE run_id = $1", [.text(id)]).first.map(runRecord)
    }

    private static func runRecord(_ row: Row) throws -> RunRecord {
        RunRecord(runID: try row.string("run_id"), sequence: try row.int("seq"), experiment: try row.string("experiment"),
                  variant: try row.string("variant"), shortName: try row.string("short_name"), seed: try row.int("seed"),
                  configHash: try row.string("config_hash"), configJSON: try row.string("config_json"),
                  status: RunStatus(rawValue: try row.string("status")) ?? .pending, attempts: try row.int("attempts"),
                  worker: try row.optionalString("worker"), leaseSeconds: try row.optionalDouble("lease_seconds"),
                  leaseExpiresAt: try row.optionalDate("lease_expires_at"), heartbeatAt: try row.optionalDate("heartbeat_at"),
                  startedAt: try row.optionalDate("started_at"), endedAt: try row.optionalDate("ended_at"),
                  exitStatus: try row.optionalInt("exit_status"), errorTail: try row.optionalString("error_tail"),
                  codeVersion: try row.optionalString("code_version"),
                  createdAt: Date(timeIntervalSince1970: try row.double("created_at")))
    }

    public func resolveRunID(prefix: String) throws -> String {
        if prefix.isEmpty { throw StoreError.runNotFound(prefix) }
        let matches: [String] = try transaction { tx in
            if try await !tx.rows("SELECT 1 FROM runs WHERE run_id = $1", [.text(prefix)]).isEmpty { return [prefix] }
            return try await tx.rows("SELECT run_id FROM runs WHERE starts_with(run_id, $1) ORDER BY run_id LIMIT 50",
                                     [.text(prefix)]).map { try $0.string("run_id") }
        }
        switch matches.count {
        case 0: throw StoreError.runNotFound(prefix)
        case 1: return matches[0]
        default: throw StoreError.ambiguousRunID(prefix: prefix, matches: matches)
        }
    }

    public func params(runID: String) throws -> [String: ParamValue] {
        try statement { tx in
            var result: [String: ParamValue] = [:]
            for row in try await tx.rows("SELECT key, type, num_value, text_value FROM params WHERE run_id = $1", [.text(runID)]) {
                result[try row.string("key")] = ParamColumns.decode(type: try row.string("type"), number: try row.optionalDouble("num_value"),
                                                                   text: try row.optionalString("text_value"))
            }
            return result
        }
    }

    public func metrics(runID: String, key: String?) throws -> [MetricPoint] {
        try statement { tx in
            var sql = "SELECT key, step, value, epoch, wall_time FROM metrics WHERE run_id = $1"
            var binds: [Bind] = [.text(runID)]
            if let key {
                sql += " AND key = $2"
                binds.append(.text(key))
            }
            return try await tx.rows(sql + " ORDER BY key, step", binds).map { row in
                MetricPoint(key: try row.string("key"), step: try row.int("step"), value: try row.optionalDouble("value") ?? .nan,
                            epoch: try row.optionalDouble("epoch"), wallTime: Date(timeIntervalSince1970: try row.double("wall_time")))
            }
        }
    }

    public func metricDirection(forKey key: String) throws -> MetricDirection {
        try statement { tx in try await Self.directions(tx)[key] } ?? MetricDirection.defaultDirection(forKey: key)
    }

    private static func directions(_ tx: Transaction) async throws -> [String: MetricDirection] {
        var result: [String: MetricDirection] = [:]
        for row in try await tx.rows("SELECT key, direction FROM metric_directions") {
            result[try row.string("key")] = MetricDirection(rawValue: try row.string("direction"))
        }
        return result
    }

    public func summaries(runIDs: [String]) throws -> [String: [MetricSummary]] {
        if runIDs.isEmpty { return [:] }
        return try transaction { tx in
            let explicit = try await Self.directions(tx)
            let rows = try await tx.rows(MetricExtremeRow.query(runFilter: "run_id = ANY($1::text[])"), [.texts(runIDs)]).map { row in
                MetricExtremeRow(runID: try row.string("run_id"), key: try row.string("key"), step: try row.int("step"),
                                 value: try row.optionalDouble("value") ?? .nan, count: try row.int("n"),
                                 isFinal: try row.int("from_end") == 1, isMax: try row.int("max_rank") == 1,
                                 isMin: try row.int("min_rank") == 1)
            }
            return MetricExtremeRow.summaries(rows, directions: explicit)
        }
    }

    public func artifacts(runID: String) throws -> [ArtifactRecord] {
        try statement { tx in
            try await tx.rows("SELECT * FROM artifacts WHERE run_id = $1 ORDER BY name", [.text(runID)]).map { row in
                ArtifactRecord(runID: try row.string("run_id"), name: try row.string("name"), path: try row.string("path"),
                               size: Int64(try row.int("size")), sha256: try row.string("sha256"),
                               createdAt: Date(timeIntervalSince1970: try row.double("created_at")))
            }
        }
    }

    public func environment(runID: String) throws -> [EnvironmentEntry] {
        try statement { tx in
            try await tx.rows("SELECT * FROM environment WHERE run_id = $1 ORDER BY attempt, key", [.text(runID)]).map { row in
                EnvironmentEntry(runID: try row.string("run_id"), attempt: try row.int("attempt"), key: try row.string("key"),
                                 value: try row.string("value"))
            }
        }
    }

    public func attempts(runID: String) throws -> [AttemptRecord] {
        try statement { tx in
            try await tx.rows("SELECT * FROM run_attempts WHERE run_id = $1 ORDER BY attempt", [.text(runID)]).map { row in
                AttemptRecord(runID: try row.string("run_id"), attempt: try row.int("attempt"), worker: try row.string("worker"),
                              status: RunStatus(rawValue: try row.string("status")) ?? .stale,
                              startedAt: Date(timeIntervalSince1970: try row.double("started_at")),
                              endedAt: try row.optionalDate("ended_at"), exitStatus: try row.optionalInt("exit_status"),
                              errorTail: try row.optionalString("error_tail"), codeVersion: try row.optionalString("code_version"))
            }
        }
    }

    public func statusCounts(experiment: String?) throws -> [RunStatus: Int] {
        try statement { tx in
            var sql = "SELECT status, COUNT(*) AS n FROM runs"
            var binds: [Bind] = []
            if let experiment {
                sql += " WHERE run_id IN (SELECT run_id FROM experiment_runs WHERE experiment = $1)"
                binds.append(.text(experiment))
            }
            var counts: [RunStatus: Int] = [:]
            for row in try await tx.rows(sql + " GROUP BY status", binds) {
                if let status = RunStatus(rawValue: try row.string("status")) { counts[status] = try row.int("n") }
            }
            return counts
        }
    }

    // MARK: Maintenance

    public func deleteRun(id: String) throws {
        try transaction { tx in
            guard let row = try await tx.rows("SELECT status FROM runs WHERE run_id = $1 FOR UPDATE", [.text(id)]).first else {
                throw StoreError.runNotFound(id)
            }
            if try row.string("status") == RunStatus.running.rawValue { throw StoreError.runIsRunning(id) }
            try await tx.execute("DELETE FROM runs WHERE run_id = $1", [.text(id)])
        }
        try folders.removeDirectory(runID: id)
    }

    @discardableResult
    public func collectGarbage() throws -> [URL] {
        let known = Set(try statement { tx in try await tx.rows("SELECT run_id FROM runs").map { try $0.string("run_id") } })
        return try folders.removeOrphans(known: known)
    }

    /// Every migration applied, every table answering, and no run pointing at nothing.
    public func integrityCheck() throws -> String {
        try transaction { tx in
            let applied = Set(try await tx.rows("SELECT name FROM gaplab_migrations").map { try $0.string("name") })
            let missing = Self.migrations.map(\.name).filter { !applied.contains($0) }
            if !missing.isEmpty { return "missing migrations: " + missing.joined(separator: ", ") }
            let orphans = try await tx.rows("""
                SELECT COUNT(*) AS n FROM experiment_runs m LEFT JOIN runs r ON r.run_id = m.run_id WHERE r.run_id IS NULL
                """).first?.int("n") ?? 0
            if orphans > 0 { return "\(orphans) experiment memberships name missing runs" }
            let running = try await tx.rows("SELECT COUNT(*) AS n FROM runs WHERE status = 'running' AND worker IS NULL").first?.int("n") ?? 0
            return running > 0 ? "\(running) running runs have no worker" : "ok"
        }
    }
}
