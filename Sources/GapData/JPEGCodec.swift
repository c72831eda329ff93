import CTurboJPEG
import Foundation

/// JPEG through the TurboJPEG API of libjpeg-turbo, which returns errors instead of calling libjpeg's error_exit
/// (a longjmp Swift cannot survive). Warnings such as a truncated scan count as failures: a half-grey image is
/// worse than a skipped one.
public enum JPEGCodec {
    public static func isJPEG(_ data: Data) -> Bool { data.count >= 3 && data[data.startIndex] == 0xFF && data[data.startIndex + 1] == 0xD8 && data[data.startIndex + 2] == 0xFF }

    public static func decode(_ data: Data, source: String) throws -> RGBImage {
        guard let handle = tjInitDecompress() else { throw DataError.unavailable("TurboJPEG could not create a decompressor") }
        defer { tjDestroy(handle) }
        var bytes = [UInt8](data)
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colourspace: Int32 = 0
        let header = bytes.withUnsafeMutableBufferPointer { buffer in
            tjDecompressHeader3(handle, buffer.baseAddress, UInt(buffer.count), &width, &height, &subsampling, &colourspace)
        }
        guard header == 0 else { throw DataError.notAnImage(source, "JPEG header: " + errorText(handle)) }
        guard width > 0, height > 0, width <= 1 << 14, height <= 1 << 14 else {
            throw DataError.notAnImage(source, "JPEG size \(width)×\(height) is outside 1…16384")
        }
        var pixels = [UInt8](repeating: 0, count: Int(width) * Int(height) * 3)
        let status = bytes.withUnsafeMutableBufferPointer { buffer in
            pixels.withUnsafeMutableBufferPointer { out in
                tjDecompress2(handle, buffer.baseAddress, UInt(buffer.count), out.baseAddress, width, 0, height,
                              Int32(TJPF_RGB.rawValue), TJFLAG_STOPONWARNING)
            }
        }
        guard status == 0 else { throw DataError.notAnImage(source, "JPEG data: " + errorText(handle)) }
        return RGBImage(width: Int(width), height: Int(height), pixels: pixels)
    }

    static func errorText(_ handle: tjhandle) -> String {
        guard let text = tjGetErrorStr2(handle) else { return "libjpeg-turbo failed without a message" }
        return String(cString: text)
    }

    /// Baseline or progressive JPEG; `grey` writes a one-component file.
    public static func encode(_ image: RGBImage, quality: Int = 90, progressive: Bool = false, grey: Bool = false) throws -> Data {
        guard let handle = tjInitCompress() else { throw DataError.unavailable("TurboJPEG could not create a compressor") }
        defer { tjDestroy(handle) }
        var output: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        let flags = progressive ? TJFLAG_PROGRESSIVE : 0
        let status = image.pixels.withUnsafeBufferPointer { buffer in
            tjCompress2(handle, buffer.baseAddress, Int32(image.width), 0, Int32(image.height), Int32(TJPF_RGB.rawValue),
                        &output, &size, Int32(grey ? TJSAMP_GRAY.rawValue : TJSAMP_420.rawValue), Int32(quality), flags)
        }
        defer { if let output { tjFree(output) } }
        guard status == 0, let output else { throw DataError.invalid("JPEG encoding failed: " + errorText(handle)) }
        return Data(bytes: output, count: Int(size))
    }
}
