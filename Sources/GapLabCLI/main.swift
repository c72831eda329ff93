import ArgumentParser

struct GapLab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gaplab",
        abstract: "Train and compare CLIP, SharedCLIP and AlignCLIP on the CPU; sweep, track and report.",
        subcommands: [
            ListCommand.self, ShowCommand.self, CompareCommand.self, MetricsCommand.self, StatusCommand.self,
            RemoveCommand.self, GarbageCollectCommand.self, BenchStoreCommand.self,
            FakeTrainCommand.self, FakeSweepCommand.self,
        ])
}

GapLab.main()
