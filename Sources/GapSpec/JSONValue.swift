import Foundation

/// A JSON document as a value. Objects keep the order their keys were written in, so messages and the
/// expansion of experiment files follow the file; the canonical form (used for hashing) sorts them.
///
/// Numbers are Doubles. A number is an integer when its value is integral (`3` and `3.0` are the same
/// number), and the canonical form writes integers without a fraction, so an Int field and a Double
/// field holding the same value hash alike however the file spelled them.
public enum JSONValue: Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    /// The largest magnitude up to which every integer is exactly representable as a Double.
    public static let maxExactInteger: Double = 9_007_199_254_740_992  // 2^53

    public var isObject: Bool { if case .object = self { return true } else { return false } }

    /// The members of an object, or nil.
    public var members: [(key: String, value: JSONValue)]? {
        if case .object(let m) = self { return m } else { return nil }
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a } else { return nil }
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s } else { return nil }
    }

    public var doubleValue: Double? {
        if case .number(let d) = self { return d } else { return nil }
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b } else { return nil }
    }

    /// The value as an Int when it is an integral number that an Int holds exactly.
    public var intValue: Int? {
        guard case .number(let d) = self, d.isFinite, d == d.rounded(), abs(d) <= JSONValue.maxExactInteger else { return nil }
        return Int(d)
    }

    /// The member named `key` of an object (the last one, should a key repeat).
    public subscript(key: String) -> JSONValue? {
        guard case .object(let m) = self else { return nil }
        return m.last(where: { $0.key == key })?.value
    }

    /// The value at a path of keys and indices, or nil when the path leads nowhere.
    public func value(at path: JSONPath) -> JSONValue? {
        var current = self
        for component in path.components {
            switch component {
            case .key(let k):
                guard let next = current[k] else { return nil }
                current = next
            case .index(let i):
                guard case .array(let a) = current, a.indices.contains(i) else { return nil }
                current = a[i]
            }
        }
        return current
    }

    /// A copy with the member `key` set (replacing an existing one in place, or appended).
    public func setting(_ key: String, to newValue: JSONValue) -> JSONValue {
        var m = members ?? []
        if let i = m.firstIndex(where: { $0.key == key }) {
            m[i].value = newValue
        } else {
            m.append((key: key, value: newValue))
        }
        return .object(m)
    }

    /// A copy with the value at a path of keys set; missing or non-object intermediate members become objects.
    public func setting(keys: [String], to newValue: JSONValue) -> JSONValue {
        guard let first = keys.first else { return newValue }
        let child = self[first] ?? .object([])
        let base: JSONValue = isObject ? self : .object([])
        return base.setting(first, to: (child.isObject ? child : .object([])).setting(keys: Array(keys.dropFirst()), to: newValue))
    }

    /// A copy without the value at a path of keys; unchanged when the path leads nowhere.
    public func removing(keys: [String]) -> JSONValue {
        guard let first = keys.first, case .object(var m) = self else { return self }
        if keys.count == 1 {
            m.removeAll { $0.key == first }
        } else {
            for i in m.indices where m[i].key == first { m[i].value = m[i].value.removing(keys: Array(keys.dropFirst())) }
        }
        return .object(m)
    }

    /// `overlay` merged into `self`: objects merge key by key (recursively); anything else in `overlay` replaces.
    public func merging(_ overlay: JSONValue) -> JSONValue {
        guard case .object(let mine) = self, case .object(let theirs) = overlay else { return overlay }
        var out = mine
        for (key, value) in theirs {
            if let i = out.firstIndex(where: { $0.key == key }) {
                out[i].value = out[i].value.merging(value)
            } else {
                out.append((key: key, value: value))
            }
        }
        return .object(out)
    }

    /// Every non-object value under this one by dotted path (`model.sharing.depth`), in key order; arrays
    /// are single values. This is how a run's parameters are flattened for numeric queries.
    public func leaves(prefix: String = "") -> [(path: String, value: JSONValue)] {
        guard case .object(let m) = self else { return prefix.isEmpty ? [] : [(prefix, self)] }
        return m.flatMap { $0.value.leaves(prefix: prefix.isEmpty ? $0.key : "\(prefix).\($0.key)") }
    }

    /// The same value with every object's keys in canonical order, recursively.
    public var sortedKeys: JSONValue {
        switch self {
        case .array(let a): return .array(a.map(\.sortedKeys))
        case .object(let m):
            return .object(m.map { (key: $0.key, value: $0.value.sortedKeys) }.sorted { JSONValue.keyPrecedes($0.key, $1.key) })
        default: return self
        }
    }

    /// Canonical key order: by UTF-8 bytes, which does not depend on locale or Unicode normalisation.
    static func keyPrecedes(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// "a string", "an integer", ... for messages.
    public var kindDescription: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return intValue != nil ? "an integer" : "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// The kind and a short rendering of the value, e.g. `a string ("abc")`, for "found ..." in messages.
    public var foundDescription: String {
        switch self {
        case .null: return "null"
        case .array(let a) where a.isEmpty: return "an empty array"
        case .object(let m) where m.isEmpty: return "an empty object"
        default:
            var text = compactString
            if text.count > 40 { text = String(text.prefix(37)) + "..." }
            return "\(kindDescription) (\(text))"
        }
    }
}

extension JSONValue: Equatable {
    /// Semantic equality: objects are equal when they have the same members in any order.
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object, .object): return lhs.canonicalString == rhs.canonicalString
        default: return false
        }
    }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(elements.map { (key: $0.0, value: $0.1) }) }
}

// MARK: - Serialisation

extension JSONValue {
    /// Sorted keys, no whitespace, integers without a fraction, other numbers in shortest round-trip form.
    /// Equal values (in the sense of `==`) have the same canonical string.
    public var canonicalString: String {
        var out = ""
        write(to: &out, sorted: true)
        return out
    }

    public var canonicalData: Data { Data(canonicalString.utf8) }

    /// No whitespace, keys in their written order.
    public var compactString: String {
        var out = ""
        write(to: &out, sorted: false)
        return out
    }

    /// Two-space indented, keys in their written order; for files a person reads.
    public var prettyString: String {
        var out = ""
        writePretty(to: &out, indent: "")
        return out
    }

    private func write(to out: inout String, sorted: Bool) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let d): out += JSONValue.format(d)
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .array(let a):
            out += "["
            for (i, v) in a.enumerated() {
                if i > 0 { out += "," }
                v.write(to: &out, sorted: sorted)
            }
            out += "]"
        case .object(var m):
            if sorted { m.sort { JSONValue.keyPrecedes($0.key, $1.key) } }
            out += "{"
            for (i, member) in m.enumerated() {
                if i > 0 { out += "," }
                JSONValue.writeString(member.key, to: &out)
                out += ":"
                member.value.write(to: &out, sorted: sorted)
            }
            out += "}"
        }
    }

    private func writePretty(to out: inout String, indent: String) {
        let inner = indent + "  "
        switch self {
        case .array(let a) where !a.isEmpty:
            out += "[\n"
            for (i, v) in a.enumerated() {
                out += inner
                v.writePretty(to: &out, indent: inner)
                out += i + 1 < a.count ? ",\n" : "\n"
            }
            out += indent + "]"
        case .object(let m) where !m.isEmpty:
            out += "{\n"
            for (i, member) in m.enumerated() {
                out += inner
                JSONValue.writeString(member.key, to: &out)
                out += ": "
                member.value.writePretty(to: &out, indent: inner)
                out += i + 1 < m.count ? ",\n" : "\n"
            }
            out += indent + "}"
        default:
            write(to: &out, sorted: false)
        }
    }

    /// Integers (exactly representable ones) without a fraction; others via Swift's shortest round-trip
    /// `description`, which is valid JSON for finite values (`0.001`, `1e-06`, `1e+20`).
    static func format(_ d: Double) -> String {
        guard d.isFinite else { return "null" }  // unreachable for parsed values: JSON has no NaN or infinity
        if d == d.rounded() && abs(d) <= maxExactInteger { return String(Int64(d)) }
        return d.description
    }

    static func writeString(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    out += "\\u" + String(format: "%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

// MARK: - Codable bridges

extension JSONValue {
    /// The JSON of an Encodable value, as `JSONEncoder` writes it.
    public init<T: Encodable>(encoding value: T) throws {
        let data = try JSONEncoder().encode(value)
        self = try JSONParser.parse(bytes: [UInt8](data), file: nil, recordsPositions: false).value
    }

    /// Decode a `Decodable` from this value with `JSONDecoder`.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(type, from: canonicalData)
    }
}

extension JSONValue: Encodable {
    /// A JSON value embedded in an Encodable output (a run's configuration in `gaplab show`).
    public func encode(to encoder: Encoder) throws {
        switch self {
        case .null:
            var container = encoder.singleValueContainer()
            try container.encodeNil()
        case .bool(let b):
            var container = encoder.singleValueContainer()
            try container.encode(b)
        case .number(let d):
            var container = encoder.singleValueContainer()
            // Integral values as integers, so they print without a fraction whatever the encoder does with doubles.
            if let i = intValue { try container.encode(i) } else { try container.encode(d) }
        case .string(let s):
            var container = encoder.singleValueContainer()
            try container.encode(s)
        case .array(let elements):
            var container = encoder.unkeyedContainer()
            for element in elements { try container.encode(element) }
        case .object(let members):
            var container = encoder.container(keyedBy: MemberKey.self)
            for member in members { try container.encode(member.value, forKey: MemberKey(member.key)) }
        }
    }

    private struct MemberKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ key: String) { stringValue = key }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
