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

/// A position on the canvas in pixels (origin top left, y down).
public struct PixelPoint: Sendable, Equatable {
    public var x: Double
    public var y: Double
    public init(_ x: Double, _ y: Double) { self.x = x; self.y = y }
}

public enum TextAnchor: String, Sendable, Equatable {
    case start, middle, end
}

/// One drawing instruction in pixel coordinates.
public enum PlotPrimitive: Sendable, Equatable {
    case line(from: PixelPoint, to: PixelPoint, color: RGBColor, width: Double, opacity: Double)
    case polyline(points: [PixelPoint], color: RGBColor, width: Double, opacity: Double)
    /// A filled, closed polygon (error bands).
    case polygon(points: [PixelPoint], fill: RGBColor, opacity: Double)
    case circle(center: PixelPoint, radius: Double, fill: RGBColor, opacity: Double)
    case rectangle(origin: PixelPoint, width: Double, height: Double, fill: RGBColor?, stroke: RGBColor?, strokeWidth: Double)
    /// Text in the sans-serif font whose baseline passes through `at`, `size` pixels high (the em size);
    /// `rotated` turns it a quarter-turn anticlockwise.
    case text(String, at: PixelPoint, size: Double, color: RGBColor, anchor: TextAnchor, rotated: Bool)
}

/// What a primitive is part of; the SVG groups primitives by it (`<g class="legend">` ...).
public enum PlotRole: String, Sendable, Equatable {
    case background, data, axes, title, legend
}

public struct PlotItem: Sendable, Equatable {
    public var primitive: PlotPrimitive
    public var role: PlotRole
}

/// The drawing of a plot: a list of primitives on a canvas of `width` × `height` pixels, written as SVG and
/// rendered from that SVG to PNG, so the two files show the same picture.
public struct PlotDrawing: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var title: String
    public var background: RGBColor = .white
    public private(set) var items: [PlotItem] = []

    public init(width: Int, height: Int, title: String) {
        self.width = width
        self.height = height
        self.title = title
    }

    public mutating func add(_ primitive: PlotPrimitive, role: PlotRole) {
        items.append(PlotItem(primitive: primitive, role: role))
    }

    /// Font family of every text; fontconfig resolves it (DejaVu Sans on Debian), as a browser does.
    public static let fontFamily = "sans-serif"

    /// An upper estimate of the width of `text` at `size` pixels in a sans-serif font, for layout. The SVG does
    /// not depend on the fonts installed, so the estimate is a fixed share of the em per character: DejaVu Sans,
    /// among the widest sans-serif fonts, averages about 0.6 em over letters and digits.
    public static func textWidth(_ text: String, size: Double) -> Double {
        Double(text.count) * 0.6 * size
    }

    /// Writes `base.svg` and `base.png` (creating the folder if needed) and returns both URLs.
    @discardableResult
    public func write(to base: URL) throws -> (svg: URL, png: URL) {
        let folder = base.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw PlotError.io(path: folder.path, reason: "cannot create folder: \(error.localizedDescription)")
        }
        let svgURL = base.appendingPathExtension("svg")
        let pngURL = base.appendingPathExtension("png")
        let document = svg()
        do {
            try Data(document.utf8).write(to: svgURL)
        } catch {
            throw PlotError.io(path: svgURL.path, reason: "cannot write: \(error.localizedDescription)")
        }
        let png = try SVGRenderer.png(svg: document, width: width, height: height)
        do {
            try png.write(to: pngURL)
        } catch {
            throw PlotError.io(path: pngURL.path, reason: "cannot write: \(error.localizedDescription)")
        }
        return (svgURL, pngURL)
    }
}
