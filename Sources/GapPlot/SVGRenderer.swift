import CCairo
import CRSVG
import Foundation

/// SVG documents to PNG through librsvg and cairo: real fonts through fontconfig, anti-aliased lines.
///
/// GapPlot draws and writes figures and nothing else; it links no numeric code, so GapReport can draw without the
/// engine, the model or BLAS. For that reason it cannot use GapData's `PNGCodec`, whose module links the engine:
/// the rendered surface is written by cairo's own PNG writer (itself libpng). `PNGCodec` stays the project's one
/// codec for images (datasets, generated scenes, and the tests that decode these figures); this is the one place
/// a PNG is produced by a renderer instead.
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

        let sink = PNGSink()
        let written = cairo_surface_write_to_png_stream(surface, { closure, data, length in
            guard let closure, let data else { return CAIRO_STATUS_WRITE_ERROR }
            Unmanaged<PNGSink>.fromOpaque(closure).takeUnretainedValue().bytes.append(data, count: Int(length))
            return CAIRO_STATUS_SUCCESS
        }, Unmanaged.passUnretained(sink).toOpaque())
        guard written == CAIRO_STATUS_SUCCESS else {
            throw PlotError.render("cairo cannot write the PNG: " + String(cString: cairo_status_to_string(written)))
        }
        return withExtendedLifetime(sink) { sink.bytes }
    }

    private final class PNGSink {
        var bytes = Data()
    }

    private static func consume(_ error: UnsafeMutablePointer<GError>?) -> String {
        guard let error else { return "no reason given" }
        defer { g_error_free(error) }
        return error.pointee.message.map { String(cString: $0) } ?? "no reason given"
    }
}
