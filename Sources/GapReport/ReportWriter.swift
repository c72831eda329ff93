import Foundation
import GapPlot
import GapSpec
import GapStore

public enum ReportFormat: String, CaseIterable, Sendable {
    case md, csv, tex, json

    /// Parses `md,csv,tex,json` (any subset, any order).
    public static func parseList(_ text: String) throws -> Set<ReportFormat> {
        var formats = Set<ReportFormat>()
        for part in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) where !part.isEmpty {
            guard let format = ReportFormat(rawValue: part == "markdown" ? "md" : part) else { throw ReportError.unknownFormat(part) }
            formats.insert(format)
        }
        guard !formats.isEmpty else { throw ReportError.unknownFormat(text) }
        return formats
    }
}

public struct ReportOptions: Sendable {
    public var outputDirectory: URL
    public var formats: Set<ReportFormat>
    /// The store as the user named it, shown in the header and the reproduce commands.
    public var storeDescription: String
    /// The output folder as the user named it, for the reproduce command.
    public var outputDescription: String
    /// How metric keys are reduced to one number per run; keys not listed use their final value.
    public var reductions: [String: Reduction]
    /// The experiment file to show in the reproduce command; nil derives it from the runs' recorded command line.
    public var definitionFile: String?
    /// The variant the others are compared with; nil means the first variant planned.
    public var baseline: String?

    public init(outputDirectory: URL, formats: Set<ReportFormat> = Set(ReportFormat.allCases), storeDescription: String,
                outputDescription: String? = nil, reductions: [String: Reduction] = [:], definitionFile: String? = nil,
                baseline: String? = nil) {
        self.baseline = baseline
        self.outputDirectory = outputDirectory
        self.formats = formats
        self.storeDescription = storeDescription
        self.outputDescription = outputDescription ?? outputDirectory.path
        self.reductions = reductions
        self.definitionFile = definitionFile
    }
}

/// Writes a report folder for one experiment: README.md, CSV, LaTeX, JSON and figures. Everything written
/// depends only on the store's contents and the options, so the same store gives byte-identical files.
public struct ReportWriter {
    public var storage: Storage
    public var options: ReportOptions

    public init(storage: Storage, options: ReportOptions) {
        self.storage = storage
        self.options = options
    }

    /// Returns the files written, relative to the output folder, sorted.
    @discardableResult
    public func write(experiment name: String) throws -> [String] {
        let stepKeys = Set(options.reductions.compactMap { key, reduction -> String? in
            if case .atStep = reduction { return key }
            return nil
        })
        let data = try ExperimentData.load(from: storage, experiment: name, baseline: options.baseline, historyKeys: stepKeys)
        let tables = TableBuilder(data: data, reductions: options.reductions)
        let header = ReportHeader(data: data, options: options)
        var allTables = [tables.mainTable()]
        if let delta = tables.comparisonTable() { allTables.append(delta) }
        if let table5 = tables.table5() { allTables.append(table5) }
        allTables += tables.ablationTables()

        var written = [String]()
        let folder = options.outputDirectory
        try createFolder(folder)
        func put(_ relative: String, _ text: String) throws {
            let url = folder.appendingPathComponent(relative)
            try createFolder(url.deletingLastPathComponent())
            do { try Data(text.utf8).write(to: url) } catch { throw ReportError.io(path: url.path, reason: "cannot write: \(error.localizedDescription)") }
            written.append(relative)
        }

        if options.formats.contains(.csv) {
            try put("runs_long.csv", ReportExports.longCSV(data, tables))
            for table in allTables { try put("table_\(table.id).csv", TableRendering.csv(table)) }
        }
        if options.formats.contains(.tex) {
            for table in allTables { try put("table_\(table.id).tex", TableRendering.latex(table)) }
        }
        if options.formats.contains(.json) {
            try put("summary.json", ReportExports.json(data, tables, header))
        }
        if options.formats.contains(.md) {
            let figureBuilder = FigureBuilder(tables: tables, storage: storage)
            var figureSections = [String]()
            for figure in try figureBuilder.figures() {
                let base = folder.appendingPathComponent("figures/\(figure.name)")
                try figure.plot.drawing().write(to: base)
                written += ["figures/\(figure.name).svg", "figures/\(figure.name).png"]
                figureSections.append("![\(figure.plot.title)](figures/\(figure.name).svg)\n\n\(figure.caption) PNG: [figures/\(figure.name).png](figures/\(figure.name).png)\n")
            }
            let pictures = try copyEmbeddingPictures(try figureBuilder.embeddingPictures(), into: folder)
            written += pictures.files
            try put("README.md", ReportMarkdown.document(header: header, tables: allTables, figures: figureSections,
                                                       pictureTable: pictures.table, data: data))
        }
        try removeStaleFiles(keeping: written)
        return written.sorted()
    }

    /// Copies each run's PCA picture of its embeddings into the report's figures folder. Returns the files
    /// copied and the markdown table that shows them side by side (nil when no run saved one).
    private func copyEmbeddingPictures(_ pictures: [(arm: Arm, seed: Int, source: URL)],
                                       into folder: URL) throws -> (files: [String], table: String?) {
        guard !pictures.isEmpty else { return ([], nil) }
        var names = [String]()
        for picture in pictures {
            let relative = "figures/embeddings_pca_\(TableBuilder.slug(picture.arm.variant)).png"
            let target = folder.appendingPathComponent(relative)
            try createFolder(target.deletingLastPathComponent())
            do {
                try Data(contentsOf: picture.source).write(to: target)
            } catch {
                throw ReportError.io(path: picture.source.path, reason: "cannot copy to \(target.path): \(error.localizedDescription)")
            }
            names.append(relative)
        }
        let table = TextTable(header: pictures.map { "\($0.arm.variant) (seed \($0.seed))" },
                              rows: [names.map { "![PCA](\($0))" }]).markdown()
        return (names, table)
    }

    /// The list of files the last report wrote into its folder.
    public static let manifestName = ".report-files"

    /// Deletes what an earlier report wrote and this one did not (e.g. the table of an axis no longer swept),
    /// so a regenerated folder never mixes two reports; files the report never wrote are left alone.
    private func removeStaleFiles(keeping written: [String]) throws {
        let manifest = options.outputDirectory.appendingPathComponent(Self.manifestName)
        if let previous = try? String(contentsOf: manifest, encoding: .utf8) {
            let keep = Set(written)
            for line in previous.split(separator: "\n").map(String.init) where !keep.contains(line) && !line.contains("..") {
                try? FileManager.default.removeItem(at: options.outputDirectory.appendingPathComponent(line))
            }
        }
        do {
            try Data((written.sorted().joined(separator: "\n") + "\n").utf8).write(to: manifest)
        } catch {
            throw ReportError.io(path: manifest.path, reason: "cannot write: \(error.localizedDescription)")
        }
    }

    private func createFolder(_ url: URL) throws {
        do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
            throw ReportError.io(path: url.path, reason: "cannot create folder: \(error.localizedDescription)")
        }
    }
}
