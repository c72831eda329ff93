import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Child side of run isolation: a run's process must not outlive its runner. When the runner is killed
/// with SIGKILL its lease later expires and another runner resumes the run; an orphaned child still writing
/// to the same run would then be a second execution at the same time. The child therefore exits as soon
/// as it is re-parented, well before the lease can expire.
public enum ParentWatch {
    /// Starts the watch when the process was launched by a runner (`GAPLAB_RUNNER_PID` set); otherwise does nothing.
    public static func exitWhenRunnerDies(environment: [String: String] = ProcessInfo.processInfo.environment,
                                          pollInterval: TimeInterval = 0.2) {
        guard let text = environment[ChildEnvironment.runnerPID], let runner = pid_t(text) else { return }
        if getppid() != runner { _exit(75) }
        let thread = Thread {
            while true {
                Thread.sleep(forTimeInterval: pollInterval)
                if getppid() != runner { _exit(75) }
            }
        }
        thread.name = "gaplab-parent-watch"
        thread.start()
    }
}
