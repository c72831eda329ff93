import Foundation

/// A floating-point RGB canvas with anti-aliased shape drawing (4×4 supersampling per pixel), so that small
/// objects keep their outline at 32×32 instead of turning into jagged blobs.
struct SceneCanvas {
    let width: Int
    let height: Int
    var values: [Double]

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
        values = [Double](repeating: 0, count: width * height * 3)
    }

    static let subsamples = 4

    /// Draws a region given in pixel coordinates: `colourAt` returns nil outside the region, else the colour
    /// at that point. Coverage-weighted blend over the supersamples.
    mutating func draw(bounds: (minX: Double, minY: Double, maxX: Double, maxY: Double),
                       colourAt: (Double, Double) -> (Double, Double, Double)?) {
        let x0 = max(0, Int(bounds.minX.rounded(.down))), x1 = min(width - 1, Int(bounds.maxX.rounded(.up)))
        let y0 = max(0, Int(bounds.minY.rounded(.down))), y1 = min(height - 1, Int(bounds.maxY.rounded(.up)))
        guard x0 <= x1, y0 <= y1 else { return }
        let n = SceneCanvas.subsamples
        let weight = 1.0 / Double(n * n)
        for y in y0...y1 {
            for x in x0...x1 {
                var r = 0.0, g = 0.0, b = 0.0, covered = 0.0
                for sy in 0..<n {
                    let py = Double(y) + (Double(sy) + 0.5) / Double(n)
                    for sx in 0..<n {
                        let px = Double(x) + (Double(sx) + 0.5) / Double(n)
                        if let c = colourAt(px, py) {
                            r += c.0; g += c.1; b += c.2; covered += 1
                        }
                    }
                }
                guard covered > 0 else { continue }
                let k = covered * weight
                let i = (y * width + x) * 3
                values[i] = values[i] * (1 - k) + r * weight
                values[i + 1] = values[i + 1] * (1 - k) + g * weight
                values[i + 2] = values[i + 2] * (1 - k) + b * weight
            }
        }
    }

    func toImage() -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: values.count)
        for i in 0..<values.count { pixels[i] = UInt8(max(0, min(255, values[i].rounded()))) }
        return RGBImage(width: width, height: height, pixels: pixels)
    }
}

/// Membership tests of the shapes in object-local coordinates: the object spans about [-1, 1]², y down.
enum ShapeGeometry {
    static func contains(_ shape: SceneShape, _ u: Double, _ v: Double) -> Bool {
        switch shape {
        case .circle: return u * u + v * v <= 1
        case .square: return abs(u) <= 0.82 && abs(v) <= 0.82
        case .triangle: return inPolygon(triangle, u, v)
        case .diamond: return abs(u) + abs(v) <= 1
        case .star: return inPolygon(star, u, v)
        case .cross: return (abs(u) <= 0.32 && abs(v) <= 0.95) || (abs(v) <= 0.32 && abs(u) <= 0.95)
        case .hexagon: return inPolygon(hexagon, u, v)
        case .crescent:
            let du = u - 0.45, dv = v + 0.1
            return u * u + v * v <= 1 && du * du + dv * dv > 0.62
        }
    }

    static let triangle: [(Double, Double)] = [(0, -0.95), (0.95, 0.8), (-0.95, 0.8)]
    static let hexagon: [(Double, Double)] = (0..<6).map { k in
        let a = Double(k) * Double.pi / 3
        return (Foundation.cos(a), Foundation.sin(a))
    }
    static let star: [(Double, Double)] = (0..<10).map { k in
        let a = -Double.pi / 2 + Double(k) * Double.pi / 5
        let radius = k % 2 == 0 ? 1.0 : 0.45
        return (radius * Foundation.cos(a), radius * Foundation.sin(a) + 0.08)
    }

    /// Even–odd rule, so the non-convex star works too.
    static func inPolygon(_ polygon: [(Double, Double)], _ u: Double, _ v: Double) -> Bool {
        var inside = false
        var j = polygon.count - 1
        for i in 0..<polygon.count {
            let (xi, yi) = polygon[i], (xj, yj) = polygon[j]
            if (yi > v) != (yj > v), u < (xj - xi) * (v - yi) / (yj - yi) + xi { inside.toggle() }
            j = i
        }
        return inside
    }
}
