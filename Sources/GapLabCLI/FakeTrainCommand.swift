import ArgumentParser
import Foundation
import GapRunner
import GapStore
import GapStorePostgres
#if canImport(Glibc)
import Glibc
#endif

/// A stand-in trainer for testing the store and the runner: reads its run's configuration from the store,
/// "trains" a deterministic toy state for `train.epochs` × `fake.steps_per_epoch` steps, logs a metric per
/// step, checkpoints every epoch into the run's artifact folder and resumes from the last checkpoint.
///
/// Fault injection through the environment:
/// - `GAPLAB_FAKE_STEP_SLEEP=SECONDS` sleeps before every step;
/// - `GAPLAB_FAKE_CRASH=exit|abort` crashes (exit status 3, or SIGABRT) after `GAPLAB_FAKE_CRASH_STEP` steps
///   of the run (default 0), only for runs of variant `GAPLAB_FAKE_CRASH_VARIANT` when that is set.
struct FakeTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fake-train",
        abstract: "Run one planned run with a deterministic stand-in trainer (for testing the runner).")

    @Option(help: "The store: SQLite path or postgresql:// URL.")
    var store: String

    @Option(name: .customLong("run"), help: "Run ID.")
    var runID: String

    func run() throws {
        ParentWatch.exitWhenRunnerDies()
        let environment = ProcessInfo.processInfo.environment
        let started = Date()
        let storage = MeasuredStorage(try StoreOpener.open(store: store, create: false, connectPatience: StoreOpener.runConnectPatience))
        guard let record = try storage.run(id: runID) else { throw StoreError.runNotFound(runID) }
        let config = (try? JSONSerialization.jsonObject(with: Data(record.configJSON.utf8))) as? [String: Any] ?? [:]
        let epochs = Self.integer(config, "train.epochs") ?? 3
        let stepsPerEpoch = Self.integer(config, "fake.steps_per_epoch") ?? 4
        let seed = Self.integer(config, "seed") ?? record.seed
        let totalSteps = epochs * stepsPerEpoch

        let context = ChildContext.fromEnvironment(environment)
        let folder = context?.artifactDirectory ?? storage.artifactDirectory(runID: runID)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let checkpointURL = folder.appendingPathComponent("checkpoint.json")
        var state = (try? FakeCheckpoint.load(checkpointURL)) ?? FakeCheckpoint(seed: seed)
        try Self.appendLine("pid=\(getpid()) attempt=\(context.map { String($0.attempt) } ?? "-") start_step=\(state.step)",
                            to: folder.appendingPathComponent("executions.log"))

        let sleep = environment["GAPLAB_FAKE_STEP_SLEEP"].flatMap(Double.init) ?? 0
        let crashMode = environment["GAPLAB_FAKE_CRASH"] ?? ""
        let crashVariant = environment["GAPLAB_FAKE_CRASH_VARIANT"] ?? ""
        let crashStep = environment["GAPLAB_FAKE_CRASH_STEP"].flatMap { Int($0) } ?? 0
        let crashes = !crashMode.isEmpty && (crashVariant.isEmpty || crashVariant == record.variant)

        while state.step < totalSteps {
            if crashes && state.step >= crashStep { Self.crash(crashMode, step: state.step) }
            if sleep > 0 { Thread.sleep(forTimeInterval: sleep) }
            let loss = state.advance()
            let epoch = state.step / stepsPerEpoch
            var points = [MetricPoint(key: "train.loss", step: state.step, value: loss,
                                      epoch: Double(state.step) / Double(stepsPerEpoch))]
            if state.step % stepsPerEpoch == 0 {
                points.append(MetricPoint(key: "val.alignment", step: state.step, value: 1 / (1 + loss), epoch: Double(epoch)))
            }
            try storage.logMetrics(runID: runID, points)
            print(ProgressLine(epoch: epoch, epochs: epochs, step: state.step, steps: totalSteps, loss: loss).formatted)
            fflush(stdout)
            if state.step % stepsPerEpoch == 0 {
                try state.save(checkpointURL)
                try storage.addArtifact(runID: runID, name: "checkpoint.json", file: checkpointURL)
            }
        }
        let wall = Date().timeIntervalSince(started)
        let tracking = storage.spent
        print(String(format: "tracking: %d store calls, %.3f s of %.3f s (%.1f%%)", tracking.calls, tracking.seconds, wall,
                     100 * tracking.seconds / max(wall, 1e-9)))
    }

    private static func crash(_ mode: String, step: Int) -> Never {
        FileHandle.standardError.write(Data("fake-train: injected crash (\(mode)) at step \(step)\n".utf8))
        if mode == "abort" { abort() }
        Glibc.exit(3)
    }

    /// Reads an integer at a dotted path, tolerating numbers written as doubles.
    static func integer(_ object: [String: Any], _ path: String) -> Int? {
        var current: Any? = object
        for part in path.split(separator: ".") {
            current = (current as? [String: Any])?[String(part)]
        }
        if let number = current as? NSNumber { return number.intValue }
        return nil
    }

    static func appendLine(_ line: String, to url: URL) throws {
        let descriptor = open(url.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw StoreError.invalid("cannot open \(url.path)") }
        defer { close(descriptor) }
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    }
}

/// The stand-in trainer's whole state, bit-exact across a checkpoint.
struct FakeCheckpoint: Codable {
    var step: Int = 0
    var weightBits: UInt64
    var rngState: UInt64

    init(seed: Int) {
        weightBits = Double(1).bitPattern
        rngState = UInt64(bitPattern: Int64(seed)) &* 0x9E37_79B9_7F4A_7C15 &+ 1
    }

    /// One step of a noisy contraction; returns the step's loss.
    mutating func advance() -> Double {
        rngState &+= 0x9E37_79B9_7F4A_7C15
        var z = rngState
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        let noise = Double(z >> 11) / Double(1 << 53) - 0.5
        let weight = Double(bitPattern: weightBits) * 0.9 + 0.05 * noise
        weightBits = weight.bitPattern
        step += 1
        return weight * weight + 0.01 * abs(noise)
    }

    static func load(_ url: URL) throws -> FakeCheckpoint {
        try JSONDecoder().decode(FakeCheckpoint.self, from: Data(contentsOf: url))
    }

    /// Written beside and renamed into place, so a kill mid-write leaves the previous checkpoint intact.
    func save(_ url: URL) throws {
        let temporary = url.appendingPathExtension("tmp")
        try JSONEncoder().encode(self).write(to: temporary)
        guard rename(temporary.path, url.path) == 0 else { throw StoreError.invalid("cannot move checkpoint to \(url.path)") }
    }
}

/// Plans a synthetic experiment of fake runs (optional) and runs it with the real runner and `fake-train`
/// children: the harness of the runner's fault-injection tests. Several may run on one store at once.
struct FakeSweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fake-sweep",
        abstract: "Plan and run a sweep of stand-in runs (for testing the store and the runner).")

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "Experiment name.")
    var experiment = "fake"

    @Option(help: "Plan this many runs first (0: run what is already planned).")
    var plan = 0

    @Option(help: "Epochs per run.")
    var epochs = 3

    @Option(help: "Steps per epoch.")
    var stepsPerEpoch = 4

    @Option(help: "Parallel workers.")
    var workers = 1

    @Option(help: "Lease length in seconds.")
    var lease: Double = 60

    @Flag(help: "Put failed and killed runs back to pending first.")
    var retryFailed = false

    func run() throws {
        let storage = try storeOptions.open(create: true)
        if plan > 0 {
            try storage.planRuns(FakeRuns.specs(experiment: experiment, count: plan, epochs: epochs, stepsPerEpoch: stepsPerEpoch))
        }
        if retryFailed { try storage.requeueRuns(experiment: experiment, statuses: [.failed, .killed]) }
        let runner = Runner(storage: storage,
                            executor: .currentProgram(arguments: ["dev", "fake-train", "--store", "{store}", "--run", "{run}"]),
                            workers: workers, leaseSeconds: lease, progress: .automatic)
        let counts = try runner.runUntilDone(experiment: experiment)
        if let signal = counts.stoppedBySignal { throw ExitCode(128 + signal) }
        if !counts.allCompleted { throw ExitCode(1) }
    }
}
