import Foundation
import GapStore

/// A store filled as a trainer would, with known end-of-run metrics: three variants × seeds 0–2, the third
/// variant's seed 2 failed before evaluation.
struct FakeExperiment {
    static let name = "fake"
    static let variants = ["clip", "shared", "align"]
    static let seeds = [0, 1, 2]

    /// Final values per variant and metric, indexed by seed; nil = the run failed.
    static let values: [String: [String: [Double?]]] = [
        "clip": ["test/alignment": [0.70, 0.74, 0.72], "test/centroid_gap": [0.45, 0.40, 0.43],
                 "test/i2t_r1": [0.30, 0.32, 0.31], "test/t2i_r1": [0.28, 0.30, 0.33]],
        "shared": ["test/alignment": [0.90, 0.91, 0.95], "test/centroid_gap": [0.15, 0.12, 0.16],
                   "test/i2t_r1": [0.29, 0.33, 0.30], "test/t2i_r1": [0.27, 0.31, 0.29]],
        "align": ["test/alignment": [0.93, 0.96, nil], "test/centroid_gap": [0.10, 0.08, nil],
                  "test/i2t_r1": [0.31, 0.35, nil], "test/t2i_r1": [0.30, 0.29, nil]],
    ]

    static let depth = ["clip": 0, "shared": 2, "align": 2]
    static let imsep: [String: Double] = ["clip": 0, "shared": 0, "align": 0.5]

    static func runID(_ variant: String, _ seed: Int) -> String { "\(variant)-seed\(seed)" }

    /// Builds the store in `folder` and returns it.
    @discardableResult
    static func build(in folder: URL) throws -> SQLiteStorage {
        let storage = try SQLiteStorage(location: StoreLocation(databaseURL: folder.appendingPathComponent("store.sqlite")))
        try storage.addExperiment(ExperimentRecord(name: name, description: "Known metrics for report tests.",
                                                   definitionJSON: "{}", overrides: ["train.epochs=2"],
                                                   createdAt: Date(timeIntervalSince1970: 1_700_000_000)))
        var specs = [RunSpec]()
        for variant in variants {
            for seed in seeds {
                specs.append(RunSpec(runID: runID(variant, seed), experiment: name, variant: variant, shortName: String(variant.prefix(1)),
                                     seed: seed, configHash: "hash-\(variant)", configJSON: "{}",
                                     params: ["seed": .int(seed), "model.sharing.depth": .int(depth[variant]!),
                                              "loss.imsep_weight": .double(imsep[variant]!), "train.epochs": .int(2),
                                              "runtime.threads": .int(seed + 1)]))
            }
        }
        try storage.planRuns(specs)
        while let claim = try storage.claimNextRun(experiment: name, worker: "w", leaseSeconds: 60, codeVersion: "v1") {
            let variant = claim.run.variant, seed = claim.run.seed
            try storage.setEnvironment(runID: claim.runID, attempt: claim.attempt,
                                       ["git_commit": "abc123", "command_line": "gaplab run /src/Experiments/fake.json --store s.sqlite"])
            // Learning curves: two logged steps and a validation point per epoch.
            let offset = Double(seed) * 0.01
            try storage.logMetrics(runID: claim.runID, [
                MetricPoint(key: "train/loss", step: 0, value: 5 + offset), MetricPoint(key: "train/loss", step: 10, value: 3 + offset),
                MetricPoint(key: "val/alignment", step: 5, value: 0.5 + offset, epoch: 1),
                MetricPoint(key: "val/alignment", step: 10, value: 0.6 + offset, epoch: 2),
            ])
            let finals = values[variant]!
            guard finals["test/alignment"]![seed] != nil else {
                try storage.finishRun(runID: claim.runID, worker: "w", attempt: claim.attempt,
                                      outcome: RunOutcome(status: .failed, exitStatus: 1, errorTail: "diverged"))
                continue
            }
            var points = [MetricPoint]()
            for (key, perSeed) in finals { points.append(MetricPoint(key: key, step: 10, value: perSeed[seed]!)) }
            for (q, cosine) in [(0, 0.1), (50, 0.5), (100, 0.9)] {
                points.append(MetricPoint(key: String(format: "test/paired_cos_q%03d", q), step: 10, value: cosine + offset))
            }
            for stage in ["zeroshot", "finetuned"] {
                for metric in ["i2t_r1", "i2t_r5", "i2t_r10", "t2i_r1", "t2i_r5", "t2i_r10"] {
                    points.append(MetricPoint(key: "\(stage)/\(metric)", step: 10, value: (stage == "zeroshot" ? 0.2 : 0.4) + offset))
                }
            }
            try storage.logMetrics(runID: claim.runID, points)
            let picture = storage.artifactDirectory(runID: claim.runID).appendingPathComponent("pictures/embeddings_pca.png")
            try FileManager.default.createDirectory(at: picture.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data("picture of \(variant) seed \(seed)".utf8).write(to: picture)
            try storage.addArtifact(runID: claim.runID, name: "embeddings_pca.png", file: picture)
            try storage.finishRun(runID: claim.runID, worker: "w", attempt: claim.attempt, outcome: RunOutcome(status: .completed, exitStatus: 0))
        }
        return storage
    }
}
