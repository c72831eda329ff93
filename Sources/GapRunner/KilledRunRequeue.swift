import Foundation
import GapStore

/// Puts back to pending the runs a worker recorded as killed when a signal stopped it (Slurm's `scancel`, a
/// preemption, the end of a time limit), so that another worker resumes them from their checkpoints. Their killed
/// attempts stay in the attempt history. `gaplab run` does not do this: there a kill is the user's Ctrl-C.
///
/// The store puts runs back by experiment and status only, so the runs of an experiment are requeued only when
/// every killed run of it was killed under a worker that asks for this (`environmentKey` in its current attempt's
/// environment): another user's killed run is never made pending. When one is, the worker's runs stay killed, and
/// `gaplab run --retry-failed` (or the user) decides.
public enum KilledRunRequeue {
    /// Set to "true" in the environment of every attempt a requeueing worker makes.
    public static let environmentKey = "requeue_when_killed"

    public struct Outcome: Equatable, Sendable {
        /// The runs now pending again.
        public var requeued: [String] = []
        /// Runs left killed, with the reason.
        public var kept: [String: String] = [:]

        public init() {}
    }

    /// Requeues the killed runs among `runIDs` (runs that are no longer killed, e.g. already taken up, are left alone).
    public static func requeue(_ runIDs: [String], in storage: any Storage) throws -> Outcome {
        var outcome = Outcome()
        var byExperiment: [String: [String]] = [:]
        for runID in runIDs {
            guard let run = try storage.run(id: runID), run.status == .killed else { continue }
            byExperiment[run.experiment, default: []].append(runID)
        }
        for (experiment, ours) in byExperiment.sorted(by: { $0.key < $1.key }) {
            var foreign: [RunRecord] = []
            for run in try storage.runs(experiment: experiment, status: .killed) where !ours.contains(run.runID) {
                if try !isRequeueingAttempt(run, storage) { foreign.append(run) }
            }
            if let first = foreign.first {
                for runID in ours {
                    outcome.kept[runID] = "experiment \(experiment) holds killed runs of other sessions (\(first.runID.prefix(12))"
                        + (foreign.count > 1 ? " and \(foreign.count - 1) more" : "") + "), which are not requeued"
                }
                continue
            }
            let requeued = Set(try storage.requeueRuns(experiment: experiment, statuses: [.killed]))
            outcome.requeued += ours.filter { requeued.contains($0) }
        }
        return outcome
    }

    private static func isRequeueingAttempt(_ run: RunRecord, _ storage: any Storage) throws -> Bool {
        try storage.environment(runID: run.runID).contains {
            $0.attempt == run.attempts && $0.key == environmentKey && $0.value == "true"
        }
    }
}
