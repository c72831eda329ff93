/// One problem found in a configuration, located by its JSON path (e.g. `model.vision_cfg.width`).
public struct ConfigIssue: Error, Equatable, CustomStringConvertible, Sendable {
    public var path: String
    public var message: String
    public var file: String?

    public init(path: String, message: String, file: String? = nil) {
        self.path = path
        self.message = message
        self.file = file
    }

    public var description: String {
        let location = file.map { "\($0): " } ?? ""
        // A whole-file problem (unreadable, not an object) reads better without a path.
        if path.isEmpty && file != nil { return "\(location)\(message)" }
        return "\(location)\(path.isEmpty ? "<root>" : path): \(message)"
    }
}

/// Several issues reported together, so a user fixes a file in one pass.
public struct ConfigIssues: Error, CustomStringConvertible, Sendable {
    public var issues: [ConfigIssue]
    public init(_ issues: [ConfigIssue]) { self.issues = issues }
    public var description: String { issues.map(\.description).joined(separator: "\n") }
}
