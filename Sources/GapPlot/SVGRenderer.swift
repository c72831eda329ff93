import CCairo
import CRSVG
import Foundation
import GapData

/// SVG documents to PNG through librsvg and cairo: real fonts through fontconfig, anti-aliased lines.
///
/// GapPlot draws and writes figures and nothing else; it links no numeric code, so GapReport can draw without the
/// engine, the model or BLAS. The rendered pixels are written by GapData's `PNGCodec`, the project's one PNG codec.
public enum SVGRenderer {
    /// Renders `svg` onto a white `width` × `height` canvas, the document's viewport scaled to fill it, and
    /// returns the PNG file (8-bit RGB).
    public static func png(svg: String, width: Int, height: Int) throws -> Data {
        guard width > 0, height > 0, width <= 1 << 14, height <= 1 << 14 else {
            throw PlotError.invalidArgument(what: "PNG canvas", expected: "1…16384 pixels a side", got: "\(width)×\(height)")
        }
        let bytes = Array(svg.utf8)
        var error: UnsafeMutablePointer<GError>?
        let handle = bytes.withUnsafeBufferPointer { rsvg_handle_new_from_data($0.baseAddress, gsize($0.count), &error) }
        guard let handle else { throw PlotError.render("librsvg cannot read the SVG: " + consume(error)) }
        defer { g_object_unref(handle) }

        guard let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(width), Int32(height)) else {
            throw PlotError.render("cairo cannot create a \(width)×\(height) surface")
        }
        defer { cairo_surface_destroy(surface) }
        guard cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS, let context = cairo_create(surface) else {
            throw PlotError.render("cairo cannot create a \(width)×\(height) surface")
        }
        defer { cairo_destroy(context) }
        cairo_set_source_rgb(context, 1, 1, 1)
        cairo_paint(context)
        var viewport = RsvgRectangle(x: 0, y: 0, width: Double(width), height: Double(height))
        guard rsvg_handle_render_document(handle, context, &viewport, &error) != 0 else {
            throw PlotError.render("librsvg cannot draw the SVG: " + consume(error))
        }
        let status = cairo_status(context)
        guard status == CAIRO_STATUS_SUCCESS else { throw PlotError.render(String(cString: cairo_status_to_string(status))) }
        cairo_surface_flush(surface)

        return try PNGCodec.encode(pixels(of: surface, width: width, height: height))
    }

    /// The RGB bytes of an RGB24 surface, whose pixels are 32-bit native-endian words 0x00RRGGBB.
    private static func pixels(of surface: OpaquePointer, width: Int, height: Int) -> RGBImage {
        let stride = Int(cairo_image_surface_get_stride(surface))
        let data = cairo_image_surface_get_data(surface)!
        var image = RGBImage(width: width, height: height)
        for y in 0..<height {
            let row = UnsafeRawPointer(data + y * stride).assumingMemoryBound(to: UInt32.self)
            for x in 0..<width {
                let word = row[x], o = 3 * (y * width + x)
                image.pixels[o] = UInt8(truncatingIfNeeded: word >> 16)
                image.pixels[o + 1] = UInt8(truncatingIfNeeded: word >> 8)
                image.pixels[o + 2] = UInt8(truncatingIfNeeded: word)
            }
        }
        return image
    }

    private static func consume(_ error: UnsafeMutablePointer<GError>?) -> String {
        guard let error else { return "no reason given" }
        defer { g_error_free(error) }
        return error.pointee.message.map { String(cString: $0) } ?? "no reason given"
    }
}
