import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How a child process ended.
public enum ChildTermination: Equatable, Sendable {
    case exited(Int32)
    case signalled(Int32)

    /// Shell convention: the exit code, or 128 + the signal number.
    public var exitStatus: Int {
        switch self {
        case .exited(let code): return Int(code)
        case .signalled(let signal): return 128 + Int(signal)
        }
    }

    public var summary: String {
        switch self {
        case .exited(let code): return "exited with status \(code)"
        case .signalled(let signal): return "terminated by \(signalName(signal))"
        }
    }
}

public func signalName(_ signal: Int32) -> String {
    let names: [Int32: String] = [SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL",
                                  SIGTRAP: "SIGTRAP", SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGFPE: "SIGFPE",
                                  SIGKILL: "SIGKILL", SIGSEGV: "SIGSEGV", SIGPIPE: "SIGPIPE", SIGTERM: "SIGTERM"]
    return names[signal] ?? "signal \(signal)"
}

/// One run's process: standard error goes to a log file (its tail becomes the run's error), standard output
/// is read line by line for progress reports and appended to another log.
final class ChildProcess {
    private let process = Process()
    private let exited = DispatchSemaphore(value: 0)
    private let stdoutPipe = Pipe()
    let stderrLog: URL
    let stdoutLog: URL

    init(executable: URL, arguments: [String], environment: [String: String], stdoutLog: URL, stderrLog: URL,
         onProgress: @escaping (ProgressLine) -> Void) throws {
        self.stderrLog = stderrLog
        self.stdoutLog = stdoutLog
        let fileManager = FileManager.default
        for log in [stderrLog, stdoutLog] {
            try fileManager.createDirectory(at: log.deletingLastPathComponent(), withIntermediateDirectories: true)
            _ = fileManager.createFile(atPath: log.path, contents: nil)
        }
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = stdoutPipe
        process.standardError = try FileHandle(forWritingTo: stderrLog)
        process.terminationHandler = { [exited] _ in exited.signal() }

        let reader = stdoutPipe.fileHandleForReading
        let stdoutFile = try FileHandle(forWritingTo: stdoutLog)
        // Detached: if a grandchild keeps the pipe open, nothing waits for this thread.
        let thread = Thread {
            var pending = Data()
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: 0x0A) {
                    let lineData = pending[pending.startIndex..<newline]
                    pending.removeSubrange(pending.startIndex...newline)
                    let line = String(decoding: lineData, as: UTF8.self)
                    if let progress = ProgressLine(parsing: line) {
                        onProgress(progress)
                    } else {
                        stdoutFile.write(Data((line + "\n").utf8))
                    }
                }
            }
            if !pending.isEmpty { stdoutFile.write(pending) }
            try? stdoutFile.close()
        }
        thread.name = "gaplab-child-stdout"
        self.readerThread = thread
    }

    private let readerThread: Thread

    var pid: Int32 { process.processIdentifier }

    func start() throws {
        try process.run()
        // The child holds its own copies; closing ours lets the reader see end-of-file when it exits.
        try? stdoutPipe.fileHandleForWriting.close()
        readerThread.start()
    }

    func send(_ signal: Int32) {
        let pid = process.processIdentifier
        if pid > 0 { kill(pid, signal) }
    }

    /// Waits for the process to end, at most `timeout` seconds when given; nil if it is still running.
    func wait(timeout: TimeInterval? = nil) -> ChildTermination? {
        if let timeout {
            guard exited.wait(timeout: .now() + timeout) == .success else { return nil }
        } else {
            exited.wait()
        }
        exited.signal()  // later waits return at once
        switch process.terminationReason {
        case .exit: return .exited(process.terminationStatus)
        case .uncaughtSignal: return .signalled(process.terminationStatus)
        @unknown default: return .exited(process.terminationStatus)
        }
    }

    /// The last lines of standard error, at most `maxBytes`.
    func stderrTail(maxBytes: Int = 4000, maxLines: Int = 40) -> String {
        guard let handle = try? FileHandle(forReadingFrom: stderrLog) else { return "" }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        let start = size > UInt64(maxBytes) ? size - UInt64(maxBytes) : 0
        try? handle.seek(toOffset: start)
        let data = (try? handle.readToEnd()) ?? Data()
        var lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        if start > 0, !lines.isEmpty { lines.removeFirst() }  // a cut first line is noise
        while let last = lines.last, last.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeLast() }
        return lines.suffix(maxLines).joined(separator: "\n")
    }
}
