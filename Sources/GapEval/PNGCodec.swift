import CZlib
import Foundation

/// PNG files through zlib with our own chunk writer and reader: 8-bit RGB, one IDAT.
/// The reader accepts what the writer emits plus every scanline filter, so tests can check the round trip.
public enum PNGCodec {
    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    public static func encode(_ image: RasterImage) throws -> Data {
        var header = [UInt8]()
        header += bigEndian(UInt32(image.width))
        header += bigEndian(UInt32(image.height))
        header += [8, 2, 0, 0, 0] // bit depth 8, colour type 2 (RGB), deflate, adaptive filters, no interlace
        // Each scanline is prefixed by its filter type; Sub (1) suits the flat areas of plots.
        let rowBytes = image.width * 3
        var raw = [UInt8]()
        raw.reserveCapacity((rowBytes + 1) * image.height)
        for y in 0..<image.height {
            raw.append(1)
            let base = y * rowBytes
            for i in 0..<rowBytes {
                let left: UInt8 = i >= 3 ? image.pixels[base + i - 3] : 0
                raw.append(image.pixels[base + i] &- left)
            }
        }
        var out = Data(signature)
        out += chunk("IHDR", header)
        out += chunk("IDAT", try deflate(raw))
        out += chunk("IEND", [])
        return out
    }

    public static func decode(_ data: Data) throws -> RasterImage {
        let bytes = [UInt8](data)
        guard bytes.count >= 8, Array(bytes[0..<8]) == signature else { throw EvalError.png("missing PNG signature") }
        var offset = 8
        var width = 0, height = 0
        var compressed = [UInt8]()
        var sawEnd = false
        while offset + 12 <= bytes.count {
            let length = Int(readUInt32(bytes, offset))
            guard offset + 12 + length <= bytes.count else { throw EvalError.png("chunk at byte \(offset) runs past the end") }
            let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
            let body = Array(bytes[(offset + 8)..<(offset + 8 + length)])
            let storedCRC = readUInt32(bytes, offset + 8 + length)
            guard storedCRC == crc(type, body) else { throw EvalError.png("bad CRC in \(type) chunk at byte \(offset)") }
            switch type {
            case "IHDR":
                guard length == 13 else { throw EvalError.png("IHDR of \(length) bytes, expected 13") }
                width = Int(readUInt32(body, 0))
                height = Int(readUInt32(body, 4))
                guard body[8] == 8, body[9] == 2, body[12] == 0 else {
                    throw EvalError.png("only 8-bit RGB non-interlaced images are read, got depth \(body[8]), colour type \(body[9]), interlace \(body[12])")
                }
            case "IDAT":
                compressed += body
            case "IEND":
                sawEnd = true
            default:
                break
            }
            offset += 12 + length
            if sawEnd { break }
        }
        guard sawEnd else { throw EvalError.png("no IEND chunk") }
        guard width > 0, height > 0 else { throw EvalError.png("no IHDR chunk or empty image") }
        let rowBytes = width * 3
        let raw = try inflate(compressed, expected: (rowBytes + 1) * height)
        guard raw.count == (rowBytes + 1) * height else {
            throw EvalError.png("image data of \(raw.count) bytes, expected \((rowBytes + 1) * height)")
        }
        var pixels = [UInt8](repeating: 0, count: rowBytes * height)
        for y in 0..<height {
            let filter = raw[y * (rowBytes + 1)]
            for i in 0..<rowBytes {
                let x = raw[y * (rowBytes + 1) + 1 + i]
                let a: UInt8 = i >= 3 ? pixels[y * rowBytes + i - 3] : 0
                let b: UInt8 = y > 0 ? pixels[(y - 1) * rowBytes + i] : 0
                let c: UInt8 = (i >= 3 && y > 0) ? pixels[(y - 1) * rowBytes + i - 3] : 0
                let value: UInt8
                switch filter {
                case 0: value = x
                case 1: value = x &+ a
                case 2: value = x &+ b
                case 3: value = x &+ UInt8((Int(a) + Int(b)) / 2)
                case 4: value = x &+ paeth(a, b, c)
                default: throw EvalError.png("unknown filter type \(filter) on row \(y)")
                }
                pixels[y * rowBytes + i] = value
            }
        }
        return RasterImage(width: width, height: height, pixels: pixels)
    }

    private static func paeth(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> UInt8 {
        let p = Int(a) + Int(b) - Int(c)
        let pa = abs(p - Int(a)), pb = abs(p - Int(b)), pc = abs(p - Int(c))
        if pa <= pb && pa <= pc { return a }
        return pb <= pc ? b : c
    }

    private static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }

    private static func readUInt32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        (UInt32(bytes[offset]) << 24) | (UInt32(bytes[offset + 1]) << 16) | (UInt32(bytes[offset + 2]) << 8) | UInt32(bytes[offset + 3])
    }

    private static func crc(_ type: String, _ body: [UInt8]) -> UInt32 {
        let typed = Array(type.utf8) + body
        return typed.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt($0.count))) }
    }

    private static func chunk(_ type: String, _ body: [UInt8]) -> Data {
        var out = Data(bigEndian(UInt32(body.count)))
        out += Array(type.utf8)
        out += body
        out += bigEndian(crc(type, body))
        return out
    }

    static func deflate(_ input: [UInt8]) throws -> [UInt8] {
        var capacity = compressBound(uLong(input.count))
        var output = [UInt8](repeating: 0, count: Int(capacity))
        let status = output.withUnsafeMutableBufferPointer { out in
            input.withUnsafeBufferPointer { source in
                compress2(out.baseAddress, &capacity, source.baseAddress, uLong(input.count), 9)
            }
        }
        guard status == Z_OK else { throw EvalError.png("zlib compress2 failed with status \(status)") }
        return Array(output[0..<Int(capacity)])
    }

    static func inflate(_ input: [UInt8], expected: Int) throws -> [UInt8] {
        var size = uLongf(max(expected, 1))
        var output = [UInt8](repeating: 0, count: Int(size))
        let status = output.withUnsafeMutableBufferPointer { out in
            input.withUnsafeBufferPointer { source in
                uncompress(out.baseAddress, &size, source.baseAddress, uLong(input.count))
            }
        }
        guard status == Z_OK else { throw EvalError.png("zlib uncompress of IDAT failed with status \(status)") }
        return Array(output[0..<Int(size)])
    }
}
