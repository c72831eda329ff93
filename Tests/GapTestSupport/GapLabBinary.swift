import Foundation
import GapStore
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The built `gaplab` executable (next to the test bundle after `swift build --build-tests`), launched as
/// runner and trainer processes by the fault-injection tests.
public enum GapLabBinary {
    public static func url(file: StaticString = #filePath) throws -> URL {
        let fileManager = FileManager.default
        var candidates: [URL] = []
        // The test bundle lives in the same build products folder as the executable.
        var bundleDirectory = Bundle.main.bundleURL
        for _ in 0..<3 {
            candidates.append(bundleDirectory.appendingPathComponent("gaplab"))
            bundleDirectory.deleteLastPathComponent()
        }
        let packageRoot = URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(packageRoot.appendingPathComponent(".build/debug/gaplab"))
        for candidate in candidates where fileManager.isExecutableFile(atPath: candidate.path) { return candidate }
        throw MissingExecutable(searched: candidates.map(\.path))
    }

    /// A launched `gaplab` process with its output captured to files (pipes could fill up and block it).
    public final class Launched {
        public let process: Process
        public let stdoutURL: URL
        public let stderrURL: URL

        public init(arguments: [String], environment: [String: String] = [:], logDirectory: URL, name: String) throws {
            process = Process()
            process.executableURL = try GapLabBinary.url()
            process.arguments = arguments
            var merged = ProcessInfo.processInfo.environment
            merged.merge(environment) { _, new in new }
            process.environment = merged
            stdoutURL = logDirectory.appendingPathComponent("\(name).stdout")
            stderrURL = logDirectory.appendingPathComponent("\(name).stderr")
            _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
            _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
            process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
            process.standardError = try FileHandle(forWritingTo: stderrURL)
            process.standardInput = FileHandle.nullDevice
            try process.run()
        }

        public var pid: Int32 { process.processIdentifier }

        @discardableResult
        public func wait() -> Int32 {
            process.waitUntilExit()
            return process.terminationStatus
        }

        public var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
        public var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }
    }
}

/// Polls until `condition` holds. Tests wait for states, never assert on durations; the generous limit only
/// turns a hang into a failure.
public func waitUntil(_ what: String, limit: TimeInterval = 120, file: StaticString = #filePath, line: UInt = #line,
               _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(limit)
    while try !condition() {
        if Date() > deadline {
            XCTFail("gave up waiting: \(what)", file: file, line: line)
            throw WaitTimeout(what: what)
        }
        Thread.sleep(forTimeInterval: 0.05)
    }
}

/// Every metric point of a run as `key@step` → value, for comparing two runs' records whole.
public func metricsByKeyAndStep(_ storage: Storage, _ runID: String) throws -> [String: Double] {
    var out: [String: Double] = [:]
    for point in try storage.metrics(runID: runID, key: nil) { out["\(point.key)@\(point.step)"] = point.value }
    return out
}

public struct WaitTimeout: Error {
    public var what: String
}

public struct MissingExecutable: Error, CustomStringConvertible {
    public var searched: [String]
    public var description: String {
        "the gaplab executable is not built; run `swift build --build-tests` first (looked in \(searched.joined(separator: ", ")))"
    }
}
