import Foundation
import GapSpec

/// A delimited table as open_clip's CsvDataset reads it (pandas.read_csv): a header row, a one-character
/// separator, fields optionally in double quotes with "" for a quote, quoted fields may hold separators and
/// newlines, CRLF or LF line ends. Rows keep the line they start on, for error messages.
public struct CSVTable: Sendable {
    public var header: [String]
    public var rows: [(line: Int, fields: [String])]

    public static func parse(_ text: String, separator: Character, source: String) throws -> CSVTable {
        var records: [(Int, [String])] = []
        var field = "", fields: [String] = []
        var inQuotes = false, fieldWasQuoted = false
        var line = 1, recordLine = 1
        var chars = text.makeIterator()
        var pending: Character? = nil
        func endField() { fields.append(fieldWasQuoted ? field : field.trimmingCharacters(in: .whitespaces)); field = ""; fieldWasQuoted = false }
        func endRecord() {
            endField()
            if !(fields.count == 1 && fields[0].isEmpty) { records.append((recordLine, fields)) }
            fields = []
        }
        while let c = pending ?? chars.next() {
            pending = nil
            if inQuotes {
                if c == "\"" {
                    if let next = chars.next() {
                        if next == "\"" { field.append("\"") } else { inQuotes = false; pending = next }
                    } else { inQuotes = false }
                } else {
                    if c == "\n" || c == "\r\n" { line += 1 }
                    field.append(c)
                }
                continue
            }
            switch c {
            case "\"" where field.trimmingCharacters(in: .whitespaces).isEmpty:
                inQuotes = true; fieldWasQuoted = true; field = ""
            case separator:
                endField()
            case "\n", "\r\n", "\r":
                endRecord()
                line += 1
                recordLine = line
            default:
                field.append(c)
            }
        }
        if inQuotes { throw DataError.invalid("\(source) line \(recordLine): a quoted field is never closed") }
        if !field.isEmpty || !fields.isEmpty { endRecord() }
        guard let first = records.first else { throw DataError.invalid("\(source): the table is empty (expected a header row)") }
        return CSVTable(header: first.1, rows: records.dropFirst().map { (line: $0.0, fields: $0.1) })
    }

    /// "\t", "tab", ",", "comma", ";" … to the separator character.
    public static func separator(_ text: String) throws -> Character {
        guard let c = DatasetOption.Value.separator(text) else {
            let names = DatasetOption.Value.separatorNames.map(\.name).joined(separator: ", ")
            throw DataError.invalid("csv separator \"\(text)\": expected one character (or \(names))")
        }
        return c
    }
}
