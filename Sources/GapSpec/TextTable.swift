import Foundation

/// Rows of text cells under a header, written as an aligned text table, RFC 4180 CSV or a Markdown table.
/// Every tabular output (`gaplab ls`, `plan` and the reports) goes through it; each caller turns its own cells
/// into text first, since a number reads differently in a terminal, a CSV file and a paper table.
public struct TextTable: Equatable, Sendable {
    public var header: [String]
    public var rows: [[String]]

    public init(header: [String], rows: [[String]] = []) {
        self.header = header
        self.rows = rows
    }

    /// Columns padded to their widest cell and two spaces apart; the last column is not padded.
    public func aligned() -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 || index >= widths.count ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        return lines(([header] + rows).map(line))
    }

    public func csv() -> String {
        lines(([header] + rows).map(Self.csvLine))
    }

    /// Cells containing `|` are escaped, so text cannot break the table.
    public func markdown() -> String {
        func line(_ cells: [String]) -> String {
            "| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |"
        }
        return lines([line(header), "| " + header.map { _ in "---" }.joined(separator: " | ") + " |"] + rows.map(line))
    }

    /// One CSV record: a field with a comma, quote or line break is quoted, its quotes doubled.
    public static func csvLine(_ fields: [String]) -> String {
        fields.map { field in
            field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
        }.joined(separator: ",")
    }

    private func lines(_ lines: [String]) -> String { lines.joined(separator: "\n") + "\n" }
}
