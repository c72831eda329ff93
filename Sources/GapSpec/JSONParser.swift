import Foundation

/// A 1-based line and column (columns count characters, not bytes).
public struct SourcePosition: Hashable, Sendable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
    public var description: String { "line \(line), column \(column)" }
}

/// A JSON syntax error, located by line and column.
public struct JSONSyntaxError: Error, Equatable, CustomStringConvertible, Sendable {
    public var file: String?
    public var position: SourcePosition
    public var message: String

    public init(file: String? = nil, position: SourcePosition, message: String) {
        self.file = file
        self.position = position
        self.message = message
    }

    public var description: String {
        let location = file.map { "\($0): " } ?? ""
        return "\(location)syntax error at \(position): \(message)"
    }
}

/// A parsed document: its value and where each value (for object members: the member's key) starts.
public struct JSONDocument: Sendable {
    public var value: JSONValue
    public var positions: [JSONPath: SourcePosition]
    public var file: String?

    public func position(of path: JSONPath) -> SourcePosition? { positions[path] }
}

/// A strict RFC 8259 parser. It is hand-written so errors carry a line and column and every value its
/// position; it never traps on any input (nesting is bounded so deep input cannot exhaust the stack).
public struct JSONParser {
    public static let maxDepth = 256

    private let bytes: [UInt8]
    private let file: String?
    /// Off for machine-written JSON (encoded configurations), whose positions nobody asks for.
    private let recordsPositions: Bool
    private var index = 0
    private var line = 1
    private var column = 1
    private var positions: [JSONPath: SourcePosition] = [:]

    private init(bytes: [UInt8], file: String?, recordsPositions: Bool) {
        self.bytes = bytes
        self.file = file
        self.recordsPositions = recordsPositions
    }

    public static func parse(_ text: String, file: String? = nil) throws -> JSONDocument {
        try parse(bytes: Array(text.utf8), file: file)
    }

    public static func parse(data: Data, file: String? = nil) throws -> JSONDocument {
        try parse(bytes: [UInt8](data), file: file)
    }

    /// Read and parse a file; an unreadable file is reported as a `ConfigIssue`.
    public static func parse(contentsOfFile path: String) throws -> JSONDocument {
        guard let data = FileManager.default.contents(atPath: path) else {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            let reason = !exists ? "no such file" : isDirectory.boolValue ? "is a directory" : "cannot be read"
            throw ConfigIssues([ConfigIssue(path: "", message: "\(reason)", file: path)])
        }
        return try parse(data: data, file: path)
    }

    static func parse(bytes: [UInt8], file: String?, recordsPositions: Bool = true) throws -> JSONDocument {
        var parser = JSONParser(bytes: bytes, file: file, recordsPositions: recordsPositions)
        // A UTF-8 byte-order mark is tolerated, as many editors write one.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { parser.index = 3 }
        parser.skipWhitespace()
        let value = try parser.parseValue(path: .root, depth: 0)
        parser.skipWhitespace()
        if parser.index < bytes.count {
            throw parser.error("unexpected \(parser.describeCurrent()) after the end of the document")
        }
        return JSONDocument(value: value, positions: parser.positions, file: file)
    }

    // MARK: - Scanning

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }
    private var position: SourcePosition { SourcePosition(line: line, column: column) }

    private mutating func advance() {
        guard index < bytes.count else { return }
        let b = bytes[index]
        index += 1
        if b == UInt8(ascii: "\n") {
            line += 1
            column = 1
        } else if b & 0xC0 != 0x80 {
            column += 1  // continuation bytes of a multi-byte character do not start a new column
        }
    }

    private mutating func skipWhitespace() {
        while let b = current, b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { advance() }
    }

    private func error(_ message: String, at position: SourcePosition? = nil) -> JSONSyntaxError {
        JSONSyntaxError(file: file, position: position ?? self.position, message: message)
    }

    private func describeCurrent() -> String {
        guard let b = current else { return "end of input" }
        if b >= 0x21 && b < 0x7F { return "character '\(Character(Unicode.Scalar(b)))'" }
        if b == 0x20 { return "space" }
        return String(format: "byte 0x%02X", b)
    }

    // MARK: - Values

    private mutating func parseValue(path: JSONPath, depth: Int) throws -> JSONValue {
        guard depth <= JSONParser.maxDepth else { throw error("nesting deeper than \(JSONParser.maxDepth) levels") }
        if recordsPositions && positions[path] == nil { positions[path] = position }
        guard let b = current else { throw error("unexpected end of input, expected a value") }
        switch b {
        case UInt8(ascii: "{"): return try parseObject(path: path, depth: depth)
        case UInt8(ascii: "["): return try parseArray(path: path, depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        case UInt8(ascii: "t"): try expectWord("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectWord("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectWord("null"); return .null
        case UInt8(ascii: "'"): throw error("strings must be in double quotes")
        default: throw error("unexpected \(describeCurrent()), expected a value")
        }
    }

    private mutating func expectWord(_ word: String) throws {
        let start = position
        for expected in word.utf8 {
            guard current == expected else {
                throw error("invalid literal, expected '\(word)'", at: start)
            }
            advance()
        }
        if let b = current, isIdentifierByte(b) { throw error("invalid literal, expected '\(word)'", at: start) }
    }

    private func isIdentifierByte(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
            || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "_")
    }

    private mutating func parseObject(path: JSONPath, depth: Int) throws -> JSONValue {
        let open = position
        advance()  // {
        var members: [(key: String, value: JSONValue)] = []
        var seen: [String: SourcePosition] = [:]
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            advance()
            return .object([])
        }
        while true {
            skipWhitespace()
            guard let b = current else { throw error("unexpected end of input in the object opened at \(open)") }
            if b == UInt8(ascii: "}") { throw error("trailing comma before '}'") }
            guard b == UInt8(ascii: "\"") else {
                throw error(b == UInt8(ascii: "'") ? "keys must be in double quotes" : "expected a key in double quotes, found \(describeCurrent())")
            }
            let keyPosition = position
            let key = try parseString()
            if let first = seen[key] {
                throw error("duplicate key \"\(key)\" (first at \(first))", at: keyPosition)
            }
            seen[key] = keyPosition
            let memberPath = recordsPositions ? path.appending(key) : path
            if recordsPositions { positions[memberPath] = keyPosition }
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw error("expected ':' after the key \"\(key)\", found \(describeCurrent())") }
            advance()
            skipWhitespace()
            let value = try parseValue(path: memberPath, depth: depth + 1)
            members.append((key: key, value: value))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): advance()
            case UInt8(ascii: "}"): advance(); return .object(members)
            case nil: throw error("unexpected end of input in the object opened at \(open), expected ',' or '}'")
            default: throw error("expected ',' or '}' after the value of \"\(key)\", found \(describeCurrent())")
            }
        }
    }

    private mutating func parseArray(path: JSONPath, depth: Int) throws -> JSONValue {
        let open = position
        advance()  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") {
            advance()
            return .array([])
        }
        while true {
            skipWhitespace()
            if current == UInt8(ascii: "]") { throw error("trailing comma before ']'") }
            if current == nil { throw error("unexpected end of input in the array opened at \(open)") }
            elements.append(try parseValue(path: recordsPositions ? path.appending(elements.count) : path, depth: depth + 1))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): advance()
            case UInt8(ascii: "]"): advance(); return .array(elements)
            case nil: throw error("unexpected end of input in the array opened at \(open), expected ',' or ']'")
            default: throw error("expected ',' or ']' in the array, found \(describeCurrent())")
            }
        }
    }

    private mutating func parseString() throws -> String {
        let start = position
        advance()  // opening quote
        var utf8: [UInt8] = []
        while true {
            guard let b = current else { throw error("unterminated string (opened at \(start))") }
            switch b {
            case UInt8(ascii: "\""):
                advance()
                guard let s = String(validating: utf8, as: UTF8.self) else {
                    throw error("string is not valid UTF-8", at: start)
                }
                return s
            case UInt8(ascii: "\\"):
                advance()
                try parseEscape(into: &utf8)
            case 0x00..<0x20:
                throw error(b == 0x0A ? "unterminated string (line break inside a string; write \\n)" : "control character in a string; escape it")
            default:
                utf8.append(b)
                advance()
            }
        }
    }

    private mutating func parseEscape(into utf8: inout [UInt8]) throws {
        guard let b = current else { throw error("unterminated escape sequence") }
        let simple: [UInt8: UInt8] = [
            UInt8(ascii: "\""): 0x22, UInt8(ascii: "\\"): 0x5C, UInt8(ascii: "/"): 0x2F, UInt8(ascii: "b"): 0x08,
            UInt8(ascii: "f"): 0x0C, UInt8(ascii: "n"): 0x0A, UInt8(ascii: "r"): 0x0D, UInt8(ascii: "t"): 0x09,
        ]
        if let byte = simple[b] {
            utf8.append(byte)
            advance()
            return
        }
        guard b == UInt8(ascii: "u") else { throw error("invalid escape sequence '\\\(describeCurrent())'") }
        let escapeStart = position
        advance()
        var scalarValue = try parseHex4()
        if (0xD800...0xDBFF).contains(scalarValue) {
            // A high surrogate must be followed by an escaped low surrogate.
            guard current == UInt8(ascii: "\\") else { throw error("unpaired surrogate in \\u escape", at: escapeStart) }
            advance()
            guard current == UInt8(ascii: "u") else { throw error("unpaired surrogate in \\u escape", at: escapeStart) }
            advance()
            let low = try parseHex4()
            guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired surrogate in \\u escape", at: escapeStart) }
            scalarValue = 0x10000 + ((scalarValue - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00...0xDFFF).contains(scalarValue) {
            throw error("unpaired surrogate in \\u escape", at: escapeStart)
        }
        guard let scalar = Unicode.Scalar(scalarValue) else { throw error("invalid \\u escape", at: escapeStart) }
        utf8.append(contentsOf: Array(String(Character(scalar)).utf8))
    }

    private mutating func parseHex4() throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let b = current else { throw error("unexpected end of input in a \\u escape") }
            let digit: UInt32
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(b - UInt8(ascii: "A") + 10)
            default: throw error("expected four hex digits in a \\u escape, found \(describeCurrent())")
            }
            value = value * 16 + digit
            advance()
        }
        return value
    }

    private mutating func parseNumber() throws -> Double {
        let start = position
        let startIndex = index
        func isDigit(_ b: UInt8?) -> Bool { b.map { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") } ?? false }
        if current == UInt8(ascii: "-") { advance() }
        guard isDigit(current) else { throw error("expected a digit after '-'") }
        if current == UInt8(ascii: "0") {
            advance()
            if isDigit(current) { throw error("numbers must not have leading zeros", at: start) }
        } else {
            while isDigit(current) { advance() }
        }
        if current == UInt8(ascii: ".") {
            advance()
            guard isDigit(current) else { throw error("expected a digit after the decimal point") }
            while isDigit(current) { advance() }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            advance()
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { advance() }
            guard isDigit(current) else { throw error("expected a digit in the exponent") }
            while isDigit(current) { advance() }
        }
        if let b = current, isIdentifierByte(b) || b == UInt8(ascii: ".") {
            throw error("invalid number", at: start)
        }
        let text = String(decoding: bytes[startIndex..<index], as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            throw error("number \(text) is out of range", at: start)
        }
        return value
    }
}
