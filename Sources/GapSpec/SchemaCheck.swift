/// Where values came from, so an issue can name its file, its JSON path and (when known) its line.
public struct SourceRef: Sendable {
    public var file: String?
    public var positions: [JSONPath: SourcePosition]

    public init(file: String?, positions: [JSONPath: SourcePosition] = [:]) {
        self.file = file
        self.positions = positions
    }

    public init(_ document: JSONDocument) {
        self.init(file: document.file, positions: document.positions)
    }

    /// The position of `path`, or of its nearest ancestor that has one.
    public func position(of path: JSONPath) -> SourcePosition? {
        var components = path.components
        while true {
            if let p = positions[JSONPath(components)] { return p }
            if components.isEmpty { return nil }
            components.removeLast()
        }
    }

    public func issue(at path: JSONPath, _ message: String) -> ConfigIssue {
        let suffix = position(of: path).map { " (\($0))" } ?? ""
        return ConfigIssue(path: path.description, message: message + suffix, file: file)
    }
}

/// Checks a user's (partial) configuration against a `ConfigSchema`: unknown keys, with "did you mean", values
/// of the wrong type, and strings outside their `ConfigChoice`, each reported with its path and what was expected.
public enum SchemaCheck {
    /// What a check found, kept apart by kind: a string outside its choices leaves the value's shape intact, so
    /// the rest of a configuration can still be decoded (with the default in that place) and range-checked.
    public struct Findings {
        /// Unknown keys and values of the wrong type.
        public var shapeIssues: [ConfigIssue] = []
        /// Strings that name no value of their `ConfigChoice` type.
        public var choiceIssues: [ConfigIssue] = []
        /// The configuration keys of those strings.
        public var choicePaths: [[String]] = []

        public var issues: [ConfigIssue] { shapeIssues + choiceIssues }
    }

    /// `location` is where `value` sits in its document; `schemaPath` is the configuration path it sets.
    public static func issues(in value: JSONValue, schema: ConfigSchema, at location: JSONPath, schemaPath: [String] = [],
                              source: SourceRef, root: ConfigSchema = .runConfig) -> [ConfigIssue] {
        findings(in: value, schema: schema, at: location, schemaPath: schemaPath, source: source, root: root).issues
    }

    public static func findings(in value: JSONValue, schema: ConfigSchema, at location: JSONPath, schemaPath: [String] = [],
                                source: SourceRef, root: ConfigSchema = .runConfig) -> Findings {
        var out = Findings()
        check(value, schema, location, schemaPath, source, root, &out)
        return out
    }

    private static func check(_ value: JSONValue, _ schema: ConfigSchema, _ location: JSONPath, _ schemaPath: [String],
                              _ source: SourceRef, _ root: ConfigSchema, _ out: inout Findings) {
        func mismatch() {
            out.shapeIssues.append(source.issue(at: location, "expected \(schema.expectation), found \(value.foundDescription)"))
        }
        switch schema {
        case .bool:
            if value.boolValue == nil { mismatch() }
        case .string:
            if value.stringValue == nil { mismatch() }
        case .choice(let choice):
            guard let text = value.stringValue else { return mismatch() }
            if !choice.accepts(text) {
                out.choiceIssues.append(source.issue(at: location, choice.unknownValueMessage(text)))
                out.choicePaths.append(schemaPath)
            }
        case .number:
            if value.doubleValue == nil { mismatch() }
        case .integer:
            guard let d = value.doubleValue else { return mismatch() }
            if d != d.rounded() {
                out.shapeIssues.append(source.issue(at: location, "expected an integer, found \(value.foundDescription)"))
            } else if abs(d) > JSONValue.maxExactInteger {
                out.shapeIssues.append(source.issue(at: location, "integer \(JSONValue.format(d)) is out of range (at most 2^53 in magnitude)"))
            }
        case .array(let element):
            guard let elements = value.arrayValue else { return mismatch() }
            if let element {
                for (i, e) in elements.enumerated() {
                    check(e, element, location.appending(i), schemaPath, source, root, &out)
                }
            }
        case .object(let keys, let children):
            guard let members = value.members else { return mismatch() }
            for (key, child) in members {
                if let childSchema = children[key] {
                    check(child, childSchema, location.appending(key), schemaPath + [key], source, root, &out)
                } else {
                    out.shapeIssues.append(source.issue(at: location.appending(key), Suggestion.unknownKeyMessage(key, siblings: keys, schema: root)))
                }
            }
            // open_clip gives the vision heads either as head_width or as heads; both at once is ambiguous.
            if schemaPath.last == "vision_cfg", value["heads"] != nil, value["head_width"] != nil {
                out.shapeIssues.append(source.issue(at: location.appending("heads"), "give either heads or head_width, not both"))
            }
        }
    }

    /// Resolve a dotted configuration path against the schema. Returns the schema at the end of the path or
    /// the issue naming the first component that does not exist.
    public static func resolve(dotted path: String, in root: ConfigSchema = .runConfig, at location: JSONPath,
                               source: SourceRef) -> Result<(keys: [String], schema: ConfigSchema), ConfigIssues> {
        guard let keys = DottedPath.split(path) else {
            return .failure(ConfigIssues([source.issue(at: location, "\"\(path)\" is not a dotted path (expected e.g. \"model.sharing.depth\")")]))
        }
        var node = root
        for (i, key) in keys.enumerated() {
            guard case .object(let siblings, let children) = node else {
                let parent = DottedPath.join(Array(keys.prefix(i)))
                return .failure(ConfigIssues([source.issue(at: location, "\(parent) is \(node.expectation), it has no key \"\(key)\"")]))
            }
            guard let child = children[key] else {
                let prefix = i == 0 ? "" : "in \(DottedPath.join(Array(keys.prefix(i)))): "
                var message = prefix + Suggestion.unknownKeyMessage(key, siblings: siblings, schema: root)
                if i == 0, Suggestion.closest(to: key, among: siblings) == nil,
                   let near = Suggestion.closest(to: path, among: root.allPaths().map(DottedPath.join)) {
                    message = "unknown path \"\(path)\"; did you mean \"\(near)\"?"
                }
                return .failure(ConfigIssues([source.issue(at: location, message)]))
            }
            node = child
        }
        return .success((keys, node))
    }
}
