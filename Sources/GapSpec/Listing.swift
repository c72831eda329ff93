import Foundation

/// Output format of every listing command (`gaplab ls`, `show`, `compare`, `metrics`, `status`, `plan`).
public enum ListingFormat: String, CaseIterable, Sendable {
    case table, csv, json
}

/// Rows of typed, named columns rendered as an aligned text table, RFC 4180 CSV or a JSON array of objects.
public struct Listing {
    public enum Cell: Equatable, Encodable {
        case text(String)
        case number(Double)
        case integer(Int)
        case missing

        /// Text for tables: numbers to 6 significant digits.
        var plain: String {
            switch self {
            case .text(let text): return text
            case .number(let value): return Listing.formatted(value)
            case .integer(let value): return String(value)
            case .missing: return "-"
            }
        }

        /// Text for CSV: numbers in full (shortest text that reads back as the same double).
        var exact: String {
            switch self {
            case .text(let text): return text
            case .number(let value): return Listing.exactText(value)
            case .integer(let value): return String(value)
            case .missing: return ""
            }
        }

        /// JSON keeps the types: numbers stay numbers (non-finite ones as JSONOutput writes them), missing is null.
        public func encode(to encoder: Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .text(let text): try container.encode(text)
            case .number(let value): try container.encode(value)
            case .integer(let value): try container.encode(value)
            case .missing: try container.encodeNil()
            }
        }
    }

    public var columns: [String]
    public var rows: [[Cell]]

    public init(columns: [String], rows: [[Cell]] = []) {
        self.columns = columns
        self.rows = rows
    }

    /// Up to 6 significant digits in tables; CSV and JSON keep full precision.
    static func formatted(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value > 0 ? "inf" : "-inf" }
        return String(format: "%.6g", value)
    }

    /// Shortest text that reads back as the same double (`0.5`, `1e-06`, `3`).
    public static func exactText(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value > 0 ? "inf" : "-inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    public func render(_ format: ListingFormat) -> String {
        switch format {
        case .table: return TextTable(header: columns, rows: rows.map { $0.map(\.plain) }).aligned()
        case .csv: return TextTable(header: columns, rows: rows.map { $0.map(\.exact) }).csv()
        case .json: return JSONOutput.text(objects)
        }
    }

    /// The rows as JSON objects keyed by column, for embedding in a larger JSON document.
    public var objects: [[String: Cell]] {
        rows.map { row in Dictionary(uniqueKeysWithValues: zip(columns, row)) }
    }
}
