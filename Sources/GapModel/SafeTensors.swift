import Foundation
import GapSpec

/// The safetensors format: an 8-byte little-endian header length, a JSON header mapping names to
/// {dtype, shape, data_offsets}, optional "__metadata__" of strings, then the raw little-endian data.
public struct SafeTensorsFile {
    public enum DType: String {
        case f32 = "F32", f64 = "F64", i32 = "I32", i64 = "I64", f16 = "F16", bf16 = "BF16", u8 = "U8", bool = "BOOL"

        var size: Int {
            switch self {
            case .f64, .i64: return 8
            case .f32, .i32: return 4
            case .f16, .bf16: return 2
            case .u8, .bool: return 1
            }
        }
    }

    public struct Entry {
        public let name: String
        public let dtype: DType
        public let shape: [Int]
        let range: Range<Int>
        public var count: Int { shape.reduce(1, *) }
    }

    public private(set) var entries: [String: Entry] = [:]
    public private(set) var metadata: [String: String] = [:]
    private let data: Data
    private let dataStart: Int
    public let path: String

    public var names: [String] { entries.keys.sorted() }

    public init(path: String) throws {
        self.path = path
        guard let d = FileManager.default.contents(atPath: path) else {
            throw SafeTensorsError.unreadable(path: path, reason: "cannot read the file")
        }
        data = d
        guard d.count >= 8 else { throw SafeTensorsError.unreadable(path: path, reason: "shorter than the 8-byte header length") }
        let headerLength = d.withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self))) }
        guard headerLength > 0, 8 + headerLength <= d.count else {
            throw SafeTensorsError.unreadable(path: path, reason: "header length \(headerLength) does not fit a file of \(d.count) bytes")
        }
        dataStart = 8 + headerLength
        let headerData = d.subdata(in: 8..<dataStart)
        guard let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any] else {
            throw SafeTensorsError.unreadable(path: path, reason: "the header is not a JSON object")
        }
        for (name, value) in header {
            if name == "__metadata__" {
                metadata = (value as? [String: String]) ?? [:]
                continue
            }
            guard let obj = value as? [String: Any], let dt = obj["dtype"] as? String, let dtype = DType(rawValue: dt),
                  let shape = obj["shape"] as? [Int], let offsets = obj["data_offsets"] as? [Int], offsets.count == 2,
                  offsets[0] >= 0, offsets[0] <= offsets[1], dataStart + offsets[1] <= d.count else {
                throw SafeTensorsError.unreadable(path: path, reason: "bad header entry for tensor \(name)")
            }
            let entry = Entry(name: name, dtype: dtype, shape: shape, range: offsets[0]..<offsets[1])
            guard entry.count * dtype.size == entry.range.count else {
                throw SafeTensorsError.unreadable(path: path, reason: "tensor \(name): shape \(shape) does not match its byte size")
            }
            entries[name] = entry
        }
    }

    public func entry(_ name: String) throws -> Entry {
        guard let e = entries[name] else { throw SafeTensorsError.missing(path: path, name: name) }
        return e
    }

    /// The tensor as Float32 (F32 read as is; F64/F16/BF16/integers converted).
    public func floats(_ name: String) throws -> [Float] {
        let e = try entry(name)
        return data.withUnsafeBytes { raw -> [Float] in
            let base = raw.baseAddress! + dataStart + e.range.lowerBound
            switch e.dtype {
            case .f32: return (0..<e.count).map { Float(bitPattern: UInt32(littleEndian: (base + 4 * $0).loadUnaligned(as: UInt32.self))) }
            case .f64: return (0..<e.count).map { Float(Double(bitPattern: UInt64(littleEndian: (base + 8 * $0).loadUnaligned(as: UInt64.self)))) }
            case .f16: return (0..<e.count).map { Float(Float16(bitPattern: UInt16(littleEndian: (base + 2 * $0).loadUnaligned(as: UInt16.self)))) }
            case .bf16: return (0..<e.count).map { Float(bitPattern: UInt32(UInt16(littleEndian: (base + 2 * $0).loadUnaligned(as: UInt16.self))) << 16) }
            case .i32: return (0..<e.count).map { Float(Int32(littleEndian: (base + 4 * $0).loadUnaligned(as: Int32.self))) }
            case .i64: return (0..<e.count).map { Float(Int64(littleEndian: (base + 8 * $0).loadUnaligned(as: Int64.self))) }
            case .u8, .bool: return (0..<e.count).map { Float(base.load(fromByteOffset: $0, as: UInt8.self)) }
            }
        }
    }

    /// Integer tensors (I32, I64, U8) as Int32.
    public func int32s(_ name: String) throws -> [Int32] {
        let e = try entry(name)
        return try data.withUnsafeBytes { raw -> [Int32] in
            let base = raw.baseAddress! + dataStart + e.range.lowerBound
            switch e.dtype {
            case .i32: return (0..<e.count).map { Int32(littleEndian: (base + 4 * $0).loadUnaligned(as: Int32.self)) }
            case .i64: return (0..<e.count).map { Int32(truncatingIfNeeded: Int64(littleEndian: (base + 8 * $0).loadUnaligned(as: Int64.self))) }
            case .u8: return (0..<e.count).map { Int32(base.load(fromByteOffset: $0, as: UInt8.self)) }
            default: throw SafeTensorsError.wrongType(path: path, name: name, expected: "an integer tensor (I32 or I64)", found: e.dtype.rawValue)
            }
        }
    }
}

public enum SafeTensorsError: Error, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case missing(path: String, name: String)
    case wrongType(path: String, name: String, expected: String, found: String)

    public var description: String {
        switch self {
        case .unreadable(let p, let r): return "\(p): not a readable safetensors file: \(r)"
        case .missing(let p, let n): return "\(p): no tensor named '\(n)'"
        case .wrongType(let p, let n, let e, let f): return "\(p): tensor '\(n)' should be \(e), found \(f)"
        }
    }
}

/// Accumulates tensors in insertion order and writes one safetensors file.
public struct SafeTensorsWriter {
    private var header: [(String, String)] = []
    private var payload = Data()
    public var metadata: [String: String] = [:]

    public init() {}

    public mutating func add(_ name: String, floats: UnsafeBufferPointer<Float>, shape: [Int]) {
        precondition(shape.reduce(1, *) == floats.count, "\(name): shape \(shape) does not match \(floats.count) values")
        let begin = payload.count
        for v in floats { withUnsafeBytes(of: v.bitPattern.littleEndian) { payload.append(contentsOf: $0) } }
        header.append((name, entryJSON("F32", shape, begin, payload.count)))
    }

    public mutating func add(_ name: String, floats: [Float], shape: [Int]) {
        floats.withUnsafeBufferPointer { add(name, floats: $0, shape: shape) }
    }

    public mutating func add(_ name: String, int32s: [Int32], shape: [Int]) {
        precondition(shape.reduce(1, *) == int32s.count)
        let begin = payload.count
        for v in int32s { withUnsafeBytes(of: v.littleEndian) { payload.append(contentsOf: $0) } }
        header.append((name, entryJSON("I32", shape, begin, payload.count)))
    }

    public mutating func add(_ name: String, int64s: [Int64], shape: [Int]) {
        precondition(shape.reduce(1, *) == int64s.count)
        let begin = payload.count
        for v in int64s { withUnsafeBytes(of: v.littleEndian) { payload.append(contentsOf: $0) } }
        header.append((name, entryJSON("I64", shape, begin, payload.count)))
    }

    private func entryJSON(_ dtype: String, _ shape: [Int], _ begin: Int, _ end: Int) -> String {
        "{\"dtype\":\"\(dtype)\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(begin),\(end)]}"
    }

    public func data() -> Data {
        var parts: [String] = []
        if !metadata.isEmpty {
            let items = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            parts.append("\"__metadata__\":{\(items.joined(separator: ","))}")
        }
        parts += header.map { "\(jsonString($0.0)):\($0.1)" }
        var json = Array("{\(parts.joined(separator: ","))}".utf8)
        // Pad with spaces so the data starts 8-byte aligned, as the reference implementation does.
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: json)
        out.append(payload)
        return out
    }

    public func write(to path: String) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        // Write to a temporary file and rename, so a crash never leaves a half-written checkpoint.
        try data().write(to: url, options: .atomic)
    }
}

func jsonString(_ s: String) -> String { JSONValue.string(s).compactString }
