import Foundation
import GapStore
#if canImport(Glibc)
import Glibc
#endif

/// What one `runUntilDone` did.
public struct RunnerCounts: Equatable, Sendable {
    public var completed = 0
    public var failed = 0
    public var killed = 0
    /// Runs given up because their lease expired and another worker took them over.
    public var leasesLost = 0
    /// The signal (SIGINT, SIGTERM) that stopped the sweep, if one did.
    public var stoppedBySignal: Int32?
    /// The runs this runner recorded as killed, in the order it recorded them.
    public var killedRunIDs: [String] = []
    /// Status counts of the experiment (or the whole store) when the runner returned.
    public var store: [RunStatus: Int] = [:]

    public init() {}

    /// True when the sweep ran to its end and every run of it completed.
    public var allCompleted: Bool {
        stoppedBySignal == nil && store.filter { $0.key != .completed }.values.allSatisfy { $0 == 0 }
    }
}

/// Executes the pending runs of an experiment with `workers` parallel workers. Each worker claims a run
/// atomically from the store, runs it in its own process (so a crash or an out-of-memory kill fails that run
/// only), keeps its lease alive with heartbeats, and records the outcome. Several runners on one store
/// cooperate through the claims. SIGINT/SIGTERM are forwarded to the runs in progress, which are recorded
/// as killed with what they logged so far.
public final class Runner {
    public let storage: Storage
    public let executor: Executor
    public let workers: Int
    public let leaseSeconds: Double
    /// `host:pid`, recorded as the worker of every run this runner claims.
    public let workerName: String
    public let codeVersion: CodeVersion
    /// Added to each attempt's recorded environment (e.g. BLAS configuration, thread count).
    public var environmentExtras: [String: String] = [:]
    /// How long children get to exit after a forwarded signal before they are killed.
    public var killGracePeriod: TimeInterval = 10
    /// The most runs one `runUntilDone` claims, over all its workers (nil: no limit).
    public var maxRuns: Int?
    /// Nil: `runUntilDone` returns once no run is pending, stale or running anywhere, waiting for the runs other
    /// runners hold (the `gaplab run` behaviour). A value: it returns once nothing has been claimable for that many
    /// seconds (0: at once), whatever other runners hold (the behaviour of a `gaplab worker`, e.g. a Slurm task).
    public var idleExit: TimeInterval?

    private let display: ProgressDisplay
    private let lock = NSLock()
    private var stopSignal: Int32?
    private var children: [String: ChildProcess] = [:]
    private var counts = RunnerCounts()
    /// The first error that ended a worker (a store that stays unreachable).
    private var workerError: Error?
    /// Counts `runUntilDone` calls, so a late SIGKILL escalation never reaches the children of a later sweep.
    private var sweepNumber = 0
    /// Claims made (or being made) in this sweep, against `maxRuns`.
    private var claimsMade = 0

    public static var defaultWorkerName: String { "\(ProcessInfo.processInfo.hostName):\(getpid())" }

    public init(storage: Storage, executor: Executor, workers: Int = 1, leaseSeconds: Double = 60,
                progress: ProgressStyle = .automatic, workerName: String = Runner.defaultWorkerName,
                codeVersion: CodeVersion = .current()) {
        precondition(workers >= 1, "at least one worker")
        precondition(leaseSeconds > 0, "lease must be positive")
        self.storage = storage
        self.executor = executor
        self.workers = workers
        self.leaseSeconds = leaseSeconds
        self.workerName = workerName
        self.codeVersion = codeVersion
        self.display = ProgressDisplay(style: progress)
    }

    private var heartbeatInterval: TimeInterval { leaseSeconds / 4 }
    private var idlePollInterval: TimeInterval { min(1, leaseSeconds / 4) }

    private var isStopping: Bool {
        lock.lock(); defer { lock.unlock() }
        return stopSignal != nil
    }

    /// Runs until no run of `experiment` (nil: of any experiment) is pending, stale or running anywhere.
    /// Runs held by other runners are waited for, and taken over if their lease expires. `maxRuns` and
    /// `idleExit` end it sooner.
    /// With `trapSignals`, SIGINT and SIGTERM stop the sweep (see `stop(signal:)`) instead of the process.
    public func runUntilDone(experiment: String?, trapSignals: Bool = true) throws -> RunnerCounts {
        let trap = trapSignals ? SignalTrap { [weak self] signal in self?.stop(signal: signal) } : nil
        defer { trap?.cancel() }
        lock.lock(); counts = RunnerCounts(); stopSignal = nil; workerError = nil; sweepNumber += 1; claimsMade = 0; lock.unlock()

        display.sweep(try storage.statusCounts(experiment: experiment))
        let group = DispatchGroup()
        for index in 0..<workers {
            group.enter()
            let thread = Thread { [self] in
                defer { group.leave() }
                do {
                    try workerLoop(experiment: experiment)
                } catch {
                    lock.lock()
                    if workerError == nil { workerError = error }
                    lock.unlock()
                    display.message("worker \(index + 1) stopped: \(error)")
                }
            }
            thread.name = "gaplab-worker-\(index + 1)"
            thread.start()
        }
        group.wait()
        display.finish()

        lock.lock(); var result = counts; let error = workerError; lock.unlock()
        result.store = (try? storage.statusCounts(experiment: experiment)) ?? [:]
        if let error, result.stoppedBySignal == nil { throw error }
        return result
    }

    /// Stops the sweep: no new runs are claimed, `signal` is forwarded to the runs in progress (SIGKILL after
    /// the grace period, or at once on a second request), and they are recorded as killed.
    public func stop(signal: Int32 = SIGTERM) {
        lock.lock()
        let repeated = stopSignal != nil
        if stopSignal == nil {
            stopSignal = signal
            counts.stoppedBySignal = signal
        }
        let running = Array(children.values)
        let sweep = sweepNumber
        lock.unlock()
        display.message(repeated ? "stopping now" : "received \(signalName(signal)): stopping the runs in progress")
        for child in running { child.send(repeated ? SIGKILL : signal) }
        if !repeated {
            DispatchQueue.global().asyncAfter(deadline: .now() + killGracePeriod) { [weak self] in
                guard let self else { return }
                self.lock.lock()
                let left = self.sweepNumber == sweep ? Array(self.children.values) : []
                self.lock.unlock()
                for child in left { child.send(SIGKILL) }
            }
        }
    }

    /// Takes one of the `maxRuns` claims; false when they are used up.
    private func reserveClaim() -> Bool {
        lock.lock(); defer { lock.unlock() }
        if let maxRuns, claimsMade >= maxRuns { return false }
        claimsMade += 1
        return true
    }

    private func unreserveClaim() {
        lock.lock(); claimsMade -= 1; lock.unlock()
    }

    private func workerLoop(experiment: String?) throws {
        var consecutiveErrors = 0
        var idleSince: Date?
        while !isStopping {
            guard reserveClaim() else { return }
            let claim: ClaimedRun?
            do {
                claim = try storage.claimNextRun(experiment: experiment, worker: workerName, leaseSeconds: leaseSeconds,
                                                 codeVersion: codeVersion.description)
                consecutiveErrors = 0
            } catch {
                unreserveClaim()
                consecutiveErrors += 1
                if consecutiveErrors >= 5 { throw error }
                display.message("claiming a run failed (\(error)); retrying")
                Thread.sleep(forTimeInterval: idlePollInterval)
                continue
            }
            guard let claim else {
                unreserveClaim()
                if let idleExit {
                    // A worker waits for new claimable runs for a while, not for the runs others hold.
                    let since = idleSince ?? Date()
                    idleSince = since
                    if Date().timeIntervalSince(since) >= idleExit { return }
                } else {
                    // Nothing claimable, but runs held elsewhere may still fail over to us when their lease expires.
                    let current = try storage.statusCounts(experiment: experiment)
                    if current[.running, default: 0] == 0 { return }
                }
                Thread.sleep(forTimeInterval: idlePollInterval)
                continue
            }
            idleSince = nil
            try execute(claim)
        }
    }

    private func execute(_ claim: ClaimedRun) throws {
        if isStopping {
            try storage.releaseRun(runID: claim.runID, worker: claim.worker, attempt: claim.attempt)
            return
        }
        let runID = claim.runID
        let artifacts = storage.artifactDirectory(runID: runID)
        do {
            try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        } catch {
            try record(claim, RunOutcome(status: .failed, exitStatus: nil,
                                         errorTail: "cannot create the artifact folder \(artifacts.path): \(error)"), detail: "\(error)")
            return
        }
        recordEnvironment(of: claim)

        let child: ChildProcess
        do {
            child = try startChild(for: claim, artifacts: artifacts)
        } catch {
            try record(claim, RunOutcome(status: .failed, exitStatus: nil,
                                         errorTail: "cannot start \(executor.executable.path): \(error)"), detail: "\(error)")
            return
        }
        adopt(child, runID: runID)
        display.runStarted(claim)
        if let current = try? storage.statusCounts(experiment: claim.run.experiment) { display.sweep(current) }

        let ending = waitHoldingLease(child, claim: claim)
        for log in [child.stdoutLog, child.stderrLog] {
            _ = try? storage.addArtifact(runID: runID, name: "logs/" + log.lastPathComponent, file: log)
        }
        if ending.leaseLost {
            lock.lock(); counts.leasesLost += 1; lock.unlock()
            display.message("lost the lease of run \(runID) to another worker; its process was stopped")
            return
        }
        let outcome = Self.outcome(of: ending.termination, stoppedBy: ending.stoppedBy, stderrTail: child.stderrTail())
        try record(claim, outcome, detail: outcome.status == .completed ? "" : ending.termination.summary)
    }

    private func recordEnvironment(of claim: ClaimedRun) {
        do {
            try storage.setEnvironment(runID: claim.runID, attempt: claim.attempt,
                                       RunEnvironment.collect(codeVersion: codeVersion, extra: environmentExtras))
        } catch {
            // The environment is provenance, not a reason to skip the run.
            display.message("could not record the environment of run \(claim.runID): \(error)")
        }
    }

    /// The run's process, started with the runner's environment plus the executor's and the variables
    /// that tell the child which run, store, artifact folder and attempt it is.
    private func startChild(for claim: ClaimedRun, artifacts: URL) throws -> ChildProcess {
        let runID = claim.runID
        var environment = ProcessInfo.processInfo.environment
        environment.merge(executor.environment) { _, new in new }
        environment[ChildEnvironment.runID] = runID
        environment[ChildEnvironment.store] = storage.locator
        environment[ChildEnvironment.artifacts] = artifacts.path
        environment[ChildEnvironment.attempt] = String(claim.attempt)
        environment[ChildEnvironment.runnerPID] = String(getpid())

        let logs = artifacts.appendingPathComponent("logs", isDirectory: true)
        let child = try ChildProcess(
            executable: executor.executable,
            arguments: executor.resolvedArguments(runID: runID, storeLocator: storage.locator,
                                                  artifactDirectory: artifacts, attempt: claim.attempt),
            environment: environment,
            stdoutLog: logs.appendingPathComponent("attempt-\(claim.attempt).stdout.log"),
            stderrLog: logs.appendingPathComponent("attempt-\(claim.attempt).stderr.log"),
            onProgress: { [display] line in display.runProgress(runID: runID, line) })
        try child.start()
        return child
    }

    /// Makes the child one that `stop(signal:)` reaches; a stop that came while it was starting is
    /// forwarded at once.
    private func adopt(_ child: ChildProcess, runID: String) {
        lock.lock()
        children[runID] = child
        let pendingSignal = stopSignal
        lock.unlock()
        if let pendingSignal { child.send(pendingSignal) }
    }

    /// How a child's wait ended: its termination, the signal that stopped the sweep meanwhile, and
    /// whether another worker took the run over.
    private struct ChildEnding {
        var termination: ChildTermination
        var stoppedBy: Int32?
        var leaseLost: Bool
    }

    /// Waits for the child while heartbeats keep the run's lease, then stops `stop(signal:)` reaching it.
    private func waitHoldingLease(_ child: ChildProcess, claim: ClaimedRun) -> ChildEnding {
        let keeper = LeaseKeeper(storage: storage, claim: claim, interval: heartbeatInterval) {
            // Another worker owns the run now; this execution must not go on writing to it.
            child.send(SIGKILL)
        }
        keeper.start()
        let termination = child.wait()!
        keeper.stop()
        lock.lock()
        children[claim.runID] = nil
        let stoppedBy = stopSignal
        lock.unlock()
        return ChildEnding(termination: termination, stoppedBy: stoppedBy, leaseLost: keeper.lost)
    }

    /// The recorded outcome of a child that ended: a stop the runner asked for (or an interrupt from
    /// outside) is a kill, not a failure of the run.
    private static func outcome(of termination: ChildTermination, stoppedBy: Int32?, stderrTail tail: String) -> RunOutcome {
        switch termination {
        case .exited(0):
            return RunOutcome(status: .completed, exitStatus: 0, errorTail: nil)
        case .signalled(let signal) where stoppedBy != nil || [SIGINT, SIGTERM, SIGHUP].contains(signal):
            return RunOutcome(status: .killed, exitStatus: termination.exitStatus,
                              errorTail: joined("\(termination.summary)" + (stoppedBy.map { " (runner received \(signalName($0)))" } ?? ""), tail))
        case .exited where stoppedBy != nil:
            return RunOutcome(status: .killed, exitStatus: termination.exitStatus,
                              errorTail: joined("\(termination.summary) after the runner received \(signalName(stoppedBy!))", tail))
        default:
            let hint = termination == .signalled(SIGKILL) ? " (killed from outside, e.g. out of memory)" : ""
            return RunOutcome(status: .failed, exitStatus: termination.exitStatus,
                              errorTail: joined(termination.summary + hint, tail))
        }
    }

    private static func joined(_ summary: String, _ tail: String) -> String {
        tail.isEmpty ? summary : summary + "\n" + tail
    }

    private func record(_ claim: ClaimedRun, _ outcome: RunOutcome, detail: String) throws {
        do {
            try storage.finishRun(runID: claim.runID, worker: claim.worker, attempt: claim.attempt, outcome: outcome)
        } catch StoreError.leaseLost {
            lock.lock(); counts.leasesLost += 1; lock.unlock()
            display.message("run \(claim.runID) was taken over by another worker before it finished here")
            return
        }
        lock.lock()
        switch outcome.status {
        case .completed: counts.completed += 1
        case .failed: counts.failed += 1
        case .killed:
            counts.killed += 1
            counts.killedRunIDs.append(claim.runID)
        default: break
        }
        lock.unlock()
        display.runFinished(claim, outcome: outcome, detail: detail)
        if let current = try? storage.statusCounts(experiment: claim.run.experiment) { display.sweep(current) }
    }
}
