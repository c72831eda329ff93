import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The tests' PostgreSQL server: a throw-away cluster started once per test process by the project's own
/// `scripts/postgres-server` (Debian's PostgreSQL, loopback only) and stopped when the process exits. Each test
/// takes a database of its own. Without a PostgreSQL installation the tests skip, except under CI (`CI` set),
/// where they fail: CI installs the server, so a missing one is a broken set-up, not a reason to skip.
public enum PostgresTestServer {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var started: Result<(url: String, port: Int), Error>?

    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
    }

    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Runs a program to its end with its output in a file (a pipe's buffer could fill up and block it).
    @discardableResult
    public static func runTool(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-tool-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try? handle.close()
        return (process.terminationStatus, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }

    private static func start() throws -> (url: String, port: Int) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-postgres-\(getpid())")
        let script = packageRoot.appendingPathComponent("scripts/postgres-server").path
        var lastOutput = ""
        for _ in 0..<5 {
            let port = Int.random(in: 20_000..<60_000)
            let (status, output) = try runTool("/bin/bash", [script, "start", directory.path, String(port)])
            if status == 0, let line = output.split(separator: "\n").last(where: { $0.hasPrefix("postgresql://") }) {
                atexit { PostgresTestServer.stop() }
                return (String(line), port)
            }
            lastOutput = output
            if status == 3 { break }  // no PostgreSQL installed
        }
        throw Unavailable(description: "the test PostgreSQL server did not start: \(lastOutput)")
    }

    static func stop() {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-postgres-\(getpid())")
        _ = try? runTool("/bin/bash", [packageRoot.appendingPathComponent("scripts/postgres-server").path, "stop", directory.path])
        try? FileManager.default.removeItem(at: directory)
    }

    /// The server's data folder (to stop and restart it in a test).
    public static var dataDirectory: URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-postgres-\(getpid())")
    }

    /// The server's URL (database `postgres`), starting it on first use; skips or fails as described above.
    public static func serverURL() throws -> (url: String, port: Int) {
        lock.lock(); defer { lock.unlock() }
        if started == nil { started = Result { try start() } }
        switch started! {
        case .success(let server): return server
        case .failure(let error):
            if ProcessInfo.processInfo.environment["CI"].map({ !$0.isEmpty && $0 != "0" }) == true {
                throw error
            }
            throw XCTSkip("PostgreSQL is not installed here (make postgres installs it): \(error)")
        }
    }

    /// A new, empty database on the server; returns its URL.
    public static func freshDatabase() throws -> String {
        let port = try serverURL().port
        let name = "gaplab_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        let (status, output) = try runTool("/usr/bin/psql", ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-d", "postgres",
                                                            "-v", "ON_ERROR_STOP=1", "-q", "-c", "CREATE DATABASE \(name)"])
        guard status == 0 else { throw Unavailable(description: "CREATE DATABASE failed: \(output)") }
        return "postgresql://postgres@127.0.0.1:\(port)/\(name)"
    }

    /// Stops the server at once and starts it again on the same port (its data kept).
    public static func restart(downFor seconds: TimeInterval) throws {
        let (_, port) = try serverURL()
        let script = packageRoot.appendingPathComponent("scripts/postgres-server").path
        try runTool("/bin/bash", [script, "stop", dataDirectory.path])
        Thread.sleep(forTimeInterval: seconds)
        let (status, output) = try runTool("/bin/bash", [script, "start", dataDirectory.path, String(port)])
        guard status == 0 else { throw Unavailable(description: "restart failed: \(output)") }
    }
}
