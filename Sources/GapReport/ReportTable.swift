import Foundation

/// A summary of one metric for one arm, with how many runs were expected.
public struct StatCell: Equatable, Sendable {
    public var summary: SampleSummary?
    public var expected: Int
    public var bold: Bool

    /// Fewer values than planned runs: the cell carries a footnote mark.
    public var isIncomplete: Bool { (summary?.n ?? 0) < expected }
}

public enum TableCell: Equatable, Sendable {
    case text(String)
    /// A number shown with `digits` decimals (full precision in CSV and JSON).
    case number(Double?, digits: Int)
    /// A p-value, shown as `<0.0001` below that.
    case pValue(Double?)
    case stat(StatCell)
    /// A difference to the baseline with its Holm-adjusted p-value; the baseline row has neither.
    case delta(Double?, adjustedP: Double?)
}

/// One table of the report, independent of the output format.
public struct ReportTable: Equatable, Sendable {
    /// File-name stem for the CSV and LaTeX versions.
    public var id: String
    public var title: String
    public var header: [String]
    public var rows: [[TableCell]]
    /// Stated under the table: the reduction rule, footnotes for missing runs, the test used.
    public var notes: [String]
}

/// Fixed formatting so the same numbers always give the same bytes.
enum NumberText {
    static func fixed(_ value: Double?, _ digits: Int) -> String {
        guard let value, value.isFinite else { return "–" }
        let text = String(format: "%.\(digits)f", value)
        // "-0.000" reads as a sign where there is none.
        if Double(text) == 0 { return String(format: "%.\(digits)f", 0.0) }
        return text
    }

    static func signed(_ value: Double?, _ digits: Int) -> String {
        guard let value, value.isFinite else { return "–" }
        let text = fixed(value, digits)
        return text.hasPrefix("-") || Double(text) == 0 ? text : "+" + text
    }

    static func p(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "–" }
        return value < 0.0001 ? "<0.0001" : String(format: "%.4f", value)
    }

    /// Full precision for machine-readable output.
    static func raw(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "" }
        return String(format: "%.17g", value)
    }
}
