import ArgumentParser

struct GapLab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gaplab",
        abstract: "Train and compare CLIP, SharedCLIP and AlignCLIP on the CPU; sweep, track and report.",
        subcommands: [ValidateCommand.self, PlanCommand.self, InitCommand.self, EncodeCommand.self, BenchCommand.self])
}

GapLab.main()
