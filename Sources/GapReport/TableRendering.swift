import Foundation
import GapSpec

/// Markdown, CSV (wide, paper layout) and LaTeX versions of a `ReportTable`; the Markdown and CSV text goes
/// through `TextTable`, as every other table GapLab prints.
public enum TableRendering {
    // MARK: Markdown

    public static func markdown(_ table: ReportTable) -> String {
        var text = TextTable(header: table.header, rows: table.rows.map { $0.map(markdownCell) }).markdown()
        if !table.notes.isEmpty { text += "\n" + table.notes.map { "- " + $0 }.joined(separator: "\n") + "\n" }
        return text
    }

    static func deltaText(_ difference: Double?, _ p: Double?) -> String {
        guard let difference else { return "–" }
        return NumberText.signed(difference, 3) + " (p=\(NumberText.p(p)))"
    }

    static func markdownCell(_ cell: TableCell) -> String {
        switch cell {
        case .text(let text): return text
        case .number(let value, let digits): return NumberText.fixed(value, digits)
        case .pValue(let value): return NumberText.p(value)
        case .delta(let difference, let p): return deltaText(difference, p)
        case .stat(let stat):
            guard let s = stat.summary else { return "– (n=0/\(stat.expected))†" }
            var text = stat.bold ? "**\(NumberText.fixed(s.mean, 3))**" : NumberText.fixed(s.mean, 3)
            if s.n >= 2 { text += " ± " + NumberText.fixed(s.std, 3) }
            if let ci = s.interval { text += " [\(NumberText.fixed(ci.lowerBound, 3)), \(NumberText.fixed(ci.upperBound, 3))]" }
            text += " (n=\(s.n)/\(stat.expected))"
            if stat.isIncomplete { text += "†" }
            return text
        }
    }

    // MARK: CSV

    /// One row per table row; a statistic expands into mean, std, n, expected, ci_low, ci_high columns.
    public static func csv(_ table: ReportTable) -> String {
        guard let first = table.rows.first else { return TextTable.csvLine(table.header) }
        var header = [String]()
        for (index, name) in table.header.enumerated() {
            if index < first.count, case .stat = first[index] {
                header += ["mean", "std", "n", "expected", "ci95_low", "ci95_high"].map { "\(name) \($0)" }
            } else if index < first.count, case .delta = first[index] {
                header += ["\(name) difference", "\(name) p_holm"]
            } else {
                header.append(name)
            }
        }
        let rows = table.rows.map { cells in
            var fields = [String]()
            for cell in cells {
                switch cell {
                case .text(let text): fields.append(text == "–" ? "" : text)
                case .number(let value, _): fields.append(NumberText.raw(value))
                case .pValue(let value): fields.append(NumberText.raw(value))
                case .delta(let difference, let p): fields += [NumberText.raw(difference), NumberText.raw(p)]
                case .stat(let stat):
                    let s = stat.summary
                    fields += [NumberText.raw(s?.mean), NumberText.raw(s?.std), String(s?.n ?? 0), String(stat.expected),
                               NumberText.raw(s?.interval?.lowerBound), NumberText.raw(s?.interval?.upperBound)]
                }
            }
            return fields
        }
        return TextTable(header: header, rows: rows).csv()
    }

    // MARK: LaTeX

    public static func latex(_ table: ReportTable) -> String {
        var lines = ["% \(escapeLatex(table.title))",
                     "\\begin{tabular}{l" + String(repeating: "r", count: max(0, table.header.count - 1)) + "}",
                     "\\hline",
                     table.header.map(escapeLatex).joined(separator: " & ") + " \\\\",
                     "\\hline"]
        for cells in table.rows { lines.append(cells.map(latexCell).joined(separator: " & ") + " \\\\") }
        lines += ["\\hline", "\\end{tabular}"]
        for note in table.notes { lines.append("% " + escapeLatex(note)) }
        return lines.joined(separator: "\n") + "\n"
    }

    static func latexCell(_ cell: TableCell) -> String {
        switch cell {
        case .text(let text): return escapeLatex(text)
        case .number(let value, let digits): return "$\(NumberText.fixed(value, digits))$"
        case .pValue(let value): return "$\(NumberText.p(value))$"
        case .delta(let difference, let p):
            guard let difference else { return "--" }
            return "$\(NumberText.signed(difference, 3))$ ($p=\(NumberText.p(p))$)"
        case .stat(let stat):
            guard let s = stat.summary else { return "-- (0/\(stat.expected))$^\\dagger$" }
            let mean = stat.bold ? "\\mathbf{\(NumberText.fixed(s.mean, 3))}" : NumberText.fixed(s.mean, 3)
            var text = s.n >= 2 ? "$\(mean) \\pm \(NumberText.fixed(s.std, 3))$" : "$\(mean)$"
            text += " (\(s.n)/\(stat.expected))"
            if stat.isIncomplete { text += "$^\\dagger$" }
            return text
        }
    }

    static func escapeLatex(_ text: String) -> String {
        var out = ""
        for ch in text {
            switch ch {
            case "\\": out += "\\textbackslash{}"
            case "&", "%", "$", "#", "_", "{", "}": out += "\\\(ch)"
            case "~": out += "\\textasciitilde{}"
            case "^": out += "\\textasciicircum{}"
            case "Δ": out += "$\\Delta$"
            case "−": out += "$-$"
            case "±": out += "$\\pm$"
            case "†": out += "$^\\dagger$"
            case "↑": out += "$\\uparrow$"
            case "↓": out += "$\\downarrow$"
            case "→": out += "$\\to$"
            case "`": break
            default: out.append(ch)
            }
        }
        return out
    }
}
