import Foundation
@testable import GapReport
import GapSpec
import GapStore
import XCTest

final class ReportTests: XCTestCase {
    private var folder: URL!
    private var storage: SQLiteStorage!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        storage = try FakeExperiment.build(in: folder)
    }

    override func tearDownWithError() throws {
        storage = nil
        try? FileManager.default.removeItem(at: folder)
    }

    private func builder() throws -> TableBuilder {
        TableBuilder(data: try ExperimentData.load(from: storage, experiment: FakeExperiment.name))
    }

    /// The known values of completed runs, computed straight from the fixture.
    private func known(_ variant: String, _ key: String) -> [Double] {
        FakeExperiment.values[variant]![key]!.compactMap { $0 }
    }

    private func independentMeanAndStd(_ values: [Double]) -> (Double, Double) {
        var sum = 0.0
        for v in values { sum += v }
        let mean = sum / Double(values.count)
        var squares = 0.0
        for v in values { squares += (v - mean) * (v - mean) }
        return (mean, (squares / Double(values.count - 1)).squareRoot())
    }

    func testArmsAxesAndSeedsComeFromTheStore() throws {
        let data = try ExperimentData.load(from: storage, experiment: FakeExperiment.name)
        XCTAssertEqual(data.arms.map(\.variant), ["clip", "shared", "align"])
        XCTAssertEqual(data.baseline?.variant, "clip")
        XCTAssertEqual(data.seeds, [0, 1, 2])
        // `runtime.threads` differs per run but describes the machine, not the design; `seed` is never an axis.
        XCTAssertEqual(data.axes, [SweptAxis(key: "loss.imsep_weight", isNumeric: true), SweptAxis(key: "model.sharing.depth", isNumeric: true)])
        XCTAssertEqual(data.arms[2].runs.map(\.record.status), [.completed, .completed, .failed])
    }

    func testSummariesMatchIndependentComputation() throws {
        let tables = try builder()
        for arm in tables.data.arms {
            for key in ReportColumns.keyMetrics {
                let values = known(arm.variant, key)
                let s = try XCTUnwrap(tables.summary(arm, key))
                let (mean, std) = independentMeanAndStd(values)
                XCTAssertEqual(s.n, values.count)
                XCTAssertEqual(s.mean, mean, accuracy: 1e-12, "\(arm.variant) \(key)")
                XCTAssertEqual(s.std, std, accuracy: 1e-12, "\(arm.variant) \(key)")
                // t(0.975, 2) = 4.302653, t(0.975, 1) = 12.706205.
                let quantile = values.count == 3 ? 4.3026527297 : 12.7062047362
                let half = quantile * std / Double(values.count).squareRoot()
                XCTAssertEqual(s.interval!.lowerBound, mean - half, accuracy: 1e-9)
                XCTAssertEqual(s.interval!.upperBound, mean + half, accuracy: 1e-9)
            }
        }
        // SciPy: mean, std and interval of clip's alignment.
        let clip = try XCTUnwrap(tables.summary(tables.data.arms[0], "test/alignment"))
        XCTAssertEqual(clip.interval!.lowerBound, 0.67031724576499341, accuracy: 1e-10)
        XCTAssertEqual(clip.interval!.upperBound, 0.76968275423500676, accuracy: 1e-10)
    }

    func testComparisonsUsePairedOrWelchAndHolm() throws {
        let comparisons = try builder().comparisons()
        XCTAssertEqual(comparisons.map { "\($0.variant) \($0.metric)" }, [
            "shared test/alignment", "shared test/centroid_gap", "shared test/i2t_r1", "shared test/t2i_r1",
            "align test/alignment", "align test/centroid_gap", "align test/i2t_r1", "align test/t2i_r1",
        ])
        // shared has seeds 0–2 like the baseline → paired; align lacks seed 2 → Welch.
        XCTAssertEqual(comparisons.map { $0.test?.kind }, Array(repeating: .paired, count: 4) + Array(repeating: .welch, count: 4))

        // References from SciPy (`ttest_rel`, `ttest_ind(equal_var=False)`).
        let referenceT = [11.547005383792529, -32.126980205784285, -0.5, -0.91766293548224709,
                          11.886087235395937, -19.087205886965979, 0.96076892283052129, -0.54232614454664574]
        let referenceDF = [2, 2, 2, 2, 2.1575262543757368, 2.9980879541108982, 1.1695501730103812, 2.4334792859548675]
        let referenceP = [0.0074166660290697151, 0.00096745237215532744, 0.66666666666666674, 0.45566894604818259,
                          0.0052670967166088892, 0.00031525989941969039, 0.49336575351661699, 0.63322819168171141]
        let referenceHolm = [0.037083330145348578, 0.0067721666050872924, 1, 1, 0.031602580299653335, 0.0025220791953575231, 1, 1]
        for (index, c) in comparisons.enumerated() {
            let test = try XCTUnwrap(c.test)
            XCTAssertEqual(test.t, referenceT[index], accuracy: 1e-8, c.metric)
            XCTAssertEqual(test.degreesOfFreedom, referenceDF[index], accuracy: 1e-9, c.metric)
            XCTAssertEqual(test.p, referenceP[index], accuracy: 1e-10, c.metric)
            XCTAssertEqual(c.adjustedP!, referenceHolm[index], accuracy: 1e-10, c.metric)
            let variant = c.variant
            XCTAssertEqual(c.difference, Statistics.mean(known(variant, c.metric)) - Statistics.mean(known("clip", c.metric)), accuracy: 1e-12)
        }

        // The same Holm values from the definition: sort, multiply by the remaining count, keep the running maximum.
        let order = referenceP.indices.sorted { referenceP[$0] < referenceP[$1] }
        var running = 0.0
        for (rank, index) in order.enumerated() {
            running = max(running, min(1, Double(referenceP.count - rank) * referenceP[index]))
            XCTAssertEqual(comparisons[index].adjustedP!, running, accuracy: 1e-12)
        }
    }

    func testMissingSeedIsShownWithFootnote() throws {
        let table = try builder().mainTable()
        let align = try XCTUnwrap(table.rows.first { $0.first == .text("align") })
        let alignment = TableRendering.markdownCell(align[1])
        XCTAssertTrue(alignment.hasSuffix("(n=2/3)†"), alignment)
        XCTAssertTrue(alignment.hasPrefix("**0.945** ± 0.021 [0.754, 1.136]"), alignment)
        let clip = TableRendering.markdownCell(table.rows[0][1])
        XCTAssertEqual(clip, "0.720 ± 0.020 [0.670, 0.770] (n=3/3)")
        XCTAssertTrue(table.notes.contains("† align: seed 2 failed."), "\(table.notes)")
        XCTAssertFalse(table.notes.contains { $0.hasPrefix("† clip") })
        // Δ columns carry the Holm-adjusted p of the comparisons (SciPy-based values in the test above).
        XCTAssertEqual(table.header.suffix(4), ["Δ alignment (p Holm)", "Δ centroid gap (p Holm)", "Δ i2t R@1 (p Holm)", "Δ t2i R@1 (p Holm)"])
        XCTAssertEqual(TableRendering.markdownCell(align[align.count - 4]), "+0.225 (p=0.0316)")
        XCTAssertEqual(TableRendering.markdownCell(table.rows[1][table.rows[1].count - 3]), "-0.283 (p=0.0068)")
        XCTAssertEqual(TableRendering.markdownCell(table.rows[0][table.rows[0].count - 4]), "–")
        // Lower centroid gap is better: align's 0.090 is bold.
        XCTAssertTrue(TableRendering.markdownCell(align[2]).hasPrefix("**0.090**"))
    }

    func testPendingAndUnplannedRunsAreCountedAsMissing() throws {
        let spec = RunSpec(runID: "late-seed0", experiment: FakeExperiment.name, variant: "late", shortName: "l", seed: 0,
                           configHash: "hash-late", configJSON: "{}", params: ["seed": .int(0), "model.sharing.depth": .int(4)])
        try storage.planRuns([spec])
        let tables = try builder()
        XCTAssertEqual(tables.data.arms.map(\.variant), ["clip", "shared", "align", "late"])
        let table = tables.mainTable()
        let late = try XCTUnwrap(table.rows.last)
        XCTAssertEqual(TableRendering.markdownCell(late[1]), "– (n=0/3)†")
        XCTAssertTrue(table.notes.contains("† late: seed 0 pending; seed 1 not planned; seed 2 not planned."), "\(table.notes)")
        // No values, so no test: the comparison family (and Holm's factor) is unchanged.
        XCTAssertFalse(tables.comparisons().contains { $0.variant == "late" })
        XCTAssertEqual(tables.comparisons().count, 8)
    }

    func testTable5AndAblationsExist() throws {
        let tables = try builder()
        let table5 = try XCTUnwrap(tables.table5())
        XCTAssertEqual(table5.header, ["variant"] + ReportColumns.table5Columns.map(MetricCatalog.label))
        XCTAssertEqual(table5.header[1], "zero-shot i2t R@1")
        XCTAssertEqual(table5.header[7], "fine-tuned i2t R@1")
        let ablations = tables.ablationTables()
        XCTAssertEqual(ablations.map(\.id), ["ablation_loss_imsep_weight", "ablation_model_sharing_depth"])
        // Ordered by IMSep weight: clip and shared (0) in plan order, then align (0.5).
        XCTAssertEqual(ablations[0].rows.map { $0[0] }, [.text("clip"), .text("shared"), .text("align")])
        XCTAssertEqual(ablations[0].rows.map { $0[1] }, [.text("0"), .text("0"), .text("0.5")])
    }

    func testWrittenMarkdownTablesAreWellFormed() throws {
        let out = folder.appendingPathComponent("report")
        try ReportWriter(storage: storage, options: ReportOptions(outputDirectory: out, storeDescription: "store.sqlite")).write(experiment: FakeExperiment.name)
        let text = try String(contentsOf: out.appendingPathComponent("README.md"), encoding: .utf8)
        var tableCount = 0
        var expectedCells: Int?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            guard line.hasPrefix("|") else { expectedCells = nil; continue }
            XCTAssertTrue(line.hasSuffix(" |"), line)
            let cells = Self.cellCount(line)
            if let expected = expectedCells {
                XCTAssertEqual(cells, expected, line)
            } else {
                expectedCells = cells
                tableCount += 1
            }
        }
        // Runs, main, Δ, Table 5, two ablations, embedding pictures.
        XCTAssertEqual(tableCount, 7)
        XCTAssertTrue(text.contains("(n=2/3)†"))
        XCTAssertTrue(text.contains("- Store: `store.sqlite`"))
        XCTAssertTrue(text.contains("gaplab run Experiments/fake.json train.epochs=2 --store store.sqlite"))
        XCTAssertTrue(text.contains("- Code: `abc123`"))
        XCTAssertTrue(text.contains("![PCA](figures/embeddings_pca_align.png)"))
        XCTAssertFalse(text.contains("curve_train_logit_scale"), "not logged by the fixture")
        for figure in ["alignment_vs_model_sharing_depth", "centroid_gap_vs_model_sharing_depth", "curve_train_loss",
                       "curve_val_alignment", "paired_cosine_cdf"] {
            XCTAssertTrue(text.contains("](figures/\(figure).svg)"), figure)
            for ext in ["svg", "png"] {
                XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("figures/\(figure).\(ext)").path), figure)
            }
        }
        let copied = try Data(contentsOf: out.appendingPathComponent("figures/embeddings_pca_align.png"))
        XCTAssertEqual(String(decoding: copied, as: UTF8.self), "picture of align seed 0")
    }

    /// Cells of a Markdown table row, not counting escaped pipes.
    static func cellCount(_ line: String) -> Int {
        var count = 0
        var previous: Character = " "
        for ch in line where ch == "|" || ch == "\\" {
            if ch == "|", previous != "\\" { count += 1 }
            previous = ch
        }
        return count - 1
    }

    func testCSVAndLaTeXHaveOneRowPerArm() throws {
        let out = folder.appendingPathComponent("report")
        try ReportWriter(storage: storage, options: ReportOptions(outputDirectory: out, formats: [.csv, .tex], storeDescription: "s"))
            .write(experiment: FakeExperiment.name)
        let wide = try String(contentsOf: out.appendingPathComponent("table_main.csv"), encoding: .utf8)
        let lines = wide.split(separator: "\n")
        XCTAssertEqual(lines.count, 4)
        XCTAssertTrue(lines[0].hasPrefix("variant,alignment mean,alignment std,alignment n,alignment expected,alignment ci95_low,alignment ci95_high"))
        XCTAssertTrue(lines[3].hasPrefix("align,0.94500000000000006,0.021213203435596"), String(lines[3]))
        let long = try String(contentsOf: out.appendingPathComponent("runs_long.csv"), encoding: .utf8)
        XCTAssertTrue(long.contains("fake,align,2,align-seed2,failed,train/loss,final,3.02"))
        let fields = long.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).count }
        XCTAssertEqual(Set(fields), [12])
        let tex = try String(contentsOf: out.appendingPathComponent("table_main.tex"), encoding: .utf8)
        XCTAssertTrue(tex.contains("\\begin{tabular}{lrrrr"))
        XCTAssertTrue(tex.contains("align & $\\mathbf{0.945} \\pm 0.021$ (2/3)$^\\dagger$"), tex)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("README.md").path))
    }

    func testRerunsAreByteIdentical() throws {
        let first = folder.appendingPathComponent("first"), second = folder.appendingPathComponent("second")
        let options = { (url: URL) in ReportOptions(outputDirectory: url, storeDescription: "store.sqlite", outputDescription: "Reports/fake") }
        let a = try ReportWriter(storage: storage, options: options(first)).write(experiment: FakeExperiment.name)
        // A fresh connection, as a second `gaplab report` would open.
        let reopened = try SQLiteStorage(location: StoreLocation(databaseURL: folder.appendingPathComponent("store.sqlite")), create: false)
        let b = try ReportWriter(storage: reopened, options: options(second)).write(experiment: FakeExperiment.name)
        XCTAssertEqual(a, b)
        XCTAssertTrue(a.contains("README.md") && a.contains("summary.json") && a.contains("figures/curve_train_loss.png"))
        for file in a {
            let x = try Data(contentsOf: first.appendingPathComponent(file)), y = try Data(contentsOf: second.appendingPathComponent(file))
            XCTAssertEqual(x, y, file)
        }
    }

    func testFiguresCarryMeansAndSpreadOverSeeds() throws {
        let figures = FigureBuilder(tables: try builder(), storage: storage)
        let depth = try XCTUnwrap(figures.axisFigures().first { $0.name == "alignment_vs_model_sharing_depth" })
        // clip and shared share IMSep weight 0, so they form one curve over depth; align (0.5) is its own.
        XCTAssertEqual(depth.plot.series.map(\.name), ["imsep_weight=0", "imsep_weight=0.5"])
        XCTAssertEqual(depth.plot.series[0].x, [0, 2])
        XCTAssertEqual(depth.plot.series[0].y[1], 0.92, accuracy: 1e-12)
        XCTAssertEqual(depth.plot.series[0].yError![0], 0.02, accuracy: 1e-12)
        XCTAssertEqual(depth.plot.series[1].yError![0], independentMeanAndStd([0.93, 0.96]).1, accuracy: 1e-12)

        // train/loss is 5 + seed/100 at step 0 and 3 + seed/100 at step 10; failed runs are left out.
        let curve = try XCTUnwrap(try figures.learningCurve("train/loss"))
        XCTAssertEqual(curve.plot.series.map(\.name), ["clip", "shared", "align"])
        XCTAssertEqual(curve.plot.series[0].x, [0, 10])
        XCTAssertEqual(curve.plot.series[0].y[0], 5.01, accuracy: 1e-12)
        XCTAssertEqual(curve.plot.series[0].bandUpper![0] - curve.plot.series[0].y[0], 0.01, accuracy: 1e-12)
        XCTAssertEqual(curve.plot.series[2].y[1], 3.005, accuracy: 1e-12)

        let cdf = try XCTUnwrap(figures.cosineCDF())
        for (x, expected) in zip(cdf.plot.series[0].x, [0.11, 0.51, 0.91]) { XCTAssertEqual(x, expected, accuracy: 1e-12) }
        XCTAssertEqual(cdf.plot.series[0].x.count, 3)
        XCTAssertEqual(cdf.plot.series[0].y, [0, 0.5, 1])
    }

    func testRegeneratingRemovesOnlyWhatTheLastReportWrote() throws {
        let out = folder.appendingPathComponent("report")
        try ReportWriter(storage: storage, options: ReportOptions(outputDirectory: out, storeDescription: "s")).write(experiment: FakeExperiment.name)
        let notes = out.appendingPathComponent("notes.txt")
        try Data("kept".utf8).write(to: notes)
        let written = try ReportWriter(storage: storage, options: ReportOptions(outputDirectory: out, formats: [.md], storeDescription: "s"))
            .write(experiment: FakeExperiment.name)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("table_main.csv").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("summary.json").path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("README.md").path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: notes.path))
        let manifest = try String(contentsOf: out.appendingPathComponent(ReportWriter.manifestName), encoding: .utf8)
        XCTAssertEqual(manifest, written.joined(separator: "\n") + "\n")
    }

    func testUnknownExperimentAndFormatAreClearErrors() throws {
        XCTAssertThrowsError(try ExperimentData.load(from: storage, experiment: "nope")) { error in
            XCTAssertEqual(error as? ReportError, .unknownExperiment("nope", known: ["fake"]))
        }
        XCTAssertEqual(try ReportFormat.parseList("md, CSV"), [.md, .csv])
        XCTAssertThrowsError(try ReportFormat.parseList("md,pdf")) { error in
            XCTAssertEqual(error as? ReportError, .unknownFormat("pdf"))
        }
    }

    func testBaselineCanBeChosen() throws {
        let data = try ExperimentData.load(from: storage, experiment: FakeExperiment.name, baseline: "shared")
        XCTAssertEqual(data.arms.map(\.variant), ["shared", "clip", "align"])
        let comparisons = TableBuilder(data: data).comparisons()
        XCTAssertEqual(comparisons.first?.variant, "clip")
        // Same seeds as shared → paired; the difference changes sign with the roles.
        XCTAssertEqual(comparisons[0].test?.kind, .paired)
        XCTAssertEqual(comparisons[0].test!.t, -11.547005383792529, accuracy: 1e-9)
        XCTAssertThrowsError(try ExperimentData.load(from: storage, experiment: FakeExperiment.name, baseline: "nope")) { error in
            XCTAssertEqual(error as? ReportError, .unknownVariant("nope", known: ["clip", "shared", "align"]))
        }
    }

    func testReductionRulesAreAppliedAndStated() throws {
        var tables = try builder()
        tables.reductions = ["test/alignment": .best]
        let table = tables.mainTable()
        XCTAssertTrue(table.notes[0].contains("except the best value over all steps for `test/alignment`"), table.notes[0])

        // val/alignment is 0.5 + seed/100 at step 5 and 0.6 + seed/100 at step 10 in every run.
        let data = try ExperimentData.load(from: storage, experiment: FakeExperiment.name, historyKeys: ["val/alignment"])
        let atStep = TableBuilder(data: data, reductions: ["val/alignment": .atStep(7)])
        XCTAssertEqual(atStep.summary(data.arms[0], "val/alignment")!.mean, 0.51, accuracy: 1e-12)
        XCTAssertEqual(atStep.summary(data.arms[2], "val/alignment")!.mean, 0.505, accuracy: 1e-12)
        XCTAssertEqual(TableBuilder(data: data).summary(data.arms[0], "val/alignment")!.mean, 0.61, accuracy: 1e-12)
        XCTAssertNil(TableBuilder(data: data, reductions: ["val/alignment": .atStep(4)]).summary(data.arms[0], "val/alignment"))
        XCTAssertTrue(atStep.mainTable().header.contains("val alignment"))
        XCTAssertTrue(atStep.reductionNote(["val/alignment"]).contains("the value at the last logged step ≤ 7 for `val/alignment`"))

        XCTAssertEqual(try Reduction.parseRule("val/alignment=best").reduction, .best)
        XCTAssertEqual(try Reduction.parseRule("a=b=12").key, "a=b")
        XCTAssertEqual(try Reduction.parseRule("val/alignment=12").reduction, .atStep(12))
        XCTAssertThrowsError(try Reduction.parseRule("val/alignment=soon"))
        XCTAssertThrowsError(try Reduction.parseRule("=best"))
    }
}
