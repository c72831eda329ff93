import Foundation
import GapReport
import GapStore
import XCTest

/// An arm is one configuration over its seeds: a variant swept over a grid gives one arm per grid point.
final class ArmGroupingTests: XCTestCase {
    func testGridPointsOfOneVariantAreSeparateArms() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-arms-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let storage = try SQLiteStorage(location: StoreLocation(databaseURL: folder.appendingPathComponent("s.sqlite")))
        try storage.addExperiment(ExperimentRecord(name: "grid", description: "d", definitionJSON: "{}", overrides: [],
                                                   createdAt: Date(timeIntervalSince1970: 1_700_000_000)))
        var specs = [RunSpec]()
        for (index, lr) in [0.1, 0.2].enumerated() {
            for seed in [0, 1] {
                specs.append(RunSpec(runID: "r\(index)-\(seed)", experiment: "grid", variant: "clip",
                                     shortName: index == 0 ? "clip" : "clip lr=0.2", seed: seed, configHash: "h\(index)",
                                     configJSON: "{}", params: ["seed": .int(seed), "train.lr": .double(lr)]))
            }
        }
        try storage.planRuns(specs)
        while let claim = try storage.claimNextRun(experiment: "grid", worker: "w", leaseSeconds: 60, codeVersion: "v") {
            let lr = claim.runID.hasPrefix("r0") ? 0.1 : 0.2
            try storage.logMetrics(runID: claim.runID, [MetricPoint(key: "test/alignment", step: 1, value: lr + Double(claim.run.seed))])
            try storage.finishRun(runID: claim.runID, worker: "w", attempt: claim.attempt, outcome: RunOutcome(status: .completed, exitStatus: 0, errorTail: nil))
        }
        let data = try ExperimentData.load(from: storage, experiment: "grid")
        XCTAssertEqual(data.arms.map(\.variant), ["clip", "clip lr=0.2"])
        XCTAssertEqual(data.arms.map { $0.runs.count }, [2, 2])
        XCTAssertEqual(data.axes.map(\.key), ["train.lr"])
    }
}
