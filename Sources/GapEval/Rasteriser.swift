import Foundation

/// An 8-bit RGB image, rows top to bottom.
public struct RasterImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// width · height · 3 bytes.
    public var pixels: [UInt8]

    public func pixel(x: Int, y: Int) -> RGBColor {
        let i = (y * width + x) * 3
        return RGBColor(pixels[i], pixels[i + 1], pixels[i + 2])
    }
}

extension Scene {
    /// Draws the scene into pixels: anti-aliased lines and circles by distance-based coverage, polygons and
    /// rectangles by pixel-centre sampling, text with the embedded 5 × 7 font.
    public func rasterise() -> RasterImage {
        var canvas = Canvas(width: max(1, width), height: max(1, height), background: background)
        for item in items { canvas.draw(item.primitive) }
        return canvas.image()
    }
}

private struct Canvas {
    let width: Int
    let height: Int
    var rgb: [Float]

    init(width: Int, height: Int, background: RGBColor) {
        self.width = width
        self.height = height
        rgb = [Float](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) {
            rgb[3 * i] = Float(background.red)
            rgb[3 * i + 1] = Float(background.green)
            rgb[3 * i + 2] = Float(background.blue)
        }
    }

    func image() -> RasterImage {
        RasterImage(width: width, height: height, pixels: rgb.map { UInt8(max(0, min(255, $0.rounded()))) })
    }

    mutating func blend(_ x: Int, _ y: Int, _ color: RGBColor, _ alpha: Double) {
        guard x >= 0, y >= 0, x < width, y < height, alpha > 0 else { return }
        let a = Float(min(1, alpha))
        let i = (y * width + x) * 3
        rgb[i] += (Float(color.red) - rgb[i]) * a
        rgb[i + 1] += (Float(color.green) - rgb[i + 1]) * a
        rgb[i + 2] += (Float(color.blue) - rgb[i + 2]) * a
    }

    mutating func draw(_ primitive: ScenePrimitive) {
        switch primitive {
        case let .line(from, to, color, width, opacity):
            segment(from, to, color, width, opacity)
        case let .polyline(points, color, width, opacity):
            polyline(points, color, width, opacity)
        case let .polygon(points, fill, opacity):
            polygon(points, fill, opacity)
        case let .circle(center, radius, fill, opacity):
            circle(center, radius, fill, opacity)
        case let .rectangle(origin, w, h, fill, stroke, strokeWidth):
            if let fill {
                fillRectangle(origin.x, origin.y, w, h, fill)
            }
            if let stroke {
                let corners = [origin, ScenePoint(origin.x + w, origin.y), ScenePoint(origin.x + w, origin.y + h),
                               ScenePoint(origin.x, origin.y + h), origin]
                polyline(corners, stroke, strokeWidth, 1)
            }
        case let .text(string, at, scale, color, anchor, rotated):
            text(string, at, scale, color, anchor, rotated)
        }
    }

    private func distanceToSegment(_ px: Double, _ py: Double, _ a: ScenePoint, _ b: ScenePoint) -> Double {
        let dx = b.x - a.x, dy = b.y - a.y
        let lengthSquared = dx * dx + dy * dy
        var t = lengthSquared > 0 ? ((px - a.x) * dx + (py - a.y) * dy) / lengthSquared : 0
        t = max(0, min(1, t))
        let cx = a.x + t * dx - px, cy = a.y + t * dy - py
        return (cx * cx + cy * cy).squareRoot()
    }

    private mutating func segment(_ a: ScenePoint, _ b: ScenePoint, _ color: RGBColor, _ width: Double, _ opacity: Double) {
        let half = max(width, 1) / 2
        let x0 = Int((min(a.x, b.x) - half - 1).rounded(.down)), x1 = Int((max(a.x, b.x) + half + 1).rounded(.up))
        let y0 = Int((min(a.y, b.y) - half - 1).rounded(.down)), y1 = Int((max(a.y, b.y) + half + 1).rounded(.up))
        // Hairlines thinner than a pixel are drawn one pixel wide at proportionally lower opacity.
        let strength = opacity * min(1, width)
        for y in max(0, y0)...max(0, min(height - 1, y1)) {
            for x in max(0, x0)...max(0, min(self.width - 1, x1)) {
                let d = distanceToSegment(Double(x) + 0.5, Double(y) + 0.5, a, b)
                let coverage = max(0, min(1, half + 0.5 - d))
                if coverage > 0 { blend(x, y, color, coverage * strength) }
            }
        }
    }

    /// A whole polyline takes each pixel's coverage as the maximum over its segments, so joints of a
    /// translucent curve are not darkened twice.
    private mutating func polyline(_ points: [ScenePoint], _ color: RGBColor, _ width: Double, _ opacity: Double) {
        guard points.count >= 2 else { return }
        let half = max(width, 1) / 2
        let xs = points.map(\.x), ys = points.map(\.y)
        let x0 = max(0, Int((xs.min()! - half - 1).rounded(.down))), x1 = min(self.width - 1, Int((xs.max()! + half + 1).rounded(.up)))
        let y0 = max(0, Int((ys.min()! - half - 1).rounded(.down))), y1 = min(height - 1, Int((ys.max()! + half + 1).rounded(.up)))
        guard x0 <= x1, y0 <= y1 else { return }
        var coverage = [Double](repeating: 0, count: (x1 - x0 + 1) * (y1 - y0 + 1))
        let stride = x1 - x0 + 1
        for s in 0..<(points.count - 1) {
            let a = points[s], b = points[s + 1]
            let sx0 = max(x0, Int((min(a.x, b.x) - half - 1).rounded(.down))), sx1 = min(x1, Int((max(a.x, b.x) + half + 1).rounded(.up)))
            let sy0 = max(y0, Int((min(a.y, b.y) - half - 1).rounded(.down))), sy1 = min(y1, Int((max(a.y, b.y) + half + 1).rounded(.up)))
            guard sx0 <= sx1, sy0 <= sy1 else { continue }
            for y in sy0...sy1 {
                for x in sx0...sx1 {
                    let d = distanceToSegment(Double(x) + 0.5, Double(y) + 0.5, a, b)
                    let c = max(0, min(1, half + 0.5 - d))
                    let k = (y - y0) * stride + (x - x0)
                    if c > coverage[k] { coverage[k] = c }
                }
            }
        }
        let strength = opacity * min(1, width)
        for y in y0...y1 {
            for x in x0...x1 {
                let c = coverage[(y - y0) * stride + (x - x0)]
                if c > 0 { blend(x, y, color, c * strength) }
            }
        }
    }

    private mutating func circle(_ center: ScenePoint, _ radius: Double, _ fill: RGBColor, _ opacity: Double) {
        let x0 = max(0, Int((center.x - radius - 1).rounded(.down))), x1 = min(width - 1, Int((center.x + radius + 1).rounded(.up)))
        let y0 = max(0, Int((center.y - radius - 1).rounded(.down))), y1 = min(height - 1, Int((center.y + radius + 1).rounded(.up)))
        guard x0 <= x1, y0 <= y1 else { return }
        for y in y0...y1 {
            for x in x0...x1 {
                let dx = Double(x) + 0.5 - center.x, dy = Double(y) + 0.5 - center.y
                let coverage = max(0, min(1, radius + 0.5 - (dx * dx + dy * dy).squareRoot()))
                if coverage > 0 { blend(x, y, fill, coverage * opacity) }
            }
        }
    }

    private mutating func fillRectangle(_ x: Double, _ y: Double, _ w: Double, _ h: Double, _ fill: RGBColor) {
        let x0 = max(0, Int((x - 0.5).rounded(.up))), x1 = min(width - 1, Int((x + w - 0.5).rounded(.up)) - 1)
        let y0 = max(0, Int((y - 0.5).rounded(.up))), y1 = min(height - 1, Int((y + h - 0.5).rounded(.up)) - 1)
        guard x0 <= x1, y0 <= y1 else { return }
        for py in y0...y1 { for px in x0...x1 { blend(px, py, fill, 1) } }
    }

    /// Even-odd fill of pixels whose centres lie inside.
    private mutating func polygon(_ points: [ScenePoint], _ fill: RGBColor, _ opacity: Double) {
        guard points.count >= 3 else { return }
        let y0 = max(0, Int(points.map(\.y).min()!.rounded(.down))), y1 = min(height - 1, Int(points.map(\.y).max()!.rounded(.up)))
        guard y0 <= y1 else { return }
        for y in y0...y1 {
            let cy = Double(y) + 0.5
            var crossings = [Double]()
            for i in 0..<points.count {
                let a = points[i], b = points[(i + 1) % points.count]
                if (a.y <= cy) != (b.y <= cy) {
                    crossings.append(a.x + (cy - a.y) / (b.y - a.y) * (b.x - a.x))
                }
            }
            crossings.sort()
            var i = 0
            while i + 1 < crossings.count {
                let start = max(0, Int((crossings[i] - 0.5).rounded(.up)))
                let end = min(width - 1, Int((crossings[i + 1] - 0.5).rounded(.up)) - 1)
                if start <= end { for x in start...end { blend(x, y, fill, opacity) } }
                i += 2
            }
        }
    }

    private mutating func text(_ string: String, _ at: ScenePoint, _ scale: Int, _ color: RGBColor, _ anchor: TextAnchor, _ rotated: Bool) {
        let s = max(1, scale)
        let width = Scene.textWidth(string, scale: s)
        let start: Double
        switch anchor {
        case .start: start = 0
        case .middle: start = -width / 2
        case .end: start = -width
        }
        // Offsets (along the text, below the baseline) before rotation; a quarter-turn anticlockwise maps
        // (along, down) to (down, −along), as SVG's rotate(-90).
        for (index, character) in string.enumerated() {
            let rows = BitmapFont.rows(character)
            for (row, bits) in rows.enumerated() {
                for column in 0..<BitmapFont.glyphWidth where bits & (1 << UInt8(BitmapFont.glyphWidth - 1 - column)) != 0 {
                    let along = start + Double((index * BitmapFont.advance + column) * s)
                    let down = Double((row - BitmapFont.glyphHeight) * s)
                    for dy in 0..<s {
                        for dx in 0..<s {
                            let u = along + Double(dx), v = down + Double(dy)
                            let px = rotated ? at.x + v : at.x + u
                            let py = rotated ? at.y - u - 1 : at.y + v
                            blend(Int(px.rounded(.down)), Int(py.rounded(.down)), color, 1)
                        }
                    }
                }
            }
        }
    }
}
