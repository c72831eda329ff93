import Foundation
import GapSpec

/// How a parameter value is kept in a row: its type name, a number (for comparisons) and, for strings and
/// integers beyond 2^53, the exact text. Shared by every implementation so they agree on every value.
public enum ParamColumns {
    public static func encode(_ value: ParamValue) -> (type: String, number: Double?, text: String?) {
        switch value {
        case .string(let string): return (value.typeName, nil, string)
        case .int(let int): return (value.typeName, value.numericValue, String(int))  // exact where the number rounds
        default: return (value.typeName, value.numericValue, nil)
        }
    }

    public static func decode(type: String, number: Double?, text: String?) -> ParamValue {
        switch type {
        case "int": return .int(text.flatMap { Int($0) } ?? Int(number ?? 0))
        case "double": return .double(number ?? .nan)
        case "bool": return .bool((number ?? 0) != 0)
        default: return .string(text ?? "")
        }
    }
}

/// The files side of a store: each run's artifacts live in `root/<run ID>/`; records hold paths relative to it.
public struct ArtifactFolders: Sendable {
    public let root: URL

    public init(root: URL) { self.root = root.standardizedFileURL }

    public func directory(runID: String) -> URL { root.appendingPathComponent(runID, isDirectory: true) }

    /// The record of a file inside the run's folder (size and SHA-256); refuses a file outside it.
    public func record(runID: String, name: String, file: URL, createdAt: Date) throws -> ArtifactRecord {
        let folder = directory(runID: runID).standardizedFileURL.path + "/"
        let filePath = file.standardizedFileURL.path
        guard filePath.hasPrefix(folder) else { throw StoreError.artifactOutsideRun(runID: runID, path: filePath) }
        let (size, sha256) = try FileDigest.sizeAndSHA256(of: file)
        return ArtifactRecord(runID: runID, name: name, path: String(filePath.dropFirst(folder.count)), size: size,
                              sha256: sha256, createdAt: createdAt)
    }

    /// Refuses a recorded path that could leave the run's folder: empty, absolute, or with a `..` component.
    public static func checkRelativePath(_ path: String, runID: String) throws {
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        if path.isEmpty || path.hasPrefix("/") || components.contains("..") {
            throw StoreError.invalid("artifact path '\(path)' of run \(runID) is not inside the run's folder "
                                     + "(it is absolute or has a '..' component)")
        }
    }

    public func removeDirectory(runID: String) throws {
        let folder = directory(runID: runID)
        if FileManager.default.fileExists(atPath: folder.path) { try FileManager.default.removeItem(at: folder) }
    }

    /// Removes the folders of runs not in `known`; returns them.
    public func removeOrphans(known: Set<String>) throws -> [URL] {
        guard let entries = try? FileManager.default.contentsOfDirectory(at: root, includingPropertiesForKeys: nil) else { return [] }
        var removed: [URL] = []
        for entry in entries.sorted(by: { $0.path < $1.path }) where !known.contains(entry.lastPathComponent) {
            try FileManager.default.removeItem(at: entry)
            removed.append(entry)
        }
        return removed
    }
}

/// Final, best-by-maximum and best-by-minimum points of one metric of one run, as the stores' window query
/// returns them (a point may be several of these at once).
public struct MetricExtremeRow: Sendable {
    public var runID: String, key: String, step: Int, value: Double, count: Int
    public var isFinal: Bool, isMax: Bool, isMin: Bool

    public init(runID: String, key: String, step: Int, value: Double, count: Int, isFinal: Bool, isMax: Bool, isMin: Bool) {
        self.runID = runID; self.key = key; self.step = step; self.value = value; self.count = count
        self.isFinal = isFinal; self.isMax = isMax; self.isMin = isMin
    }

    /// The window query both stores run over `metrics` for the run IDs in `runFilter` (an SQL condition).
    public static func query(runFilter: String) -> String {
        """
        SELECT run_id, key, step, value, n, from_end, max_rank, min_rank FROM (
            SELECT run_id, key, step, value,
                COUNT(*) OVER (PARTITION BY run_id, key) AS n,
                ROW_NUMBER() OVER (PARTITION BY run_id, key ORDER BY step DESC) AS from_end,
                ROW_NUMBER() OVER (PARTITION BY run_id, key ORDER BY value IS NULL, value DESC, step) AS max_rank,
                ROW_NUMBER() OVER (PARTITION BY run_id, key ORDER BY value IS NULL, value ASC, step) AS min_rank
            FROM metrics WHERE \(runFilter)) AS ranked
        WHERE from_end = 1 OR max_rank = 1 OR min_rank = 1
        ORDER BY run_id, key
        """
    }

    /// Summaries per run from the rows, each metric's best taken in its direction.
    public static func summaries(_ rows: [MetricExtremeRow], directions: [String: MetricDirection]) -> [String: [MetricSummary]] {
        typealias Point = (step: Int, value: Double)
        var partial: [String: [String: (n: Int, final: Point?, max: Point?, min: Point?)]] = [:]
        for row in rows {
            let point = (row.step, row.value)
            var entry = partial[row.runID, default: [:]][row.key] ?? (n: row.count, final: nil, max: nil, min: nil)
            if row.isFinal { entry.final = point }
            if row.isMax { entry.max = point }
            if row.isMin { entry.min = point }
            partial[row.runID, default: [:]][row.key] = entry
        }
        var result: [String: [MetricSummary]] = [:]
        for (runID, keys) in partial {
            result[runID] = keys.keys.sorted().compactMap { key in
                let entry = keys[key]!
                let direction = directions[key] ?? MetricDirection.defaultDirection(forKey: key)
                guard let final = entry.final, let best = direction == .max ? entry.max : entry.min else { return nil }
                return MetricSummary(key: key, direction: direction, count: entry.n, finalStep: final.step,
                                     finalValue: final.value, bestStep: best.step, bestValue: best.value)
            }
        }
        return result
    }
}
