import Foundation

/// An sbatch job array whose tasks each run one `gaplab worker` on a store: the tasks claim the experiment's
/// pending runs from the store until none is left, so the array size is how many run at once, not a run count.
public struct SlurmArrayJob: Equatable, Sendable {
    public var jobName: String
    /// Tasks 0..<taskCount.
    public var taskCount: Int
    public var partition: String?
    /// Slurm's time limit syntax (e.g. `2:00:00`, `1-0`), passed through.
    public var time: String?
    public var cpusPerTask: Int?
    public var gpusPerTask: Int?
    /// Slurm's memory syntax (e.g. `4G`), passed through.
    public var memory: String?
    /// Further sbatch options, one `#SBATCH` line each (e.g. `--qos=low`).
    public var extraOptions: [String]
    /// Folder of the tasks' stdout and stderr files (`%A_%a.out`, `%A_%a.err`).
    public var logDirectory: String
    /// The worker command line: the gaplab executable's absolute path, then its arguments.
    public var command: [String]

    public init(jobName: String, taskCount: Int, partition: String? = nil, time: String? = nil, cpusPerTask: Int? = nil,
                gpusPerTask: Int? = nil, memory: String? = nil, extraOptions: [String] = [], logDirectory: String,
                command: [String]) {
        self.jobName = jobName
        self.taskCount = taskCount
        self.partition = partition
        self.time = time
        self.cpusPerTask = cpusPerTask
        self.gpusPerTask = gpusPerTask
        self.memory = memory
        self.extraOptions = extraOptions
        self.logDirectory = logDirectory
        self.command = command
    }
}

/// A value that cannot go into the script, with the option it came from.
public struct SlurmScriptError: Error, Equatable, CustomStringConvertible {
    public var option: String
    public var problem: String
    public var description: String { "\(option): \(problem)" }
}

public enum SlurmScript {
    /// `value` as one word for a POSIX shell: single-quoted, each `'` written `'\''`.
    public static func shellQuoted(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }

    /// `value` as one argument of an `#SBATCH` line. sbatch splits these lines itself: it honours double quotes
    /// and backslash escapes (not single quotes) and takes an unquoted `#` as the start of a comment; plain
    /// values are written as they are.
    public static func directiveQuoted(_ value: String) -> String {
        let plain = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=.,:/+@%")
        if !value.isEmpty && value.unicodeScalars.allSatisfy({ plain.contains($0) }) { return value }
        return "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// `name` as a file name: every character but letters, digits, `.`, `_` and `-` becomes `_`.
    public static func fileNameSafe(_ name: String) -> String {
        let kept = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        let text = String(String.UnicodeScalarView(name.unicodeScalars.map { kept.contains($0) ? $0 : "_" }))
        return text.isEmpty || text.hasPrefix(".") ? "_" + text : text
    }

    /// A path inside a Slurm filename pattern: `%` is Slurm's escape character there.
    static func literalInPattern(_ path: String) -> String {
        path.replacingOccurrences(of: "%", with: "%%")
    }

    /// Checks what `render` cannot express: a task count under 1, counts under 1, empty values, line breaks.
    public static func validate(_ job: SlurmArrayJob) throws {
        func fail(_ option: String, _ problem: String) -> SlurmScriptError { SlurmScriptError(option: option, problem: problem) }
        if job.taskCount < 1 { throw fail("--array", "expected the number of array tasks, at least 1; got \(job.taskCount)") }
        if let cpus = job.cpusPerTask, cpus < 1 { throw fail("--cpus-per-task", "expected at least 1; got \(cpus)") }
        if let gpus = job.gpusPerTask, gpus < 1 { throw fail("--gpus-per-task", "expected at least 1; got \(gpus)") }
        let texts: [(String, String?)] = [("--partition", job.partition), ("--time", job.time), ("--mem", job.memory),
                                          ("job name", job.jobName), ("log folder", job.logDirectory)]
            + job.extraOptions.map { ("--sbatch-arg", $0) } + job.command.map { ("worker command", $0) }
        for (option, text) in texts {
            guard let text else { continue }
            if text.isEmpty { throw fail(option, "expected a value, got an empty string") }
            if text.contains(where: \.isNewline) { throw fail(option, "expected one line, got a line break in \(text.debugDescription)") }
            if text.contains("\0") { throw fail(option, "expected text without NUL characters") }
        }
        if job.command.isEmpty { throw fail("worker command", "expected the gaplab executable and its arguments") }
        if !job.logDirectory.hasPrefix("/") { throw fail("log folder", "expected an absolute path, got \(job.logDirectory)") }
    }

    /// The sbatch script. The worker is `exec`ed, so the signals Slurm sends the task (scancel, preemption, time
    /// limit) reach it directly.
    public static func render(_ job: SlurmArrayJob) throws -> String {
        try validate(job)
        var directives = ["--job-name=" + job.jobName, "--array=0-\(job.taskCount - 1)"]
        let logs = literalInPattern(job.logDirectory.hasSuffix("/") ? String(job.logDirectory.dropLast()) : job.logDirectory)
        directives.append("--output=" + logs + "/%A_%a.out")
        directives.append("--error=" + logs + "/%A_%a.err")
        if let partition = job.partition { directives.append("--partition=" + partition) }
        if let time = job.time { directives.append("--time=" + time) }
        if let cpus = job.cpusPerTask { directives.append("--cpus-per-task=\(cpus)") }
        if let gpus = job.gpusPerTask { directives.append("--gpus-per-task=\(gpus)") }
        if let memory = job.memory { directives.append("--mem=" + memory) }
        directives += job.extraOptions
        var lines = ["#!/bin/bash"]
        lines += directives.map { "#SBATCH " + directiveQuoted($0) }
        lines += [
            "",
            "# Each array task runs one gaplab worker: it claims the experiment's pending runs from the store one at a",
            "# time until none is left. Written by `gaplab slurm`; submit it with `sbatch` (again, if you like: the runs",
            "# already completed are not run again).",
            "exec " + job.command.map(shellQuoted).joined(separator: " "),
            "",
        ]
        return lines.joined(separator: "\n")
    }
}
