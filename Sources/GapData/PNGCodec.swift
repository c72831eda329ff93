import CPNG
import Foundation

/// PNG through libpng's simplified API, which reports failures by return value (no longjmp across Swift frames).
/// Every colour type and bit depth is read as 8-bit RGB; alpha is composited onto white.
public enum PNGCodec {
    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    public static func decode(_ data: Data, source: String) throws -> RGBImage {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        let bytes = [UInt8](data)
        let begun = bytes.withUnsafeBufferPointer { buffer in
            png_image_begin_read_from_memory(&image, buffer.baseAddress, buffer.count)
        }
        defer { png_image_free(&image) }
        guard begun != 0 else { throw DataError.notAnImage(source, "PNG header: " + message(of: image)) }
        let width = Int(image.width), height = Int(image.height)
        guard width > 0, height > 0, width <= 1 << 14, height <= 1 << 14 else {
            throw DataError.notAnImage(source, "PNG size \(width)×\(height) is outside 1…16384")
        }
        // A 16-bit file without gAMA/sRGB chunks is sRGB in practice, not linear light.
        image.flags |= UInt32(PNG_IMAGE_FLAG_16BIT_sRGB)
        image.format = UInt32(PNG_FORMAT_RGB)
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        var white = png_color(red: 255, green: 255, blue: 255)
        let finished = bytes.withUnsafeBufferPointer { _ in
            pixels.withUnsafeMutableBytes { out in
                png_image_finish_read(&image, &white, out.baseAddress, Int32(width * 3), nil)
            }
        }
        guard finished != 0 else { throw DataError.notAnImage(source, "PNG data: " + message(of: image)) }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    static func message(of image: png_image) -> String {
        var m = image.message
        let text = withUnsafeBytes(of: &m) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return text.isEmpty ? "libpng failed without a message" : text
    }

    /// The sample layouts the writer takes.
    public enum Layout: Sendable {
        case grey, greyAlpha, rgb, rgba
        var channels: Int { self == .grey ? 1 : self == .greyAlpha ? 2 : self == .rgb ? 3 : 4 }
        var format: UInt32 {
            switch self {
            case .grey: return UInt32(PNG_FORMAT_GRAY)
            case .greyAlpha: return UInt32(PNG_FORMAT_GA)
            case .rgb: return UInt32(PNG_FORMAT_RGB)
            case .rgba: return (UInt32(PNG_FORMAT_RGB) | UInt32(PNG_FORMAT_FLAG_ALPHA))
            }
        }
    }

    public static func encode(_ image: RGBImage) throws -> Data {
        try encode(samples: image.pixels, width: image.width, height: image.height, layout: .rgb)
    }

    /// 8-bit sRGB samples.
    public static func encode(samples: [UInt8], width: Int, height: Int, layout: Layout) throws -> Data {
        precondition(samples.count == width * height * layout.channels, "sample count does not match the layout")
        return try write(width: width, height: height, format: layout.format, stride: width * layout.channels,
                         pixels: samples, colormap: nil, colormapEntries: 0)
    }

    /// 16-bit samples. libpng's simplified writer treats 16-bit data as linear light and records gAMA 1.0, so a
    /// reader converts them back to sRGB on the way to 8 bits.
    public static func encode(samples16: [UInt16], width: Int, height: Int, layout: Layout) throws -> Data {
        precondition(samples16.count == width * height * layout.channels, "sample count does not match the layout")
        return try write(width: width, height: height, format: layout.format | UInt32(PNG_FORMAT_FLAG_LINEAR),
                         stride: width * layout.channels, pixels: samples16, colormap: nil, colormapEntries: 0)
    }

    /// A palette (colour-mapped) PNG: `palette` holds RGBA entries (4 bytes each); with `alpha` false the alpha bytes
    /// are ignored and the file has no tRNS chunk.
    public static func encode(indices: [UInt8], width: Int, height: Int, paletteRGBA: [UInt8], alpha: Bool) throws -> Data {
        precondition(indices.count == width * height, "one index per pixel")
        let entries = paletteRGBA.count / 4
        var colormap = paletteRGBA
        var format = (UInt32(PNG_FORMAT_RGB) | UInt32(PNG_FORMAT_FLAG_ALPHA)) | UInt32(PNG_FORMAT_FLAG_COLORMAP)
        if !alpha {
            colormap = (0..<entries).flatMap { Array(paletteRGBA[($0 * 4)..<($0 * 4 + 3)]) }
            format = UInt32(PNG_FORMAT_RGB) | UInt32(PNG_FORMAT_FLAG_COLORMAP)
        }
        return try write(width: width, height: height, format: format, stride: width, pixels: indices,
                         colormap: colormap, colormapEntries: entries)
    }

    static func write<T>(width: Int, height: Int, format: UInt32, stride: Int, pixels: [T], colormap: [UInt8]?, colormapEntries: Int) throws -> Data {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = format
        image.colormap_entries = UInt32(colormapEntries)
        defer { png_image_free(&image) }
        var size: Int = 0
        let ok1 = pixels.withUnsafeBytes { buffer in
            withColormap(colormap) { map in
                png_image_write_to_memory(&image, nil, &size, 0, buffer.baseAddress, Int32(stride), map)
            }
        }
        guard ok1 != 0, size > 0 else { throw DataError.invalid("PNG encoding failed: " + message(of: image)) }
        var out = [UInt8](repeating: 0, count: size)
        let ok2 = pixels.withUnsafeBytes { buffer in
            out.withUnsafeMutableBytes { dest in
                withColormap(colormap) { map in
                    png_image_write_to_memory(&image, dest.baseAddress, &size, 0, buffer.baseAddress, Int32(stride), map)
                }
            }
        }
        guard ok2 != 0 else { throw DataError.invalid("PNG encoding failed: " + message(of: image)) }
        return Data(out.prefix(size))
    }

    private static func withColormap<R>(_ colormap: [UInt8]?, _ body: (UnsafeRawPointer?) -> R) -> R {
        guard let colormap else { return body(nil) }
        return colormap.withUnsafeBytes { body($0.baseAddress) }
    }
}
