/// Errors of the data stage; each message names the file, line or setting at fault and what was expected.
public enum DataError: Error, CustomStringConvertible, Equatable {
    case missing(String, String)
    case unreadable(String, String)
    case notAnImage(String, String)
    case invalid(String)
    case unavailable(String)

    public var description: String {
        switch self {
        case .missing(let path, let why): return "\(path): missing — \(why)"
        case .unreadable(let path, let why): return "\(path): unreadable — \(why)"
        case .notAnImage(let path, let why): return "\(path): not a decodable image — \(why)"
        case .invalid(let message): return message
        case .unavailable(let message): return message
        }
    }
}
