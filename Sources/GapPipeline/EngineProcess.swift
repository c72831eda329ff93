import Dispatch
import Foundation
import GapRunner

/// A trainer running as a process of its own (the torch engine, a command): its standard output read line by line
/// on the caller's thread, its standard error passed through to this process's (the run's log) and, when asked,
/// read line by line too. It shares this process's group, so a signal to the run reaches it; a SIGTERM to this
/// process alone is passed on, and once the trainer has ended, this process ends by the same signal, recorded by
/// the runner as killed.
final class EngineProcess {
    private let process = Process()
    private let output = Pipe()
    private let input: Pipe?
    private let errors: Pipe?

    /// `arguments[0]` is the program, looked up on the PATH unless it holds a slash. With `acknowledgements` the
    /// trainer's standard input is a pipe for `acknowledge()`, else /dev/null.
    init(arguments: [String], acknowledgements: Bool, readErrors: Bool, environment extra: [String: String] = [:]) throws {
        guard let program = arguments.first, !program.isEmpty else { throw EngineProcessError.noProgram }
        if program.contains("/") {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = Array(arguments.dropFirst())
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = arguments
        }
        var environment = ProcessInfo.processInfo.environment
        environment["GAPLAB_SUPERVISOR_PID"] = String(getpid())
        environment["PYTHONUNBUFFERED"] = "1"
        process.environment = environment.merging(extra) { _, new in new }
        input = acknowledgements ? Pipe() : nil
        process.standardInput = input ?? FileHandle.nullDevice
        process.standardOutput = output
        errors = readErrors ? Pipe() : nil
        process.standardError = errors ?? FileHandle.standardError
    }

    /// Runs the trainer to its end and returns its exit status. `onOutput` sees each line of its standard output,
    /// `onError` each line of its standard error; the two are never called at once. When either throws, the trainer
    /// is asked to stop (stdin closed, then SIGTERM) and the error is rethrown once it has ended.
    func run(onOutput: (String) throws -> Void, onError: ((String) throws -> Void)? = nil) throws -> Int32 {
        let terminate = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
        signal(SIGTERM, SIG_IGN)
        let terminated = SignalledFlag()
        let target = ProcessHandle(process: process)
        terminate.setEventHandler {
            terminated.set()
            target.signal(SIGTERM)
        }
        terminate.resume()
        defer {
            terminate.cancel()
            signal(SIGTERM, SIG_DFL)
        }
        do { try process.run() } catch { throw EngineProcessError.cannotStart(process.arguments?.joined(separator: " ") ?? "", "\(error)") }

        let failure = FirstError()
        let lock = NSLock()
        func guarded(_ body: (String) throws -> Void, _ line: String) {
            lock.lock(); defer { lock.unlock() }
            guard !failure.isSet else { return }
            do { try body(line) } catch {
                failure.record(error)
                // Closed stdin first: the trainer then keeps its last acknowledged checkpoint rather than one past
                // the lines this process no longer records.
                try? input?.fileHandleForWriting.close()
                target.signal(SIGTERM)
            }
        }
        var errorReader: Thread?
        let errorsDone = DispatchSemaphore(value: 0)
        if let errors {
            let pass = UncheckedBox((onError, guarded))
            let thread = Thread {
                readLines(from: errors.fileHandleForReading) { line, _ in
                    FileHandle.standardError.write(Data((line + "\n").utf8))
                    if let onError = pass.value.0 { pass.value.1(onError, line) }
                }
                errorsDone.signal()
            }
            thread.name = "gaplab-engine-stderr"
            thread.start()
            errorReader = thread
        }
        readLines(from: output.fileHandleForReading) { line, _ in guarded(onOutput, line) }
        if errorReader != nil { errorsDone.wait() }
        process.waitUntilExit()
        if terminated.isSet {
            signal(SIGTERM, SIG_DFL)
            raise(SIGTERM)
        }
        if let error = failure.error { throw error }
        return process.terminationStatus
    }

    /// One line on the trainer's standard input: the go-ahead it waits for (the torch engine's epoch ends).
    func acknowledge() throws {
        try input?.fileHandleForWriting.write(contentsOf: Data("continue\n".utf8))
    }
}

public enum EngineProcessError: Error, CustomStringConvertible {
    case noProgram
    case cannotStart(String, String)

    public var description: String {
        switch self {
        case .noProgram: return "the trainer's command is empty"
        case .cannotStart(let command, let why): return "cannot start \(command): \(why)"
        }
    }
}

/// Set once from the signal handler's queue, read by the streaming thread.
private final class SignalledFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}

/// The first error a line handler threw; guarded by the caller's lock.
private final class FirstError: @unchecked Sendable {
    private(set) var error: Error?
    var isSet: Bool { error != nil }
    func record(_ error: Error) { if self.error == nil { self.error = error } }
}

/// The trainer's process as the signal handler reaches it.
private struct ProcessHandle: @unchecked Sendable {
    let process: Process

    func signal(_ signal: Int32) {
        if process.isRunning { kill(process.processIdentifier, signal) }
    }
}

/// Hands the line handlers to the standard-error thread; `run` serialises every call to them.
private struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
