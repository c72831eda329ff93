/// A `train.command` argument or `train.command_checkpoint` with `{name}` placeholders: a dotted path into the
/// resolved configuration (`{train.lr}`, `{data.dataset}`, `{seed}`) or a value of the run: `{artifacts}`,
/// `{run_id}`, `{data.path}` (a csv: dataset's table), `{data.train_csv}` (the run's training split written as
/// open_clip's CSV) and `{open_clip_model}` (the model as an open_clip `local-dir:` config). `{{` and `}}` stand
/// for braces.
public struct CommandTemplate: Sendable, Equatable {
    public enum Piece: Sendable, Equatable {
        case text(String)
        case placeholder(String)
    }

    public let pieces: [Piece]

    /// The values a run supplies besides its configuration.
    public static let runValues = ["artifacts", "run_id", "data.path", "data.train_csv", "open_clip_model"]

    public init(parsing text: String) throws(CommandTemplateError) {
        var pieces: [Piece] = [], literal = "", name: String?
        var characters = text[...]
        while let c = characters.popFirst() {
            if var open = name {
                if c == "}" {
                    guard !open.isEmpty else { throw .emptyPlaceholder }
                    pieces.append(.placeholder(open))
                    name = nil
                } else if c == "{" {
                    throw .unclosed(open)
                } else {
                    open.append(c)
                    name = open
                }
            } else if c == "{" && characters.first == "{" || c == "}" && characters.first == "}" {
                literal.append(c)
                characters.removeFirst()
            } else if c == "{" {
                if !literal.isEmpty { pieces.append(.text(literal)); literal = "" }
                name = ""
            } else if c == "}" {
                throw .strayBrace
            } else {
                literal.append(c)
            }
        }
        if let open = name { throw .unclosed(open) }
        if !literal.isEmpty { pieces.append(.text(literal)) }
        self.pieces = pieces
    }

    public var placeholders: [String] {
        pieces.compactMap { if case .placeholder(let name) = $0 { return name } else { return nil } }
    }

    /// The text with every placeholder filled: from `values` first, then from the configuration's JSON, whose
    /// scalars are written as JSON writes them (strings without quotes).
    public func filled(config: JSONValue, values: [String: String]) throws(CommandTemplateError) -> String {
        var out = ""
        for piece in pieces {
            switch piece {
            case .text(let text): out += text
            case .placeholder(let name):
                if let value = values[name] {
                    out += value
                } else if let value = CommandTemplate.scalar(at: name, in: config) {
                    out += value
                } else {
                    throw .unknown(name)
                }
            }
        }
        return out
    }

    /// Whether `name` is a placeholder a run can fill: a run value, or a scalar of the configuration.
    public static func knows(_ name: String, config: JSONValue) -> Bool {
        runValues.contains(name) || scalar(at: name, in: config) != nil
    }

    static func scalar(at path: String, in config: JSONValue) -> String? {
        var node = config
        for key in path.split(separator: ".", omittingEmptySubsequences: false) {
            guard let member = node.members?.first(where: { $0.key == key }) else { return nil }
            node = member.value
        }
        switch node {
        case .string(let text): return text
        case .object, .array: return nil
        default: return node.canonicalString
        }
    }
}

public enum CommandTemplateError: Error, CustomStringConvertible, Equatable {
    case unclosed(String)
    case emptyPlaceholder
    case strayBrace
    case unknown(String)

    public var description: String {
        switch self {
        case .unclosed(let name): return "placeholder {\(name) is not closed (write {{ for a brace)"
        case .emptyPlaceholder: return "empty placeholder {} (write {{}} for braces)"
        case .strayBrace: return "a } without its { (write }} for a brace)"
        case .unknown(let name):
            return "unknown placeholder {\(name)}: expected a key of the configuration (e.g. {train.lr}) or one of "
                + CommandTemplate.runValues.map { "{\($0)}" }.joined(separator: ", ")
        }
    }
}
