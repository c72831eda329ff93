import Foundation

/// A dataset named in a config: `name[:argument][?key=value&key=value]`, e.g. `scenes`, `scenes?captions=6`,
/// `emoji?train_style=emojione&test_style=twemoji`, `csv:/data/pairs.tsv?sep=,&label_key=label`.
/// Options carry the per-dataset settings `DataConfig` has no field for. What each dataset accepts is
/// `DatasetCatalog`; validation and the data loader both check a spec with `problems()`.
public struct DatasetSpec: Equatable, Sendable {
    public var name: String
    public var argument: String?
    public var options: [String: String]

    public init(name: String, argument: String? = nil, options: [String: String] = [:]) {
        self.name = name
        self.argument = argument
        self.options = options
    }

    /// Splits `text` by the grammar; the catalog is not consulted (see `checked` for both).
    public static func parse(_ text: String) throws -> DatasetSpec {
        var body = text.trimmingCharacters(in: .whitespaces)
        var options: [String: String] = [:]
        // The last "?" starts the options, so a path may hold one.
        if let q = body.lastIndex(of: "?") {
            let query = body[body.index(after: q)...]
            body = String(body[..<q])
            for item in query.split(separator: "&") where !item.isEmpty {
                let kv = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard kv.count == 2, !kv[0].isEmpty else {
                    throw DatasetSpecError(text: text, problems: ["option \"\(item)\" should be key=value"])
                }
                let key = String(kv[0])
                guard options[key] == nil else { throw DatasetSpecError(text: text, problems: ["option \"\(key)\" is given twice"]) }
                options[key] = String(kv[1]).removingPercentEncoding ?? String(kv[1])
            }
        }
        var name = body, argument: String? = nil
        if let colon = body.firstIndex(of: ":") {
            name = String(body[..<colon])
            argument = String(body[body.index(after: colon)...])
        }
        guard !name.isEmpty else { throw DatasetSpecError(text: text, problems: ["empty dataset name"]) }
        return DatasetSpec(name: name, argument: argument, options: options)
    }

    /// The spec of `text` when it parses and has no problems; otherwise the error lists every problem.
    public static func checked(_ text: String) throws -> DatasetSpec {
        let spec = try parse(text)
        let problems = spec.problems()
        if !problems.isEmpty { throw DatasetSpecError(text: text, problems: problems) }
        return spec
    }

    /// The problems of `text` as messages (empty when it is fine), for configuration validation.
    public static func problems(in text: String) -> [String] {
        do { return try parse(text).problems() } catch let error as DatasetSpecError { return error.problems } catch { return ["\(error)"] }
    }

    public var kind: DatasetKind? { DatasetCatalog.kind(named: name) }

    /// Every way this spec is not one GapLab can load: an unknown dataset, a missing or unwanted argument, unknown
    /// options (with "did you mean"), values of the wrong kind, and named files or folders that do not exist.
    public func problems() -> [String] {
        guard let kind else {
            let near = Suggestion.closest(to: name, among: DatasetCatalog.kinds.map(\.name)).map { "; did you mean \"\($0)\"?" } ?? ""
            return ["unknown dataset \"\(name)\"; expected one of \(DatasetCatalog.expectedNames)\(near)"]
        }
        var out: [String] = []
        let given = argument?.trimmingCharacters(in: .whitespaces) ?? ""
        if let value = kind.argument {
            if given.isEmpty {
                out.append("\"\(name):\" needs a path after the colon, e.g. \"\(name):data/pairs.csv\"")
            } else if let problem = value.problem(given) {
                out.append("\(name):PATH: \(problem)")
            }
        } else if let argument {
            out.append("\"\(name)\" takes nothing after \":\", got \"\(name):\(argument)\"")
        }
        let known = kind.options.map(\.key) + DatasetCatalog.commonOptions.map(\.key)
        for key in options.keys.sorted() {
            guard let option = kind.option(key) else {
                if let near = Suggestion.closest(to: key, among: known) {
                    out.append("unknown option \"\(key)\" for \"\(name)\"; did you mean \"\(near)\"?")
                } else {
                    out.append("unknown option \"\(key)\" for \"\(name)\"; expected one of: \(known.joined(separator: ", "))")
                }
                continue
            }
            if let problem = option.value.problem(options[key]!) { out.append("option \"\(key)\" of \"\(name)\": \(problem)") }
        }
        return out
    }

    /// The option's value, else its default in the catalog (nil when it has none).
    public func string(_ key: String) -> String? { options[key] ?? kind?.option(key)?.defaultValue }

    public func int(_ key: String) throws -> Int? {
        guard let text = string(key) else { return nil }
        guard let value = Int(text) else { throw DatasetSpecError(text: name, problems: ["option \"\(key)\": expected an integer, got \"\(text)\""]) }
        return value
    }

    public func bool(_ key: String) throws -> Bool? {
        guard let text = string(key) else { return nil }
        guard let value = DatasetOption.Value.boolean(text) else {
            throw DatasetSpecError(text: name, problems: ["option \"\(key)\": expected true or false, got \"\(text)\""])
        }
        return value
    }

    /// A path option as a file URL (relative paths are taken from the working directory, as the loader reads them).
    public func url(_ key: String) -> URL? { string(key).map { URL(fileURLWithPath: $0) } }
}

/// A dataset string that does not parse or names something GapLab cannot load.
public struct DatasetSpecError: Error, Equatable, CustomStringConvertible, Sendable {
    public var text: String
    public var problems: [String]

    public var description: String { problems.map { "data.dataset \"\(text)\": \($0)" }.joined(separator: "\n") }
}

/// One `key=value` a dataset accepts.
public struct DatasetOption: Sendable {
    public enum Value: Sendable {
        case integer(ClosedRange<Int>)
        case boolean
        case choice([String])
        /// An existing file.
        case file
        /// An existing folder.
        case folder
        /// One character, or `tab`, `comma`, `semicolon`, `space`, `pipe`.
        case separator
        /// Free text (a column name).
        case text
    }

    public var key: String
    public var value: Value
    public var defaultValue: String?

    public init(_ key: String, _ value: Value, default defaultValue: String? = nil) {
        self.key = key
        self.value = value
        self.defaultValue = defaultValue
    }
}

extension DatasetOption.Value {
    public static let separatorNames: [(name: String, character: Character)] = [
        ("tab", "\t"), ("comma", ","), ("semicolon", ";"), ("space", " "), ("pipe", "|"),
    ]

    /// The separator `text` names: one character, `\t` written out, or one of `separatorNames`.
    public static func separator(_ text: String) -> Character? {
        if text == "\\t" { return "\t" }
        if let named = separatorNames.first(where: { $0.name == text }) { return named.character }
        return text.count == 1 ? text.first : nil
    }

    public static func boolean(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "1", "true", "yes": return true
        case "0", "false", "no": return false
        default: return nil
        }
    }

    /// Why `text` is not a value of this kind, or nil when it is one.
    func problem(_ text: String) -> String? {
        var quoted = ""
        JSONValue.writeString(text, to: &quoted)
        switch self {
        case .integer(let range):
            guard let n = Int(text), range.contains(n) else {
                return "expected an integer from \(range.lowerBound) to \(range.upperBound), got \(quoted)"
            }
        case .boolean:
            if Self.boolean(text) == nil { return "expected true or false, got \(quoted)" }
        case .choice(let allowed):
            if !allowed.contains(text) {
                let near = Suggestion.closest(to: text, among: allowed).map { "; did you mean \"\($0)\"?" } ?? ""
                return "expected one of \(allowed.map { "\"\($0)\"" }.joined(separator: ", ")), got \(quoted)\(near)"
            }
        case .file, .folder:
            let wanted = wantsFolder ? "folder" : "file"
            guard !text.isEmpty else { return "expected a path to a \(wanted), got \"\"" }
            var foundFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: text, isDirectory: &foundFolder) else { return "no such \(wanted) \(quoted)" }
            if foundFolder.boolValue != wantsFolder { return "\(quoted) is a \(foundFolder.boolValue ? "folder" : "file"), expected a \(wanted)" }
        case .separator:
            if Self.separator(text) == nil {
                return "expected one character or one of \(Self.separatorNames.map(\.name).joined(separator: ", ")), got \(quoted)"
            }
        case .text:
            if text.isEmpty { return "expected a name, got \"\"" }
        }
        return nil
    }

    private var wantsFolder: Bool {
        if case .folder = self { return true }
        return false
    }
}

/// A dataset GapLab can load: its name, what follows `name:` (nil: nothing may), and its own options.
public struct DatasetKind: Sendable {
    public var name: String
    public var argument: DatasetOption.Value?
    public var options: [DatasetOption]

    /// One of the dataset's options or of the options common to all.
    public func option(_ key: String) -> DatasetOption? {
        options.first { $0.key == key } ?? DatasetCatalog.commonOptions.first { $0.key == key }
    }
}

/// Every dataset and option a `data.dataset` string may name, in one place: configuration validation and the
/// sources in GapData read this table, so the two cannot disagree.
public enum DatasetCatalog {
    public static let emojiStyles = ["emojione", "twemoji"]
    public static let fitModes = ["centre_crop", "letterbox", "stretch"]
    /// Tokens of open_clip's `bpe_simple_vocab_16e6.txt.gz` (option `bpe=`): 256 bytes, 256 word-final bytes,
    /// 48,894 merges, start and end.
    public static let openCLIPVocabularySize = 49408

    public static let commonOptions: [DatasetOption] = [
        DatasetOption("strict", .boolean, default: "false"),
        DatasetOption("fit", .choice(fitModes), default: "centre_crop"),
        DatasetOption("bpe", .file),
    ]

    public static let kinds: [DatasetKind] = [
        DatasetKind(name: "scenes", argument: nil, options: [
            DatasetOption("captions", .integer(1...20), default: "4"),
            DatasetOption("held_out_pairs", .integer(1...56), default: "8"),
        ]),
        DatasetKind(name: "fashion-mnist", argument: nil, options: [DatasetOption("path", .folder)]),
        DatasetKind(name: "emoji", argument: nil, options: [
            DatasetOption("style", .choice(emojiStyles), default: "emojione"),
            // Without a value of their own, both follow `style`.
            DatasetOption("train_style", .choice(emojiStyles)),
            DatasetOption("test_style", .choice(emojiStyles)),
            DatasetOption("names", .file),
        ]),
        DatasetKind(name: "digits", argument: nil, options: [DatasetOption("path", .file)]),
        DatasetKind(name: "csv", argument: .file, options: [
            DatasetOption("img_key", .text, default: "filepath"),
            DatasetOption("caption_key", .text, default: "title"),
            DatasetOption("sep", .separator, default: "\t"),
            DatasetOption("label_key", .text),
        ]),
    ]

    public static func kind(named name: String) -> DatasetKind? { kinds.first { $0.name == name } }

    /// `"scenes", "fashion-mnist", "emoji", "digits" or "csv:PATH"`, for messages.
    static var expectedNames: String {
        let names = kinds.map { $0.argument == nil ? "\"\($0.name)\"" : "\"\($0.name):PATH\"" }
        return names.dropLast().joined(separator: ", ") + " or " + names.last!
    }
}
