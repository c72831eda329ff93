import Foundation

/// Why a plot could not be drawn or written; every case names the input at fault.
public enum PlotError: Error, LocalizedError, Equatable {
    case shape(what: String, expected: String, got: String)
    case invalidArgument(what: String, expected: String, got: String)
    case io(path: String, reason: String)
    case render(String)

    public var errorDescription: String? {
        switch self {
        case let .shape(what, expected, got), let .invalidArgument(what, expected, got):
            return "\(what): expected \(expected), got \(got)"
        case let .io(path, reason):
            return "\(path): \(reason)"
        case let .render(reason):
            return "SVG rendering: \(reason)"
        }
    }
}
