import Foundation
import GapStore

/// Sends heartbeats for one claimed run from a background thread, every quarter of the lease, so a slow
/// step of the run itself never lets the lease lapse. Calls `onLost` once if the store says another worker
/// now holds the run.
final class LeaseKeeper {
    private let storage: Storage
    private let claim: ClaimedRun
    private let interval: TimeInterval
    private let onLost: () -> Void
    private let stopped = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var lostFlag = false

    var lost: Bool {
        lock.lock(); defer { lock.unlock() }
        return lostFlag
    }

    init(storage: Storage, claim: ClaimedRun, interval: TimeInterval, onLost: @escaping () -> Void) {
        self.storage = storage
        self.claim = claim
        self.interval = interval
        self.onLost = onLost
    }

    func start() {
        let thread = Thread { [self] in
            defer { finished.signal() }
            while stopped.wait(timeout: .now() + interval) == .timedOut {
                do {
                    try storage.heartbeat(runID: claim.runID, worker: claim.worker, attempt: claim.attempt)
                } catch StoreError.leaseLost {
                    lock.lock(); lostFlag = true; lock.unlock()
                    onLost()
                    return
                } catch {
                    // A busy or briefly unreachable store: the next beat tries again within the lease.
                    FileHandle.standardError.write(Data("gaplab: heartbeat for run \(claim.runID) failed: \(error)\n".utf8))
                }
            }
        }
        thread.name = "gaplab-heartbeat"
        thread.start()
    }

    func stop() {
        stopped.signal()
        finished.wait()
    }
}
