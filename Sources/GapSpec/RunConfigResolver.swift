import Foundation

/// Turns a user's run configuration (a partial JSON object) into a checked `RunConfig`:
/// types and keys are checked against the schema, the object is deep-merged over the defaults
/// (`RunConfig()` encoded), decoded, and range-checked. All issues are reported together.
public enum RunConfigResolver {
    /// `RunConfig()` as JSON: the tree every user configuration is merged over.
    public static let defaults: JSONValue = {
        // Encoding can only fail on a non-finite Double, and the defaults have none.
        do { return try JSONValue(encoding: RunConfig()) } catch { fatalError("RunConfig() does not encode: \(error)") }
    }()

    /// Resolve a user configuration. Throws `ConfigIssues` naming each problem.
    /// - Parameters:
    ///   - user: a JSON object with any subset of the run configuration's keys.
    ///   - source: the file and positions the object came from, for messages.
    ///   - location: where the object sits in that file (e.g. `base` in an experiment file).
    public static func resolve(_ user: JSONValue, source: SourceRef = SourceRef(file: nil), at location: JSONPath = .root) throws -> RunConfig {
        let found = SchemaCheck.findings(in: user, schema: .runConfig, at: location, source: source)
        if !found.shapeIssues.isEmpty { throw ConfigIssues(found.issues) }
        // An unknown choice takes its default for decoding only, so the range checks run and every problem
        // with the file is reported in one pass.
        let shaped = found.choicePaths.reduce(user) { $0.removing(keys: $1) }
        let config = try decode(merged: defaults.merging(shaped), source: source)
        let rangeIssues = config.issues().map { issue -> ConfigIssue in
            let configPath = JSONPath(keys: DottedPath.split(issue.path.prefix { $0 != "[" }.description) ?? [])
            return source.issue(at: location.appending(configPath), issue.message)
        }
        let issues = found.choiceIssues + rangeIssues
        if !issues.isEmpty { throw ConfigIssues(issues) }
        return config
    }

    /// Resolve a run configuration file (a JSON object of run configuration keys).
    public static func load(contentsOfFile path: String) throws -> RunConfig {
        let document = try JSONParser.parse(contentsOfFile: path)
        return try resolve(document.value, source: SourceRef(document))
    }

    /// Decode a complete configuration tree. The schema check comes first, so a failure here means a
    /// value the schema could not describe; it is still reported as an issue, never a trap.
    static func decode(merged: JSONValue, source: SourceRef) throws -> RunConfig {
        do {
            return try merged.decode(RunConfig.self)
        } catch let error as DecodingError {
            let (path, message): ([CodingKey], String)
            switch error {
            case .typeMismatch(let type, let context): (path, message) = (context.codingPath, "expected \(type): \(context.debugDescription)")
            case .valueNotFound(let type, let context): (path, message) = (context.codingPath, "missing \(type): \(context.debugDescription)")
            case .keyNotFound(let key, let context): (path, message) = (context.codingPath + [key], "missing key: \(context.debugDescription)")
            case .dataCorrupted(let context): (path, message) = (context.codingPath, context.debugDescription)
            @unknown default: (path, message) = ([], "\(error)")
            }
            let jsonPath = JSONPath(path.map { $0.intValue.map(JSONPath.Component.index) ?? .key($0.stringValue) })
            throw ConfigIssues([source.issue(at: jsonPath, message)])
        }
    }

    /// The fully resolved configuration as JSON with canonical key order (defaults filled in).
    public static func json(of config: RunConfig) throws -> JSONValue {
        try JSONValue(encoding: config).sortedKeys
    }
}
