import GapEngine
import XCTest
import GapSpec
@testable import GapEval

final class EvaluationReportTests: XCTestCase {
    let engine = EngineContext()
    func testKeysAndDirections() throws {
        let images = try randomUnitRows(30, 8, seed: 1)
        let texts = try cone(30, 8, axis: 0, noiseAxes: [1, 2, 3], spread: 1, seed: 2)
        let geometry = try GeometryMetrics.compute(engine: engine, images: images, texts: texts)
        let retrieval = try Retrieval.evaluate(engine: engine, images: images, texts: texts, captionImage: Array(0..<30))
        let zeroShot = try ZeroShot.evaluate(engine: engine, images: images, labels: Array(repeating: 0, count: 30),
                                             classWeights: EmbeddingMatrix(values: Array(images.values[0..<48]), rows: 6, dim: 8))
        let probe = LinearProbeResult(accuracy: 0.75, trainAccuracy: 0.9, classes: 4)
        let weights = try EmbeddingMatrix(values: Array(images.values[0..<48]), rows: 6, dim: 8)
        let task = ZeroShotTask(images: images, labels: Array(repeating: 0, count: 30), classWeights: weights)
        let shift = try PosthocShift.sweep(engine: engine, images: images, texts: texts, deltas: [0.5], ks: [1], zeroShot: ["shape": task])
        let report = EvaluationReport(geometry: geometry, retrieval: retrieval, zeroShot: ["shape": zeroShot],
                                      linearProbe: ["shape": probe], shift: shift)
        let metrics = report.metrics
        for key in ["alignment", "paired_angle_deg", "centroid_gap", "separation", "uniformity_image", "uniformity_text",
                    "separability", "paired_cos_q000", "paired_cos_q050", "paired_cos_q100",
                    "i2t_r1", "i2t_r5", "i2t_r10", "t2i_r1", "t2i_r5", "t2i_r10",
                    "i2t_mean_rank", "i2t_median_rank", "t2i_mean_rank", "t2i_median_rank",
                    "zeroshot_shape_top1", "zeroshot_shape_top5", "probe_shape_acc",
                    "shift_0.5/alignment", "shift_0.5/centroid_gap", "shift_0.5/i2t_r1", "shift_0.5/zeroshot_shape_top1"] {
            XCTAssertNotNil(metrics[key], key)
        }
        XCTAssertEqual(metrics["alignment"], geometry.alignment)
        XCTAssertEqual(metrics["probe_shape_acc"], 0.75)
        XCTAssertEqual(metrics["i2t_r5"], retrieval.imageToTextRecall[5])
        XCTAssertEqual(report.metrics(prefix: "finetuned")["finetuned/i2t_r1"], retrieval.imageToTextRecall[1])
        // The catalog describes every key the evaluation emits, and every catalog entry is emitted.
        for key in metrics.keys {
            XCTAssertNotNil(MetricCatalog.entry(for: key), "no catalog entry for \(key)")
        }
        for entry in MetricCatalog.entries {
            XCTAssertTrue(metrics.keys.contains { MetricCatalog.entry(for: $0) == entry }, "\(entry.key) is never emitted")
            XCTAssertFalse(entry.description.isEmpty, entry.key)
        }
        XCTAssertEqual(MetricCatalog.direction(of: "shift_0.5/centroid_gap"), .min)
        XCTAssertEqual(MetricCatalog.direction(of: "finetuned/t2i_r10"), .max)
        XCTAssertEqual(MetricCatalog.direction(of: "separability"), .min)
        XCTAssertEqual(MetricCatalog.direction(of: "test/paired_cos_q005"), .max)
        XCTAssertEqual(MetricCatalog.entry(for: "zeroshot_shape_colour_top5")?.key, "zeroshot_<axis>_top<k>")
        XCTAssertNil(MetricCatalog.entry(for: "train/loss"))
        XCTAssertNil(MetricCatalog.entry(for: "i2t_rx"))
        XCTAssertNil(MetricCatalog.entry(for: "paired_cos_q"))
        XCTAssertEqual(EvaluationReport.deltaKey(1), "1")
        XCTAssertEqual(EvaluationReport.deltaKey(0.25), "0.25")
    }
}

final class EvaluationRunTests: XCTestCase {
    let engine = EngineContext()
    func testRunFollowsTheConfiguration() throws {
        let images = try cone(20, 6, axis: 0, noiseAxes: [2, 3, 4, 5], spread: 0.5, seed: 1)
        var texts = images.values
        for i in 0..<20 { texts[i * 6] = images.values[i * 6 + 1]; texts[i * 6 + 1] = images.values[i * 6] }
        let captions = try EmbeddingMatrix(values: texts + texts, rows: 40, dim: 6)
        let weights = try EmbeddingMatrix(rows: [[1, 0, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0]])
        let task = ZeroShotTask(images: images, labels: Array(repeating: 0, count: 20), classWeights: weights)
        let probe = LinearProbeTask(trainFeatures: images, trainLabels: (0..<20).map { $0 % 2 },
                                    testFeatures: images, testLabels: (0..<20).map { $0 % 2 })
        let input = EvaluationInput(images: images, texts: captions, captionImage: Array(0..<20) + Array(0..<20),
                                    zeroShot: ["shape": task], linearProbe: ["shape": probe])
        var config = EvalConfig()
        config.posthocShift = [0, 0.5]
        config.pictures = false
        let full = try Evaluation.run(engine: engine, input, config: config, seed: 3)
        XCTAssertEqual(full.shift.map(\.delta), [0, 0.5])
        XCTAssertNotNil(full.linearProbe["shape"])
        XCTAssertEqual(full.zeroShot["shape"], try task.evaluate(engine: engine))
        XCTAssertEqual(full.retrieval?.imageToTextRanks.count, 20)
        XCTAssertEqual(full.retrieval?.textToImageRanks.count, 40)
        XCTAssertEqual(full.geometry?.sortedPairedCosines.count, 40)
        let cheap = try Evaluation.run(engine: engine, input, config: config, seed: 3, cheap: true)
        XCTAssertTrue(cheap.shift.isEmpty && cheap.linearProbe.isEmpty)
        XCTAssertEqual(cheap.geometry, full.geometry)
        XCTAssertThrowsError(try Evaluation.run(engine: engine, EvaluationInput(images: images, texts: captions), config: config))
    }
}
