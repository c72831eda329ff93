import Foundation

/// How to execute one run in its own process: an executable and an argument template. In the arguments,
/// `{run}` becomes the run ID, `{store}` the store locator, `{artifacts}` the run's artifact folder (where
/// the child keeps and resumes from its checkpoints) and `{attempt}` the attempt number.
/// The child also finds these in its environment (`ChildEnvironment`).
public struct Executor: Equatable, Sendable {
    public var executable: URL
    public var arguments: [String]
    /// Extra environment variables for the child, on top of the runner's own.
    public var environment: [String: String]

    public init(executable: URL, arguments: [String], environment: [String: String] = [:]) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
    }

    /// The running program itself (e.g. `gaplab`) with a subcommand template such as
    /// `["train-run", "--store", "{store}", "--run", "{run}"]`.
    public static func currentProgram(arguments: [String], environment: [String: String] = [:]) -> Executor {
        Executor(executable: currentExecutableURL(), arguments: arguments, environment: environment)
    }

    public static func currentExecutableURL() -> URL {
        if let resolved = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return URL(fileURLWithPath: resolved)
        }
        return URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
    }

    public func resolvedArguments(runID: String, storeLocator: String, artifactDirectory: URL, attempt: Int) -> [String] {
        arguments.map { argument in
            argument.replacingOccurrences(of: "{run}", with: runID)
                .replacingOccurrences(of: "{store}", with: storeLocator)
                .replacingOccurrences(of: "{artifacts}", with: artifactDirectory.path)
                .replacingOccurrences(of: "{attempt}", with: String(attempt))
        }
    }
}

/// Environment variables the runner gives every child; the trainer reads them to find its run and resume.
public enum ChildEnvironment {
    public static let runID = "GAPLAB_RUN_ID"
    public static let store = "GAPLAB_STORE"
    /// The run's artifact folder: the child resumes from the last checkpoint it finds there.
    public static let artifacts = "GAPLAB_ARTIFACTS"
    public static let attempt = "GAPLAB_ATTEMPT"
    /// Process ID of the runner; the child exits when it is orphaned (see `ParentWatch`).
    public static let runnerPID = "GAPLAB_RUNNER_PID"
}

/// What a child launched by the runner knows about its run, read from `ChildEnvironment`.
public struct ChildContext: Equatable, Sendable {
    public var runID: String
    public var storeLocator: String
    /// Where the run keeps its checkpoints: resume from the last one found here.
    public var artifactDirectory: URL
    public var attempt: Int

    /// Nil when the process was not started by a runner.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> ChildContext? {
        guard let runID = environment[ChildEnvironment.runID], let store = environment[ChildEnvironment.store],
              let artifacts = environment[ChildEnvironment.artifacts] else { return nil }
        return ChildContext(runID: runID, storeLocator: store, artifactDirectory: URL(fileURLWithPath: artifacts),
                            attempt: environment[ChildEnvironment.attempt].flatMap { Int($0) } ?? 1)
    }
}
