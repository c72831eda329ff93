import Foundation

public enum StoreError: Error, CustomStringConvertible, Equatable {
    case storeNotFound(path: String)
    case runNotFound(String)
    case ambiguousRunID(prefix: String, matches: [String])
    /// The worker no longer holds the run: its lease expired and another worker took it over, or it was finished.
    case leaseLost(runID: String, worker: String, attempt: Int)
    case runIsRunning(String)
    case invalidStatus(String)
    case artifactOutsideRun(runID: String, path: String)
    case invalid(String)

    public var description: String {
        switch self {
        case .storeNotFound(let path):
            return "no store at \(path) (run an experiment first, or pass --store / set GAPLAB_STORE)"
        case .runNotFound(let id):
            return "no run with ID \(id)"
        case .ambiguousRunID(let prefix, let matches):
            return "run ID prefix '\(prefix)' matches \(matches.count) runs: \(matches.prefix(5).joined(separator: ", "))\(matches.count > 5 ? ", ..." : "")"
        case .leaseLost(let runID, let worker, let attempt):
            return "worker \(worker) no longer holds run \(runID) (attempt \(attempt)): its lease expired or the run was finished"
        case .runIsRunning(let id):
            return "run \(id) is running; stop it first (a running run is never deleted)"
        case .invalidStatus(let text):
            return "unknown run status '\(text)'; expected one of \(RunStatus.allCases.map(\.rawValue).joined(separator: ", "))"
        case .artifactOutsideRun(let runID, let path):
            return "artifact \(path) is not inside the artifact folder of run \(runID)"
        case .invalid(let message):
            return message
        }
    }
}
