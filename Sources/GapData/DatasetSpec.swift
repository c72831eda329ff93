import Foundation

/// A dataset named in a config: `name[:argument][?key=value&key=value]`, e.g. `scenes`, `scenes?captions=6`,
/// `emoji?train_style=emojione&test_style=twemoji`, `csv:/data/pairs.tsv?sep=,&label_key=label`.
/// Options carry the per-dataset settings `DataConfig` has no field for.
public struct DatasetSpec: Equatable, Sendable {
    public var name: String
    public var argument: String?
    public var options: [String: String]

    public init(name: String, argument: String? = nil, options: [String: String] = [:]) {
        self.name = name
        self.argument = argument
        self.options = options
    }

    public static func parse(_ text: String) throws -> DatasetSpec {
        var body = text.trimmingCharacters(in: .whitespaces)
        var options: [String: String] = [:]
        if let q = body.lastIndex(of: "?") {
            let query = body[body.index(after: q)...]
            body = String(body[..<q])
            for item in query.split(separator: "&") where !item.isEmpty {
                let kv = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard kv.count == 2, !kv[0].isEmpty else {
                    throw DataError.invalid("data.dataset \"\(text)\": option \"\(item)\" should be key=value")
                }
                options[String(kv[0])] = String(kv[1]).removingPercentEncoding ?? String(kv[1])
            }
        }
        var name = body, argument: String? = nil
        if let colon = body.firstIndex(of: ":") {
            name = String(body[..<colon])
            argument = String(body[body.index(after: colon)...])
        }
        guard !name.isEmpty else { throw DataError.invalid("data.dataset \"\(text)\": empty dataset name") }
        return DatasetSpec(name: name.lowercased(), argument: argument, options: options)
    }

    public func string(_ key: String, default value: String) -> String { options[key] ?? value }

    public func int(_ key: String, default value: Int) throws -> Int {
        guard let text = options[key] else { return value }
        guard let v = Int(text) else { throw DataError.invalid("dataset option \(key)=\(text): expected an integer") }
        return v
    }

    public func bool(_ key: String, default value: Bool) throws -> Bool {
        guard let text = options[key]?.lowercased() else { return value }
        switch text {
        case "1", "true", "yes": return true
        case "0", "false", "no": return false
        default: throw DataError.invalid("dataset option \(key)=\(text): expected true or false")
        }
    }

    /// Rejects options the dataset does not know, so a typo does not silently fall back to a default.
    public func checkOptions(allowed: [String]) throws {
        let common = ["strict", "fit", "bpe"]
        for key in options.keys.sorted() where !allowed.contains(key) && !common.contains(key) {
            throw DataError.invalid("dataset \(name): unknown option \"\(key)\" (known: \((allowed + common).sorted().joined(separator: ", ")))")
        }
    }
}
