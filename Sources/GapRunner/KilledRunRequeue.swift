import Foundation
import GapStore

/// Puts back to pending the runs a worker recorded as killed when a signal stopped it (Slurm's `scancel`, a
/// preemption, the end of a time limit), so that another worker resumes them from their checkpoints. Their killed
/// attempts stay in the attempt history. Only the worker's own runs are touched; `gaplab run` does not do this at
/// all, since there a kill is the user's Ctrl-C.
public enum KilledRunRequeue {
    /// Requeues the killed runs among `runIDs` (runs no longer killed, e.g. already taken up, are left alone);
    /// returns the runs now pending again.
    public static func requeue(_ runIDs: [String], in storage: any Storage) throws -> [String] {
        try storage.requeueRuns(ids: runIDs, statuses: [.killed])
    }
}
