import GRDB

/// The store's schema, one GRDB migration per version. A new version is a new migration appended here;
/// existing migrations are never edited, so older stores upgrade in place.
enum StoreSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE experiments (
                    name TEXT PRIMARY KEY NOT NULL,
                    description TEXT NOT NULL DEFAULT '',
                    definition_json TEXT NOT NULL DEFAULT '',
                    overrides_json TEXT NOT NULL DEFAULT '[]',
                    created_at REAL NOT NULL
                );
                CREATE TABLE runs (
                    run_id TEXT PRIMARY KEY NOT NULL,
                    seq INTEGER NOT NULL,
                    experiment TEXT NOT NULL REFERENCES experiments(name) ON DELETE RESTRICT,
                    variant TEXT NOT NULL,
                    short_name TEXT NOT NULL,
                    seed INTEGER NOT NULL,
                    config_hash TEXT NOT NULL,
                    config_json TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('pending','running','completed','failed','killed','stale')),
                    attempts INTEGER NOT NULL DEFAULT 0,
                    worker TEXT,
                    lease_seconds REAL,
                    lease_expires_at REAL,
                    heartbeat_at REAL,
                    started_at REAL,
                    ended_at REAL,
                    exit_status INTEGER,
                    error_tail TEXT,
                    code_version TEXT,
                    created_at REAL NOT NULL
                );
                CREATE INDEX runs_by_experiment_status ON runs(experiment, status, seq);
                CREATE INDEX runs_by_status ON runs(status, seq);
                CREATE TABLE run_attempts (
                    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
                    attempt INTEGER NOT NULL,
                    worker TEXT NOT NULL,
                    status TEXT NOT NULL,
                    started_at REAL NOT NULL,
                    ended_at REAL,
                    exit_status INTEGER,
                    error_tail TEXT,
                    code_version TEXT,
                    PRIMARY KEY (run_id, attempt)
                ) WITHOUT ROWID;
                CREATE TABLE params (
                    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
                    key TEXT NOT NULL,
                    type TEXT NOT NULL CHECK (type IN ('int','double','string','bool')),
                    num_value REAL,
                    text_value TEXT,
                    PRIMARY KEY (run_id, key)
                ) WITHOUT ROWID;
                CREATE INDEX params_by_key ON params(key, num_value);
                CREATE TABLE metrics (
                    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
                    key TEXT NOT NULL,
                    step INTEGER NOT NULL,
                    value REAL,
                    epoch REAL,
                    wall_time REAL NOT NULL,
                    UNIQUE (run_id, key, step)
                );
                CREATE TABLE metric_directions (
                    key TEXT PRIMARY KEY NOT NULL,
                    direction TEXT NOT NULL CHECK (direction IN ('max','min'))
                );
                CREATE TABLE artifacts (
                    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    path TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    sha256 TEXT NOT NULL,
                    created_at REAL NOT NULL,
                    PRIMARY KEY (run_id, name)
                ) WITHOUT ROWID;
                CREATE TABLE environment (
                    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
                    attempt INTEGER NOT NULL,
                    key TEXT NOT NULL,
                    value TEXT NOT NULL,
                    PRIMARY KEY (run_id, attempt, key)
                ) WITHOUT ROWID;
                """)
        }
        // An experiment's runs: a run belongs to every experiment that planned its configuration and seed, so a
        // configuration two experiments share runs once and is reported in both.
        migrator.registerMigration("v2-experiment-runs") { db in
            try db.execute(sql: """
                CREATE TABLE experiment_runs (
                    experiment TEXT NOT NULL,
                    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
                    variant TEXT NOT NULL,
                    short_name TEXT NOT NULL,
                    PRIMARY KEY (experiment, run_id)
                );
                CREATE INDEX experiment_runs_by_run ON experiment_runs(run_id);
                INSERT INTO experiment_runs (experiment, run_id, variant, short_name)
                    SELECT experiment, run_id, variant, short_name FROM runs;
                """)
        }
        return migrator
    }
}
