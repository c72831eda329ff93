import ArgumentParser
import Foundation
import GapEngine

// See BLASKernel: restart once with OpenBLAS's matching kernel when it fell back to the generic one.
if let core = BLASKernel.restartCoreType() {
    setenv("OPENBLAS_CORETYPE", core, 1)
    execv("/proc/self/exe", CommandLine.unsafeArgv)
}

struct GapLab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gaplab",
        abstract: "Train and compare CLIP, SharedCLIP and AlignCLIP on the CPU; sweep, track and report.",
        subcommands: [
            RunCommand.self, TrainCommand.self, SlurmCommand.self, WorkerCommand.self, ValidateCommand.self, PlanCommand.self, ReportCommand.self, ReportSummaryCommand.self, EvalCommand.self, DataCommand.self,
            ListCommand.self, ShowCommand.self, CompareCommand.self, MetricsCommand.self, StatusCommand.self,
            RemoveCommand.self, GarbageCollectCommand.self, StoreCommand.self,
            InitCommand.self, EncodeCommand.self, DevCommand.self, TrainRunCommand.self,
        ])
}

/// Engineering tools, kept out of the researcher's command list.
struct DevCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Engineering tools: engine and store benchmarks, the kernel profile, the fake trainer of the tests.",
        subcommands: [BenchCommand.self, BenchStoreCommand.self, FakeTrainCommand.self, FakeSweepCommand.self])
}

GapLab.main()
