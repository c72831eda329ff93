import Foundation

/// Why an evaluation could not run; every case names the input at fault and what was expected.
public enum EvalError: Error, LocalizedError, Equatable {
    case shape(what: String, expected: String, got: String)
    case invalidArgument(what: String, expected: String, got: String)
    case io(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .shape(what, expected, got):
            return "\(what): expected \(expected), got \(got)"
        case let .invalidArgument(what, expected, got):
            return "\(what): expected \(expected), got \(got)"
        case let .io(path, reason):
            return "\(path): \(reason)"
        }
    }
}
