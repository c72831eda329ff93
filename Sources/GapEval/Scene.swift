import Foundation

/// An 8-bit sRGB colour.
public struct RGBColor: Sendable, Equatable, Hashable {
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8

    public init(_ red: UInt8, _ green: UInt8, _ blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    public var hex: String { String(format: "#%02x%02x%02x", red, green, blue) }

    public static let white = RGBColor(255, 255, 255)
    public static let black = RGBColor(0, 0, 0)
    public static let grey = RGBColor(128, 128, 128)
    public static let lightGrey = RGBColor(225, 225, 225)
    /// Matplotlib's tab10, so series colours look familiar and stay distinct.
    public static let palette: [RGBColor] = [
        RGBColor(31, 119, 180), RGBColor(255, 127, 14), RGBColor(44, 160, 44), RGBColor(214, 39, 40),
        RGBColor(148, 103, 189), RGBColor(140, 86, 75), RGBColor(227, 119, 194), RGBColor(127, 127, 127),
        RGBColor(188, 189, 34), RGBColor(23, 190, 207),
    ]
    public static func series(_ index: Int) -> RGBColor { palette[index % palette.count] }
}

public struct ScenePoint: Sendable, Equatable {
    public var x: Double
    public var y: Double
    public init(_ x: Double, _ y: Double) { self.x = x; self.y = y }
}

public enum TextAnchor: String, Sendable, Equatable {
    case start, middle, end
}

/// One drawing instruction in pixel coordinates (origin top left, y down). Both the SVG writer and the
/// rasteriser read the same list, so the two files show the same picture.
public enum ScenePrimitive: Sendable, Equatable {
    case line(from: ScenePoint, to: ScenePoint, color: RGBColor, width: Double, opacity: Double)
    case polyline(points: [ScenePoint], color: RGBColor, width: Double, opacity: Double)
    /// A filled, closed polygon (error bands).
    case polygon(points: [ScenePoint], fill: RGBColor, opacity: Double)
    case circle(center: ScenePoint, radius: Double, fill: RGBColor, opacity: Double)
    case rectangle(origin: ScenePoint, width: Double, height: Double, fill: RGBColor?, stroke: RGBColor?, strokeWidth: Double)
    /// Text whose baseline passes through `at`; `scale` multiplies the 5 × 7 pixel font (SVG: font-size 10·scale,
    /// monospace, which has the same 6·scale advance); `rotated` turns it a quarter-turn anticlockwise.
    case text(String, at: ScenePoint, scale: Int, color: RGBColor, anchor: TextAnchor, rotated: Bool)
}

/// What a primitive is part of; the SVG groups primitives by it (`<g class="legend">` ...).
public enum SceneRole: String, Sendable, Equatable {
    case background, data, axes, title, legend
}

public struct SceneItem: Sendable, Equatable {
    public var primitive: ScenePrimitive
    public var role: SceneRole
}

/// A picture as a list of primitives on a canvas of `width` × `height` pixels.
public struct Scene: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var title: String
    public var background: RGBColor = .white
    public private(set) var items: [SceneItem] = []

    public init(width: Int, height: Int, title: String) {
        self.width = width
        self.height = height
        self.title = title
    }

    public mutating func add(_ primitive: ScenePrimitive, role: SceneRole) {
        items.append(SceneItem(primitive: primitive, role: role))
    }

    /// Pixel width of `text` at `scale`, identical for the bitmap font and for the SVG's monospace font.
    public static func textWidth(_ text: String, scale: Int) -> Double {
        Double(max(0, text.count * BitmapFont.advance - 1) * scale)
    }

    /// Writes `base.svg` and `base.png` (creating the folder if needed) and returns both URLs.
    @discardableResult
    public func write(to base: URL) throws -> (svg: URL, png: URL) {
        let folder = base.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw EvalError.io(path: folder.path, reason: "cannot create folder: \(error.localizedDescription)")
        }
        let svgURL = base.appendingPathExtension("svg")
        let pngURL = base.appendingPathExtension("png")
        do {
            try Data(svg().utf8).write(to: svgURL)
        } catch {
            throw EvalError.io(path: svgURL.path, reason: "cannot write: \(error.localizedDescription)")
        }
        let png = try PNGCodec.encode(rasterise())
        do {
            try png.write(to: pngURL)
        } catch {
            throw EvalError.io(path: pngURL.path, reason: "cannot write: \(error.localizedDescription)")
        }
        return (svgURL, pngURL)
    }
}
