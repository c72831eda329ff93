import Foundation

extension PlotDrawing {
    /// A standalone SVG 1.1 document (no scripts, no external fonts or styles), so any browser or editor shows it.
    public func svg() -> String {
        var out = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)">
        <title>\(PlotDrawing.escape(title))</title>
        <rect x="0" y="0" width="\(width)" height="\(height)" fill="\(background.hex)"/>

        """
        var openRole: PlotRole?
        for item in items {
            if item.role != openRole {
                if openRole != nil { out += "</g>\n" }
                out += "<g class=\"\(item.role.rawValue)\">\n"
                openRole = item.role
            }
            out += PlotDrawing.element(item.primitive) + "\n"
        }
        if openRole != nil { out += "</g>\n" }
        out += "</svg>\n"
        return out
    }

    static func element(_ primitive: PlotPrimitive) -> String {
        switch primitive {
        case let .line(from, to, color, width, opacity):
            return "<line x1=\"\(n(from.x))\" y1=\"\(n(from.y))\" x2=\"\(n(to.x))\" y2=\"\(n(to.y))\" stroke=\"\(color.hex)\" stroke-width=\"\(n(width))\" stroke-opacity=\"\(n(opacity))\" stroke-linecap=\"round\"/>"
        case let .polyline(points, color, width, opacity):
            return "<polyline points=\"\(pointList(points))\" fill=\"none\" stroke=\"\(color.hex)\" stroke-width=\"\(n(width))\" stroke-opacity=\"\(n(opacity))\" stroke-linejoin=\"round\" stroke-linecap=\"round\"/>"
        case let .polygon(points, fill, opacity):
            return "<polygon points=\"\(pointList(points))\" fill=\"\(fill.hex)\" fill-opacity=\"\(n(opacity))\" stroke=\"none\"/>"
        case let .circle(center, radius, fill, opacity):
            return "<circle cx=\"\(n(center.x))\" cy=\"\(n(center.y))\" r=\"\(n(radius))\" fill=\"\(fill.hex)\" fill-opacity=\"\(n(opacity))\"/>"
        case let .rectangle(origin, width, height, fill, stroke, strokeWidth):
            let fillAttribute = fill.map { "fill=\"\($0.hex)\"" } ?? "fill=\"none\""
            let strokeAttribute = stroke.map { " stroke=\"\($0.hex)\" stroke-width=\"\(n(strokeWidth))\"" } ?? ""
            return "<rect x=\"\(n(origin.x))\" y=\"\(n(origin.y))\" width=\"\(n(width))\" height=\"\(n(height))\" \(fillAttribute)\(strokeAttribute)/>"
        case let .text(string, at, size, color, anchor, rotated):
            let rotation = rotated ? " transform=\"rotate(-90 \(n(at.x)) \(n(at.y)))\"" : ""
            return "<text x=\"\(n(at.x))\" y=\"\(n(at.y))\" font-family=\"\(fontFamily)\" font-size=\"\(n(size))\" fill=\"\(color.hex)\" text-anchor=\"\(anchor.rawValue)\"\(rotation)>\(escape(string))</text>"
        }
    }

    private static func pointList(_ points: [PixelPoint]) -> String {
        points.map { "\(n($0.x)),\(n($0.y))" }.joined(separator: " ")
    }

    /// Two decimals: sub-pixel enough, and the file stays small and byte-stable.
    private static func n(_ value: Double) -> String {
        let rounded = (value * 100).rounded() / 100
        if rounded == rounded.rounded() { return String(Int(rounded)) }
        return String(format: "%.2f", rounded)
    }

    /// Text and attribute content for XML: the five markup characters become entities, and the control characters
    /// XML 1.0 forbids (a run name can hold anything) become U+FFFD, so the document always parses.
    static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF: out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
