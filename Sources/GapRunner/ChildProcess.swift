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

/// One run's process, started with `posix_spawn` in a process group of its own: signals reach the run and
/// anything it started, a survivor cannot keep the run "alive", and a terminal's Ctrl-C goes only to the
/// runner, which decides what the runs get. Signal dispositions and the signal mask are reset to the defaults
/// (the runner itself ignores SIGINT/SIGTERM while it traps them). Standard error goes to a log file (its tail
/// becomes the run's error); standard output is read line by line for progress reports and kept in a log.
final class ChildProcess {
    private let executable: URL
    private let arguments: [String]
    private let environment: [String: String]
    private let onProgress: (ProgressLine) -> Void
    private static let spawnLock = NSLock()
    private let exited = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var processID: pid_t = 0
    private var termination: ChildTermination?
    let stderrLog: URL
    let stdoutLog: URL

    init(executable: URL, arguments: [String], environment: [String: String], stdoutLog: URL, stderrLog: URL,
         onProgress: @escaping (ProgressLine) -> Void) throws {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.stdoutLog = stdoutLog
        self.stderrLog = stderrLog
        self.onProgress = onProgress
        let fileManager = FileManager.default
        for log in [stderrLog, stdoutLog] {
            try fileManager.createDirectory(at: log.deletingLastPathComponent(), withIntermediateDirectories: true)
        }
    }

    var pid: pid_t {
        lock.lock(); defer { lock.unlock() }
        return processID
    }

    func start() throws {
        // Pipe creation and spawning are serialised, so a pipe made for one run never leaks into another
        // run's process before it is marked close-on-exec.
        ChildProcess.spawnLock.lock()
        defer { ChildProcess.spawnLock.unlock() }
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else { throw ChildProcessError.system("pipe", errno) }
        let (readEnd, writeEnd) = (pipeEnds[0], pipeEnds[1])
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)

        let (result, spawned) = spawn(stdout: writeEnd)
        close(writeEnd)
        guard result == 0 else {
            close(readEnd)
            throw ChildProcessError.system("cannot start \(executable.path)", result)
        }
        lock.lock(); processID = spawned; lock.unlock()
        startWaiting(for: spawned)
        startReadingStdout(from: readEnd)
    }

    /// `posix_spawn` of the executable in a new process group with default signal handling, standard
    /// input from /dev/null, standard output into the pipe and standard error into its log.
    private func spawn(stdout writeEnd: Int32) -> (result: Int32, pid: pid_t) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
        posix_spawn_file_actions_addopen(&actions, 2, stderrLog.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in 1..<32 where signal != SIGKILL && signal != SIGSTOP { sigaddset(&defaults, Int32(signal)) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = ([executable.path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.sorted(by: { $0.key < $1.key }).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var spawned: pid_t = 0
        let result = posix_spawn(&spawned, executable.path, &actions, &attributes, argv, envp)
        return (result, spawned)
    }

    /// A thread that reaps the child and records how it ended, releasing `wait`.
    private func startWaiting(for childID: pid_t) {
        let waiter = Thread { [self] in
            var status: Int32 = 0
            var outcome: ChildTermination
            while true {
                if waitpid(childID, &status, 0) == childID {
                    // The <sys/wait.h> macros: low 7 bits are the terminating signal, bits 8-15 the exit code.
                    outcome = (status & 0x7F) == 0 ? .exited((status >> 8) & 0xFF) : .signalled(status & 0x7F)
                    break
                }
                if errno != EINTR {
                    outcome = .exited(-1)
                    break
                }
            }
            lock.lock(); termination = outcome; lock.unlock()
            exited.signal()
        }
        waiter.name = "gaplab-child-wait"
        waiter.start()
    }

    /// A thread that splits the child's standard output into lines: progress lines go to `onProgress`,
    /// the rest to the stdout log. Not waited for: the run's outcome does not depend on its output being drained.
    private func startReadingStdout(from readEnd: Int32) {
        let onProgress = self.onProgress
        let stdoutLog = self.stdoutLog
        let reader = Thread {
            let input = FileHandle(fileDescriptor: readEnd, closeOnDealloc: true)
            _ = FileManager.default.createFile(atPath: stdoutLog.path, contents: nil)
            let output = try? FileHandle(forWritingTo: stdoutLog)
            readLines(from: input) { line, ended in
                if !ended {
                    output?.write(Data(line.utf8))
                } else if let progress = ProgressLine(parsing: line) {
                    onProgress(progress)
                } else {
                    output?.write(Data((line + "\n").utf8))
                }
            }
            try? output?.close()
        }
        reader.name = "gaplab-child-stdout"
        reader.start()
    }

    /// Sends `signal` to the run's whole process group.
    func send(_ signal: Int32) {
        let pid = self.pid
        lock.lock(); let done = termination != nil; lock.unlock()
        if pid > 0 && !done { kill(-pid, signal) }
    }

    /// Waits for the process to end, at most `timeout` seconds when given; nil if it is still running.
    func wait(timeout: TimeInterval? = nil) -> ChildTermination? {
        if let timeout {
            guard exited.wait(timeout: .now() + timeout) == .success else { return nil }
        } else {
            exited.wait()
        }
        exited.signal()  // later waits return at once
        lock.lock(); defer { lock.unlock() }
        return termination
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

enum ChildProcessError: Error, CustomStringConvertible {
    case system(String, Int32)

    var description: String {
        switch self {
        case .system(let what, let code): return "\(what): \(String(cString: strerror(code)))"
        }
    }
}
