import GapStore

/// Synthetic runs for testing the store and the runner with `gaplab dev fake-train` children: the run ids and
/// configurations that `gaplab dev fake-sweep --plan` plans, so tests and processes agree on them.
public enum FakeRuns {
    public static func specs(experiment: String, count: Int, epochs: Int, stepsPerEpoch: Int) -> [RunSpec] {
        (0..<count).map { index in
            let variant = "v\(index % 4)"
            let json = "{\"fake\":{\"steps_per_epoch\":\(stepsPerEpoch)},\"seed\":\(index),\"train\":{\"epochs\":\(epochs)}}"
            return RunSpec(runID: String(format: "%@-%05d", experiment, index), experiment: experiment, variant: variant,
                           shortName: variant, seed: index, configHash: String(format: "%016x", index), configJSON: json,
                           params: ["fake.steps_per_epoch": .int(stepsPerEpoch), "train.epochs": .int(epochs),
                                    "seed": .int(index), "variant.index": .double(Double(index % 4) / 4)])
        }
    }
}
