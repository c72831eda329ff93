import CZlib
import Foundation

/// gzip / zlib streams through zlib (the digits CSV, Fashion-MNIST IDX files, open_clip's vocabulary).
public enum Gzip {
    public static func decompress(_ data: Data, source: String) throws -> Data {
        var stream = z_stream()
        // 15 + 32: accept gzip or zlib headers.
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DataError.unreadable(source, "zlib could not start inflating")
        }
        defer { inflateEnd(&stream) }
        var output = Data()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        let input = [UInt8](data)
        var status: Int32 = Z_OK
        try input.withUnsafeBufferPointer { inBuffer in
            stream.next_in = UnsafeMutablePointer(mutating: inBuffer.baseAddress)
            stream.avail_in = uInt(inBuffer.count)
            repeat {
                try chunk.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(out.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    if status == Z_STREAM_END && stream.avail_in > 0 {
                        // Concatenated gzip members: start the next one.
                        output.append(out.baseAddress!, count: out.count - Int(stream.avail_out))
                        inflateReset(&stream)
                        status = Z_OK
                        stream.next_out = out.baseAddress
                        stream.avail_out = uInt(out.count)
                        return
                    }
                    guard status == Z_OK || status == Z_STREAM_END else {
                        throw DataError.unreadable(source, "corrupt or truncated compressed data (zlib status \(status))")
                    }
                    output.append(out.baseAddress!, count: out.count - Int(stream.avail_out))
                }
                if status == Z_OK && stream.avail_in == 0 && stream.avail_out != 0 {
                    throw DataError.unreadable(source, "compressed data ends early (truncated file)")
                }
            } while status != Z_STREAM_END
        }
        return output
    }

    public static func compress(_ data: Data) -> Data {
        var stream = z_stream()
        deflateInit2_(&stream, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        defer { deflateEnd(&stream) }
        let input = [UInt8](data)
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))) + 32)
        input.withUnsafeBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { out in
                stream.next_in = UnsafeMutablePointer(mutating: inBuffer.baseAddress)
                stream.avail_in = uInt(inBuffer.count)
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(out.count)
                deflate(&stream, Z_FINISH)
            }
        }
        return Data(output.prefix(Int(stream.total_out)))
    }
}
