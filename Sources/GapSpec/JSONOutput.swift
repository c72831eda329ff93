import Foundation

/// The JSON every `--format json` and report export prints: keys sorted by code point (the same on every
/// platform), slashes unescaped, non-finite numbers as the strings "nan", "inf" and "-inf", and a final newline.
public enum JSONOutput {
    /// Pretty-printed, for people and files.
    public static func text<T: Encodable>(_ value: T) -> String { encode(value, pretty: true) }

    /// On one line, for scripts that read a command's last line (the benchmarks).
    public static func line<T: Encodable>(_ value: T) -> String { encode(value, pretty: false) }

    private static func encode<T: Encodable>(_ value: T, pretty: Bool) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
        } catch {
            // Only a value whose own encode(to:) throws gets here; the output types in GapLab have none.
            preconditionFailure("JSON output does not encode: \(error)")
        }
    }
}

/// An optional that JSON output writes as `null` when absent, where a reader expects every key to be there
/// (the synthesized `Encodable` leaves absent optionals out).
@propertyWrapper
public struct NullWhenAbsent<Value: Encodable>: Encodable {
    public var wrappedValue: Value?

    public init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}
