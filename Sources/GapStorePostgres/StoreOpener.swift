import Foundation
import GapStore

/// Opens the store a locator names: a `postgresql://` URL for the PostgreSQL store, anything else a path to an
/// SQLite file. The locator is `--store`, else `$GAPLAB_STORE`, else `.gaplab/gaplab.sqlite`; the artifacts folder
/// is `--artifacts`, else `$GAPLAB_ARTIFACTS_ROOT`, else the store's own (beside an SQLite file, or recorded in a
/// PostgreSQL store).
public enum StoreOpener {
    public static let artifactsVariable = "GAPLAB_ARTIFACTS_ROOT"
    /// How long the process of a run waits for an unreachable server store before it fails.
    public static let runConnectPatience: TimeInterval = 120

    public static func locator(explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        [explicit, environment[StoreLocation.environmentVariable]].compactMap { $0 }.first(where: { !$0.isEmpty })
            ?? StoreLocation.defaultRelativePath
    }

    /// With `create: false` a missing store is an error, so a mistyped locator never makes a new store. A server
    /// store that cannot be reached is an error at once, or after `connectPatience` seconds of retrying (what the
    /// processes of runs ask for, so that they wait out a server restart).
    /// Children of this process (the runs) inherit what they need to open the same store: the artifacts folder and
    /// the URL's password go into their environment, never onto their command line.
    public static func open(store explicit: String?, artifacts explicitArtifacts: String? = nil, create: Bool,
                            connectPatience: TimeInterval = 0,
                            environment: [String: String] = ProcessInfo.processInfo.environment,
                            currentDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)) throws -> any Storage {
        let locator = locator(explicit: explicit, environment: environment)
        let artifactsText = [explicitArtifacts, environment[artifactsVariable]].compactMap { $0 }.first(where: { !$0.isEmpty })
        let artifacts = artifactsText.map { text in
            (text.hasPrefix("/") ? URL(fileURLWithPath: text, isDirectory: true)
                                 : currentDirectory.appendingPathComponent(text, isDirectory: true)).standardizedFileURL
        }
        if let explicitArtifacts, !explicitArtifacts.isEmpty, let artifacts { setenv(artifactsVariable, artifacts.path, 1) }
        if PostgresURL.isPostgres(locator) {
            let url = try PostgresURL(parsing: locator)
            if environment["PGPASSWORD"] == nil, let password = url.urlPassword { setenv("PGPASSWORD", password, 1) }
            return try PostgresStorage(url: url, artifacts: artifacts, create: create, connectPatience: connectPatience)
        }
        let path = StoreLocation.resolve(explicitPath: locator, environment: [:], currentDirectory: currentDirectory)
        return try SQLiteStorage(location: StoreLocation(databaseURL: path.databaseURL, artifactsRoot: artifacts), create: create)
    }

    /// Whether a store exists at the locator without creating one (an SQLite file that is there; a PostgreSQL
    /// URL is asked when opened).
    public static func exists(store explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        let locator = locator(explicit: explicit, environment: environment)
        if PostgresURL.isPostgres(locator) { return true }
        return FileManager.default.fileExists(atPath: StoreLocation.resolve(explicitPath: locator, environment: [:]).databaseURL.path)
    }
}
