/// The shape of a configuration: which keys exist and what type each holds. It is read off the Swift types
/// by encoding sample values with `SchemaEncoder`, so it can never disagree with what `Decodable` accepts,
/// and it knows an Int field from a Double field (which the encoded JSON alone does not tell).
public indirect enum ConfigSchema: Equatable, Sendable {
    case bool
    case integer
    case number
    case string
    /// A string that must name a value of a `ConfigChoice` type.
    case choice(ChoiceValues)
    /// An array; the element schema is nil when no sample held an element.
    case array(ConfigSchema?)
    case object(keys: [String], children: [String: ConfigSchema])

    /// The schema of run configurations: `RunConfig()` plus samples that show optional keys
    /// (`vision_cfg.heads`, given instead of `head_width`) and the element types of arrays that are empty by default.
    public static let runConfig: ConfigSchema = {
        var withAlternatives = RunConfig()
        withAlternatives.model.vision = VisionConfig(heads: 1)
        withAlternatives.eval.posthocShift = [0.5]
        var schema = ConfigSchema.of(RunConfig())
        schema.formUnion(ConfigSchema.of(withAlternatives))
        return schema
    }()

    public static func of<T: Encodable>(_ value: T) -> ConfigSchema {
        let box = SchemaBox()
        // The schema encoder never throws: every encode call only records a type.
        try? value.encode(to: SchemaEncoder(box: box, codingPath: []))
        return box.freeze() ?? .object(keys: [], children: [:])
    }

    /// The schema at a path of object keys, or nil.
    public func child(_ key: String) -> ConfigSchema? {
        if case .object(_, let children) = self { return children[key] }
        return nil
    }

    public func descendant(_ keys: [String]) -> ConfigSchema? {
        var node: ConfigSchema? = self
        for k in keys { node = node?.child(k) }
        return node
    }

    public var objectKeys: [String] {
        if case .object(let keys, _) = self { return keys }
        return []
    }

    /// Every dotted path (objects included) in the schema, for "did you mean" across sections.
    public func allPaths(prefix: [String] = []) -> [[String]] {
        guard case .object(let keys, let children) = self else { return [] }
        var out: [[String]] = []
        for k in keys {
            let path = prefix + [k]
            out.append(path)
            out += children[k]!.allPaths(prefix: path)
        }
        return out
    }

    /// "an integer", "an object", ... for "expected ..." in messages.
    public var expectation: String {
        switch self {
        case .bool: return "a boolean"
        case .integer: return "an integer"
        case .number: return "a number"
        case .string: return "a string"
        case .choice(let choice): return "one of \(choice.validValues.map { "\"\($0)\"" }.joined(separator: ", "))"
        case .array(let element): return element.map { "an array of \($0.plural)" } ?? "an array"
        case .object: return "an object"
        }
    }

    var plural: String {
        switch self {
        case .bool: return "booleans"
        case .integer: return "integers"
        case .number: return "numbers"
        case .string, .choice: return "strings"
        case .array: return "arrays"
        case .object: return "objects"
        }
    }

    /// Widen `self` to accept what `other` accepts (an Int sample and a Double sample make a number).
    mutating func formUnion(_ other: ConfigSchema) {
        switch (self, other) {
        case (.integer, .number): self = .number
        case (.array(let a), .array(let b)):
            if var a = a, let b = b { a.formUnion(b); self = .array(a) } else { self = .array(a ?? b) }
        case (.object(var keys, var children), .object(let otherKeys, let otherChildren)):
            for k in otherKeys {
                if var mine = children[k] {
                    mine.formUnion(otherChildren[k]!)
                    children[k] = mine
                } else {
                    keys.append(k)
                    children[k] = otherChildren[k]
                }
            }
            self = .object(keys: keys, children: children)
        default: break
        }
    }
}

/// The values a `.choice` schema accepts, read off its `ConfigChoice` type.
public struct ChoiceValues: Equatable, Sendable {
    public let type: any ConfigChoice.Type

    public init(_ type: any ConfigChoice.Type) { self.type = type }

    public var validValues: [String] { type.validValues }
    public func accepts(_ text: String) -> Bool { type.accepts(text) }
    public func unknownValueMessage(_ text: String) -> String { type.unknownValueMessage(text) }

    public static func == (a: ChoiceValues, b: ChoiceValues) -> Bool { ObjectIdentifier(a.type) == ObjectIdentifier(b.type) }
}

// MARK: - Type-recording encoder

/// What has been recorded at one place in the value being encoded.
final class SchemaBox {
    enum State {
        case empty
        case leaf(ConfigSchema)
        case object(keys: [String], children: [String: SchemaBox])
        case array([SchemaBox])
    }
    var state: State = .empty

    func child(forKey key: String) -> SchemaBox {
        if case .object(var keys, var children) = state {
            if let existing = children[key] { return existing }
            let box = SchemaBox()
            keys.append(key)
            children[key] = box
            state = .object(keys: keys, children: children)
            return box
        }
        let box = SchemaBox()
        state = .object(keys: [key], children: [key: box])
        return box
    }

    func makeObject() {
        if case .object = state { return }
        state = .object(keys: [], children: [:])
    }

    func appendElement() -> SchemaBox {
        let box = SchemaBox()
        if case .array(let elements) = state { state = .array(elements + [box]) } else { state = .array([box]) }
        return box
    }

    func makeArray() {
        if case .array = state { return }
        state = .array([])
    }

    func freeze() -> ConfigSchema? {
        switch state {
        case .empty: return nil
        case .leaf(let s): return s
        case .object(let keys, let children):
            var frozen: [String: ConfigSchema] = [:]
            var kept: [String] = []
            for k in keys {
                if let s = children[k]!.freeze() {  // an absent optional leaves an empty box: not a key
                    frozen[k] = s
                    kept.append(k)
                }
            }
            return .object(keys: kept, children: frozen)
        case .array(let elements):
            var element: ConfigSchema?
            for e in elements {
                guard let s = e.freeze() else { continue }
                if var current = element { current.formUnion(s); element = current } else { element = s }
            }
            return .array(element)
        }
    }
}

struct SchemaEncoder: Encoder {
    let box: SchemaBox
    var codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        box.makeObject()
        return KeyedEncodingContainer(KeyedSchemaContainer<Key>(box: box, codingPath: codingPath))
    }

    func unkeyedContainer() -> UnkeyedEncodingContainer {
        box.makeArray()
        return UnkeyedSchemaContainer(box: box, codingPath: codingPath)
    }

    func singleValueContainer() -> SingleValueEncodingContainer {
        SingleValueSchemaContainer(box: box, codingPath: codingPath)
    }
}

/// Records a leaf type for the standard-library scalars and recurses for anything else.
private func record<T: Encodable>(_ value: T, into box: SchemaBox, codingPath: [CodingKey]) throws {
    switch value {
    case let choice as any ConfigChoice: box.state = .leaf(.choice(ChoiceValues(type(of: choice))))
    case is Bool: box.state = .leaf(.bool)
    case is String: box.state = .leaf(.string)
    case is Double, is Float: box.state = .leaf(.number)
    case is Int, is Int8, is Int16, is Int32, is Int64, is UInt, is UInt8, is UInt16, is UInt32, is UInt64:
        box.state = .leaf(.integer)
    default: try value.encode(to: SchemaEncoder(box: box, codingPath: codingPath))
    }
}

private struct KeyedSchemaContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let box: SchemaBox
    var codingPath: [CodingKey]

    mutating func encodeNil(forKey key: Key) throws {}
    mutating func encode(_ value: Bool, forKey key: Key) throws { box.child(forKey: key.stringValue).state = .leaf(.bool) }
    mutating func encode(_ value: String, forKey key: Key) throws { box.child(forKey: key.stringValue).state = .leaf(.string) }
    mutating func encode(_ value: Double, forKey key: Key) throws { box.child(forKey: key.stringValue).state = .leaf(.number) }
    mutating func encode(_ value: Float, forKey key: Key) throws { box.child(forKey: key.stringValue).state = .leaf(.number) }
    mutating func encode(_ value: Int, forKey key: Key) throws { box.child(forKey: key.stringValue).state = .leaf(.integer) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { box.child(forKey: key.stringValue).state = .leaf(.integer) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { box.child(forKey: key.stringValue).state = .leaf(.integer) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { box.child(forKey: key.stringValue).state = .leaf(.integer) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { box.child(forKey: key.stringValue).state = .leaf(.integer) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { box.child(forKey: key.stringValue).state = .leaf(.integer) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { box.child(forKey: key.stringValue).state = .leaf(.integer) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { box.child(forKey: key.stringValue).state = .leaf(.integer) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { box.child(forKey: key.stringValue).state = .leaf(.integer) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { box.child(forKey: key.stringValue).state = .leaf(.integer) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try record(value, into: box.child(forKey: key.stringValue), codingPath: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let child = box.child(forKey: key.stringValue)
        child.makeObject()
        return KeyedEncodingContainer(KeyedSchemaContainer<NestedKey>(box: child, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
        let child = box.child(forKey: key.stringValue)
        child.makeArray()
        return UnkeyedSchemaContainer(box: child, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> Encoder { SchemaEncoder(box: box.child(forKey: "super"), codingPath: codingPath) }
    mutating func superEncoder(forKey key: Key) -> Encoder { SchemaEncoder(box: box.child(forKey: key.stringValue), codingPath: codingPath + [key]) }
}

private struct UnkeyedSchemaContainer: UnkeyedEncodingContainer {
    let box: SchemaBox
    var codingPath: [CodingKey]
    var count: Int {
        if case .array(let elements) = box.state { return elements.count }
        return 0
    }

    mutating func encodeNil() throws { _ = box.appendElement() }
    mutating func encode<T: Encodable>(_ value: T) throws {
        try record(value, into: box.appendElement(), codingPath: codingPath)
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let child = box.appendElement()
        child.makeObject()
        return KeyedEncodingContainer(KeyedSchemaContainer<NestedKey>(box: child, codingPath: codingPath))
    }
    mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer {
        let child = box.appendElement()
        child.makeArray()
        return UnkeyedSchemaContainer(box: child, codingPath: codingPath)
    }
    mutating func superEncoder() -> Encoder { SchemaEncoder(box: box.appendElement(), codingPath: codingPath) }
}

private struct SingleValueSchemaContainer: SingleValueEncodingContainer {
    let box: SchemaBox
    var codingPath: [CodingKey]

    mutating func encodeNil() throws {}
    mutating func encode(_ value: Bool) throws { box.state = .leaf(.bool) }
    mutating func encode(_ value: String) throws { box.state = .leaf(.string) }
    mutating func encode(_ value: Double) throws { box.state = .leaf(.number) }
    mutating func encode(_ value: Float) throws { box.state = .leaf(.number) }
    mutating func encode(_ value: Int) throws { box.state = .leaf(.integer) }
    mutating func encode(_ value: Int8) throws { box.state = .leaf(.integer) }
    mutating func encode(_ value: Int16) throws { box.state = .leaf(.integer) }
    mutating func encode(_ value: Int32) throws { box.state = .leaf(.integer) }
    mutating func encode(_ value: Int64) throws { box.state = .leaf(.integer) }
    mutating func encode(_ value: UInt) throws { box.state = .leaf(.integer) }
    mutating func encode(_ value: UInt8) throws { box.state = .leaf(.integer) }
    mutating func encode(_ value: UInt16) throws { box.state = .leaf(.integer) }
    mutating func encode(_ value: UInt32) throws { box.state = .leaf(.integer) }
    mutating func encode(_ value: UInt64) throws { box.state = .leaf(.integer) }
    mutating func encode<T: Encodable>(_ value: T) throws { try record(value, into: box, codingPath: codingPath) }
}
