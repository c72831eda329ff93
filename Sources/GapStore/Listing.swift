import Foundation

/// Output format of every listing command.
public enum ListingFormat: String, CaseIterable, Sendable {
    case table, csv, json
}

/// Rows of named columns rendered as an aligned text table, RFC 4180 CSV or a JSON array of objects.
public struct Listing {
    public enum Cell: Equatable {
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
            case .missing: return ""
            }
        }

        /// Text for CSV: numbers in full (shortest text that reads back as the same double).
        var exact: String {
            switch self {
            case .text(let text): return text
            case .number(let value): return formatNumber(value)
            case .integer(let value): return String(value)
            case .missing: return ""
            }
        }

        var json: Any {
            switch self {
            case .text(let text): return text
            case .number(let value): return value.isFinite ? value as Any : Listing.formatted(value) as Any
            case .integer(let value): return value
            case .missing: return NSNull()
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

    public func render(_ format: ListingFormat) -> String {
        switch format {
        case .table: return renderTable()
        case .csv: return renderCSV()
        case .json: return renderJSON()
        }
    }

    private func renderTable() -> String {
        let texts = rows.map { row in row.map { $0 == .missing ? "-" : $0.plain } }
        var widths = columns.map(\.count)
        for row in texts {
            for (index, text) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], text.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, text in
                index == cells.count - 1 ? text : text.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        return ([line(columns)] + texts.map(line)).joined(separator: "\n") + "\n"
    }

    private func renderCSV() -> String {
        func escape(_ text: String) -> String {
            text.contains(where: { ",\"\n\r".contains($0) }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        return ([columns] + rows.map { $0.map(\.exact) }).map { $0.map(escape).joined(separator: ",") }
            .joined(separator: "\n") + "\n"
    }

    /// The rows as JSON objects keyed by column, for embedding in a larger JSON document.
    public var jsonObjects: [[String: Any]] {
        rows.map { row in Dictionary(uniqueKeysWithValues: zip(columns, row.map(\.json))) }
    }

    private func renderJSON() -> String {
        Listing.jsonText(jsonObjects)
    }

    /// Pretty, key-sorted JSON text of any JSON-compatible value.
    public static func jsonText(_ object: Any) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])) ?? Data("null".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
