import Foundation
import GapSpec

/// Decoded, preprocessed splits on disk, keyed by SHA-256 of the source content and every setting that shapes
/// the pixels or the split, so a sweep decodes once and any change in either misses the cache.
/// File layout: "GAPDATA1", UInt64 little-endian header length, JSON header, then each split's pixels.
enum DatasetCache {
    static let magic = Data("GAPDATA1".utf8)
    static let formatVersion = 1

    static func key(config: DataConfig, imageSize: Int, fit: FitMode, sourceDigest: String) throws -> String {
        let settings = "v\(formatVersion)|\(config.dataset)|train=\(config.trainSize)|val=\(config.valSize)|test=\(config.testSize)|seed=\(config.splitSeed)|size=\(imageSize)|fit=\(fit.rawValue)|source=\(sourceDigest)"
        return ContentHash.sha256(Data(settings.utf8))
    }

    static func fileURL(directory: URL, key: String) -> URL { directory.appendingPathComponent("\(key).gapdata") }

    struct Header: Codable {
        struct Split: Codable {
            var name: String
            var width: Int
            var height: Int
            var captionsPerImage: [[String]]
            var labelAxes: [LabelAxis]
            var sourceIDs: [String]
        }
        var splits: [Split]
        var report: LoadReport
    }

    static func write(_ source: SourceSplits, directory: URL, key: String) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let header = Header(splits: source.splits.map { s in
            Header.Split(name: s.name, width: s.imageWidth, height: s.imageHeight,
                         captionsPerImage: (0..<s.imageCount).map { Array(s.captions(ofImage: $0)) },
                         labelAxes: s.labelAxes, sourceIDs: s.sourceIDs)
        }, report: source.report)
        let json = try JSONEncoder().encode(header)
        var data = magic
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(json)
        for s in source.splits { s.pixels.withUnsafeBytes { data.append(contentsOf: $0) } }
        // Write to a temporary name first so a concurrent reader never sees half a file.
        let target = fileURL(directory: directory, key: key)
        let temporary = directory.appendingPathComponent("\(key).\(ProcessInfo.processInfo.processIdentifier).tmp")
        try data.write(to: temporary)
        _ = try? FileManager.default.removeItem(at: target)
        try FileManager.default.moveItem(at: temporary, to: target)
    }

    /// nil when absent or unreadable (a damaged cache file is treated as a miss and rewritten).
    static func read(directory: URL, key: String) -> SourceSplits? {
        guard let data = try? Data(contentsOf: fileURL(directory: directory, key: key), options: .alwaysMapped),
              data.count > magic.count + 8, data.prefix(magic.count) == magic else { return nil }
        var length: UInt64 = 0
        _ = withUnsafeMutableBytes(of: &length) { data.copyBytes(to: $0, from: magic.count..<(magic.count + 8)) }
        let headerStart = magic.count + 8
        let headerEnd = headerStart + Int(UInt64(littleEndian: length))
        guard headerEnd <= data.count,
              let header = try? JSONDecoder().decode(Header.self, from: data.subdata(in: headerStart..<headerEnd)) else { return nil }
        var offset = headerEnd
        var splits: [ImageTextDataset] = []
        for s in header.splits {
            let bytes = s.captionsPerImage.count * s.width * s.height * 3
            guard offset + bytes <= data.count else { return nil }
            let pixels = [UInt8](data.subdata(in: offset..<(offset + bytes)))
            offset += bytes
            splits.append(ImageTextDataset(name: s.name, imageWidth: s.width, imageHeight: s.height, pixels: pixels,
                                           captionsPerImage: s.captionsPerImage, labelAxes: s.labelAxes, sourceIDs: s.sourceIDs))
        }
        guard offset == data.count else { return nil }
        return SourceSplits(splits: splits, report: header.report)
    }
}
