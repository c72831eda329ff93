import Crypto
import Foundation

enum FileDigest {
    /// Size and hex SHA-256 of a file, read in chunks so large checkpoints do not sit in memory at once.
    static func sizeAndSHA256(of url: URL) throws -> (size: Int64, sha256: String) {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var hasher = SHA256()
        var size: Int64 = 0
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
            size += Int64(chunk.count)
        }
        let hex = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        return (size, hex)
    }
}
