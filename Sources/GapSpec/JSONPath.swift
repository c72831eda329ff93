/// A location inside a JSON document: a sequence of object keys and array indices.
/// Written the way a person reads it in messages: `base.model.sharing.depth`, `grid["model.sharing.depth"][2]`.
public struct JSONPath: Hashable, Sendable, CustomStringConvertible, ExpressibleByArrayLiteral {
    public enum Component: Hashable, Sendable {
        case key(String)
        case index(Int)
    }

    public var components: [Component]

    public init(_ components: [Component] = []) { self.components = components }
    public init(arrayLiteral elements: Component...) { self.components = elements }

    public static let root = JSONPath()

    /// A path of object keys, e.g. from a dotted configuration path split at its dots.
    public init(keys: [String]) { self.components = keys.map(Component.key) }

    public func appending(_ key: String) -> JSONPath { JSONPath(components + [.key(key)]) }
    public func appending(_ index: Int) -> JSONPath { JSONPath(components + [.index(index)]) }
    public func appending(_ other: JSONPath) -> JSONPath { JSONPath(components + other.components) }

    public var isEmpty: Bool { components.isEmpty }

    /// Object keys only: the dotted configuration path of a path that has no indices.
    public var keys: [String]? {
        var out: [String] = []
        for c in components {
            guard case .key(let k) = c else { return nil }
            out.append(k)
        }
        return out
    }

    public var description: String {
        var out = ""
        for (i, component) in components.enumerated() {
            switch component {
            case .key(let k) where JSONPath.isPlain(k):
                out += i == 0 ? k : "." + k
            case .key(let k):
                var quoted = ""
                JSONValue.writeString(k, to: &quoted)
                out += "[\(quoted)]"
            case .index(let n):
                out += "[\(n)]"
            }
        }
        return out
    }

    /// Keys written bare: letters, digits, `_` and `-` (everything a configuration key uses).
    static func isPlain(_ key: String) -> Bool {
        !key.isEmpty && key.unicodeScalars.allSatisfy { s in
            (s >= "a" && s <= "z") || (s >= "A" && s <= "Z") || (s >= "0" && s <= "9") || s == "_" || s == "-"
        }
    }
}

/// Helpers for dotted configuration paths (`model.sharing.depth`).
public enum DottedPath {
    /// The keys of a dotted path, or nil when a component is empty (`a..b`, `.a`, `a.`, ``).
    public static func split(_ path: String) -> [String]? {
        let parts = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !parts.isEmpty, parts.allSatisfy({ !$0.isEmpty }) else { return nil }
        return parts
    }

    public static func join(_ keys: [String]) -> String { keys.joined(separator: ".") }

    /// Whether `ancestor` equals `path` or is one of its ancestors.
    public static func isPrefix(_ ancestor: [String], of path: [String]) -> Bool {
        ancestor.count <= path.count && Array(path.prefix(ancestor.count)) == ancestor
    }
}
