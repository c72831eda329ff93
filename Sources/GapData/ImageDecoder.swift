import Foundation

/// Reads an image file of any supported kind (by content, not by extension) as 8-bit RGB.
public enum ImageDecoder {
    public static func decode(_ data: Data, source: String) throws -> RGBImage {
        if data.isEmpty { throw DataError.notAnImage(source, "the file is empty") }
        if data.starts(with: PNGCodec.signature) { return try PNGCodec.decode(data, source: source) }
        if JPEGCodec.isJPEG(data) { return try JPEGCodec.decode(data, source: source) }
        throw DataError.notAnImage(source, "neither a PNG nor a JPEG signature at the start of the file")
    }

    public static func decodeFile(_ url: URL) throws -> RGBImage {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            if !FileManager.default.fileExists(atPath: url.path) { throw DataError.missing(url.path, "no such file") }
            throw DataError.unreadable(url.path, error.localizedDescription)
        }
        return try decode(data, source: url.path)
    }
}
