/// A command-line override: `key=value` sets a value, `key=v1,v2` sweeps it.
///
/// The value is read as JSON when it is valid JSON (`train.lr=1e-3`, `eval.retrieval_k=[1,5]`,
/// `data.dataset="a,b"`); otherwise, when it has commas outside brackets and quotes, as a sweep whose items
/// are each JSON or a bare string (`data.dataset=scenes,emoji`); otherwise as a bare string.
public struct Override: Equatable, Sendable {
    /// The override exactly as given, recorded with the runs.
    public var text: String
    /// The dotted configuration path.
    public var path: String
    /// One value for a setting, several for a sweep.
    public var values: [JSONValue]
    public var isSweep: Bool

    /// The file name that issues about command-line overrides carry.
    public static let sourceName = "command line"

    public static func parse(_ text: String) throws -> Override {
        guard let equals = text.firstIndex(of: "=") else {
            throw ConfigIssues([ConfigIssue(path: text, message: "expected key=value or key=v1,v2 (e.g. train.lr=0.001)", file: sourceName)])
        }
        let path = String(text[..<equals]).trimmingWhitespace()
        let raw = String(text[text.index(after: equals)...])
        guard DottedPath.split(path) != nil else {
            throw ConfigIssues([ConfigIssue(path: text, message: "\"\(path)\" is not a dotted configuration path (e.g. model.sharing.depth)", file: sourceName)])
        }
        if let whole = try? JSONParser.parse(raw).value {
            return Override(text: text, path: path, values: [whole], isSweep: false)
        }
        let items = splitTopLevelCommas(raw)
        if items.count > 1 {
            var values: [JSONValue] = []
            for (i, item) in items.enumerated() {
                let trimmed = item.trimmingWhitespace()
                if trimmed.isEmpty {
                    throw ConfigIssues([ConfigIssue(path: text, message: "sweep item \(i + 1) is empty", file: sourceName)])
                }
                values.append((try? JSONParser.parse(trimmed).value) ?? .string(trimmed))
            }
            return Override(text: text, path: path, values: values, isSweep: true)
        }
        return Override(text: text, path: path, values: [.string(raw)], isSweep: false)
    }

    /// Split at commas that are not inside brackets, braces or double quotes.
    static func splitTopLevelCommas(_ s: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var depth = 0
        var inString = false
        var escaped = false
        for ch in s {
            if inString {
                if escaped { escaped = false } else if ch == "\\" { escaped = true } else if ch == "\"" { inString = false }
                current.append(ch)
                continue
            }
            switch ch {
            case "\"": inString = true
            case "[", "{": depth += 1
            case "]", "}": depth = max(0, depth - 1)
            case "," where depth == 0:
                parts.append(current)
                current = ""
                continue
            default: break
            }
            current.append(ch)
        }
        parts.append(current)
        return parts
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let first = s.first, first.isWhitespace { s.removeFirst() }
        while let last = s.last, last.isWhitespace { s.removeLast() }
        return String(s)
    }
}
