import Foundation
import GapReport
import GapStore
import XCTest

/// Reports/README.md is written from the reports' summaries: the sharing, IMSep and downstream lines carry the
/// reports' means, differences and Holm-adjusted tests.
final class ReportsSummaryTests: XCTestCase {
    func testSummaryAnswersTheThreeQuestionsFromTheReports() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-summary-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let storage = try FakeExperiment.build(in: folder)
        let reports = folder.appendingPathComponent("Reports")
        try ReportWriter(storage: storage, options: ReportOptions(outputDirectory: reports.appendingPathComponent("fake"), storeDescription: "s"))
            .write(experiment: FakeExperiment.name)
        let text = try ReportsSummary(directory: reports).markdown()
        // Sharing: shared (depth 2, no IMSep) against clip; means 0.72 → 0.92 from FakeExperiment's values.
        XCTAssertTrue(text.contains("**s** against **c** (3/3 runs and 3/3 runs): alignment 0.720 → 0.920 (+0.200; significant at 5% after Holm, p = 0.0371, paired"), text)
        // IMSep: align against shared, the arm that differs only by IMSep; seed 2 of align failed.
        XCTAssertTrue(text.contains("**a** against **s** (2/3 runs and 3/3 runs): alignment 0.920 → 0.945 (+0.025; not tested in the report)"), text)
        XCTAssertTrue(text.contains("[fake](fake/README.md) | 8/9 |"), text)
        XCTAssertTrue(text.contains("i2t R@1 0.310 → 0.330"), text)
        // Verdicts, with the differences of means computed here from FakeExperiment's values.
        func mean(_ variant: String, _ key: String) -> Double {
            let xs = FakeExperiment.values[variant]![key]!.compactMap { $0 }
            return xs.reduce(0, +) / Double(xs.count)
        }
        let alignment = mean("shared", "test/alignment") - mean("clip", "test/alignment")
        let gap = mean("shared", "test/centroid_gap") - mean("clip", "test/centroid_gap")
        let sharingRow = String(format: "| 2 epochs (`fake`) | shared blocks only | **holds** | 1/1 | 2 of 2 tests | %+.3f | %+.3f | – |",
                                alignment, gap)
        XCTAssertTrue(text.contains(sharingRow), "\(sharingRow)\n\(text)")
        // Sharing lowers i2t R@1 here (0.310 → 0.307), so the downstream claim fails for it and is listed.
        XCTAssertLessThan(mean("shared", "test/i2t_r1"), mean("clip", "test/i2t_r1"))
        XCTAssertTrue(text.contains("| 2 epochs (`fake`) | shared blocks only | **does not hold** | 0/1 |"), text)
        XCTAssertTrue(text.contains("- 3. downstream retrieval, shared blocks only, 2 epochs: **does not hold** (0 of 1 comparisons"), text)
        XCTAssertFalse(text.contains("- 1. sharing reduces the gap"), text)
        // Deterministic.
        XCTAssertEqual(text, try ReportsSummary(directory: reports).markdown())
    }
}
