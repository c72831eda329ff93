import Foundation
import GapSpec

/// `csv:PATH[?img_key=filepath&caption_key=title&sep=\t&label_key=NAME]`: open_clip's CsvDataset convention.
/// Image paths are relative to the table's directory. Rows naming the same image become one image with several
/// captions. A row with an empty caption, a missing field or a bad image is skipped and reported with its line
/// number (or is an error with `strict=true`).
struct CSVSource: DatasetSource {
    let table: URL
    let imageKey: String
    let captionKey: String
    let labelKey: String?
    let separator: Character

    init(spec: DatasetSpec, path: String) throws {
        table = URL(fileURLWithPath: path)
        // Defaults from `DatasetCatalog`.
        imageKey = spec.string("img_key")!
        captionKey = spec.string("caption_key")!
        labelKey = spec.string("label_key")
        separator = try CSVTable.separator(spec.string("sep")!)
        guard DataPaths.exists(table) else { throw DataError.missing(table.path, "the caption table of csv:\(path) does not exist") }
    }

    struct Entry {
        var path: URL
        var display: String
        var firstLine: Int
        var captions: [String]
        var label: String?
    }

    func readTable() throws -> (entries: [Entry], problems: [(String, String)]) {
        let data: Data
        do { data = try Data(contentsOf: table) } catch { throw DataError.unreadable(table.path, error.localizedDescription) }
        guard var text = String(data: data, encoding: .utf8) else { throw DataError.invalid("\(table.path): not UTF-8 text") }
        // Spreadsheet exports often start with a byte-order mark, which would otherwise stick to the first column name.
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        let parsed = try CSVTable.parse(text, separator: separator, source: table.path)
        func column(_ key: String) throws -> Int {
            guard let i = parsed.header.firstIndex(of: key) else {
                let shown = separator == "\t" ? "tab" : "\"\(separator)\""
                throw DataError.invalid("\(table.path) line 1: no column \"\(key)\"; the header has \(parsed.header.count) column(s) \(parsed.header.map { "\"\($0)\"" }.joined(separator: ", ")) when split on \(shown) (set img_key, caption_key or sep)")
            }
            return i
        }
        let imageColumn = try column(imageKey), captionColumn = try column(captionKey)
        let labelColumn = try labelKey.map { try column($0) }
        let base = table.deletingLastPathComponent()
        var entries: [Entry] = [], byPath: [String: Int] = [:], problems: [(String, String)] = []
        for row in parsed.rows {
            let needed = max(imageColumn, captionColumn, labelColumn ?? 0) + 1
            let at = "\(table.lastPathComponent) line \(row.line)"
            guard row.fields.count >= needed else { problems.append((at, "\(row.fields.count) field(s), expected \(parsed.header.count)")); continue }
            let file = row.fields[imageColumn], caption = row.fields[captionColumn]
            guard !file.isEmpty else { problems.append((at, "empty \(imageKey)")); continue }
            guard !caption.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { problems.append((at, "empty caption (\(captionKey))")); continue }
            let url = file.hasPrefix("/") ? URL(fileURLWithPath: file) : base.appendingPathComponent(file)
            let key = url.standardizedFileURL.path
            if let existing = byPath[key] {
                entries[existing].captions.append(caption)
            } else {
                byPath[key] = entries.count
                entries.append(Entry(path: url, display: "\(at) (\(file))", firstLine: row.line, captions: [caption],
                                     label: labelColumn.map { row.fields[$0] }))
            }
        }
        return (entries, problems)
    }

    func contentDigest() throws -> String {
        let (entries, _) = try readTable()
        return try ContentHash.sha256(files: [table] + entries.map { $0.path })
    }

    func load(config: DataConfig, imageSize: Int, options: LoadOptions) throws -> SourceSplits {
        var (entries, problems) = try readTable()
        var report = LoadReport(dataset: config.dataset)
        report.source = table.path
        if options.strict, let first = problems.first { throw DataError.invalid("\(first.0): \(first.1)") }
        for p in problems { report.skip(p.0, reason: p.1) }
        let decoded = ImageFiles.load(entries.map { $0.path }, size: imageSize, fit: options.fit)
        if options.strict, let first = decoded.failures.first { throw DataError.invalid("\(entries[first.0].display): \(first.1)") }
        for (i, reason) in decoded.failures { report.skip(entries[i].display, reason: reason) }
        entries = decoded.decoded.map { entries[$0] }
        let all = ImageTextDataset(name: "all", imageWidth: imageSize, imageHeight: imageSize, pixels: decoded.pixels,
                                   captionsPerImage: entries.map { $0.captions },
                                   labelAxes: labelKey.map { key in
                                       let names = Array(Set(entries.compactMap { $0.label })).sorted()
                                       return [LabelAxis(name: key, classNames: names, labels: entries.map { e in e.label.flatMap { names.firstIndex(of: $0) } ?? -1 },
                                                         templates: ["a photo of a {}.", "a {}.", "an image of a {}.", "a picture of the {}."])]
                                   } ?? [],
                                   sourceIDs: entries.map { $0.path.path })
        let plan = SplitPlan.make(count: all.imageCount, trainSize: config.trainSize, valSize: config.valSize, testSize: config.testSize, seed: config.splitSeed)
        report.notes += plan.notes
        return SourceSplits(splits: [all.subset(plan.train, name: "train"), all.subset(plan.val, name: "val"), all.subset(plan.test, name: "test")], report: report)
    }
}
