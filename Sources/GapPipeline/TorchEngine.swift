import Dispatch
import Foundation
import GapModel
import GapSpec
import GapTrain

/// The torch engine (`train.engine: "torch"`): PyTorch with open_clip's model classes, run as
/// `python3 -m gaplab_torch train --job JOB.json` (the package in `python/`, installed by `make torch`). GapLab
/// exports the run's batches and its seeded initial weights, so both engines train the same model on the same
/// batches; the package streams its steps back as JSON lines and hands back open_clip-named weights, which the
/// pipeline evaluates like its own. `python/README.md` documents the job file and the stream.
public final class TorchEngine: TrainingEngine {
    public let runtime: RuntimeConfig
    /// The Python interpreter: `GAPLAB_PYTHON`, else `python3` on the PATH.
    public let python: String

    public init(runtime: RuntimeConfig, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.runtime = runtime
        python = environment["GAPLAB_PYTHON"].flatMap { $0.isEmpty ? nil : $0 } ?? "python3"
    }

    public func train(_ job: TrainingJob, observer: TrainingObserver) throws -> CLIPModel? {
        let work = job.workDirectory ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("gaplab-torch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let batchesDirectory = work.appendingPathComponent("batches")
        let batches = try ExportedBatches.write(job, to: batchesDirectory)
        let initial = try initialWeights(job, work: work)
        let jobURL = work.appendingPathComponent("job.json")
        let spec = TorchJob(job: job, batches: batches, initialWeights: initial.path,
                            output: work.appendingPathComponent("weights").path, runtime: runtime)
        try spec.write(to: jobURL)

        var arguments = [python, "-m", "gaplab_torch", "train", "--job", jobURL.path]
        if runtime.gpus > 1 {
            arguments.insert(contentsOf: ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=\(runtime.gpus)"], at: 1)
        }
        let child = try EngineProcess(arguments: arguments, acknowledgements: true, readErrors: false)
        var final: String?, failure: String?
        let status = try child.run(onOutput: { line in
            guard let event = try TorchEvent(line: line) else { return }
            switch event.event {
            case "finished": final = try event.required(\.weights, "weights")
            case "error": failure = event.message ?? "no message"
            default: try handle(event, job: job, batches: batches, observer: observer, child: child)
            }
        })
        if let failure { throw TorchEngineError.failed(failure) }
        guard status == 0, let final else { throw TorchEngineError.stopped(status: status) }
        let model = CLIPModel(config: job.model, maxBatch: job.train.batchSize, threads: job.threads)
        try model.loadWeights(from: final)
        try? FileManager.default.removeItem(at: batchesDirectory)
        return model
    }

    /// The model's seeded initialisation (GapLab's, so both engines start from the same weights), unless the
    /// job starts from weights of its own.
    private func initialWeights(_ job: TrainingJob, work: URL) throws -> URL {
        if let given = job.initialWeights { return given }
        let url = work.appendingPathComponent("initial.safetensors")
        let model = CLIPModel(config: job.model, seed: job.seed, maxBatch: 1)
        try model.saveWeights(to: url.path, metadata: ["gaplab.seed": String(job.seed)])
        return url
    }

    private func handle(_ event: TorchEvent, job: TrainingJob, batches: ExportedBatches, observer: TrainingObserver,
                        child: EngineProcess) throws {
        switch event.event {
        case "resumed":
            observer.resumed(epoch: try event.required(\.epoch, "epoch"), step: try event.required(\.step, "step"))
        case "step":
            try observer.stepped(TrainingStep(
                step: try event.required(\.step, "step"), epoch: try event.required(\.epoch, "epoch"),
                stepsPerEpoch: batches.stepsPerEpoch, totalSteps: batches.stepsPerEpoch * job.train.epochs,
                loss: try event.required(\.loss, "loss"), terms: (event.terms ?? []).map { (name: $0.name, value: $0.value) },
                lr: try event.required(\.lr, "lr"), logitScale: try event.required(\.logitScale, "logit_scale"),
                gradNorm: event.gradNorm, samplesPerSecond: event.samplesPerSecond))
        case "epoch_end":
            let weights = try event.required(\.weights, "weights")
            let model = CLIPModel(config: job.model, maxBatch: job.train.batchSize, threads: job.threads)
            try model.loadWeights(from: weights)
            try observer.epochEnded(epoch: try event.required(\.epoch, "epoch"), step: try event.required(\.step, "step"),
                                    model: model)
            try? FileManager.default.removeItem(atPath: weights)
            // The engine writes the epoch's checkpoint only now, after the epoch's records are in the store.
            try child.acknowledge()
        case "checkpoint":
            try observer.checkpointWritten(URL(fileURLWithPath: try event.required(\.path, "path")),
                                           epoch: try event.required(\.epoch, "epoch"))
        default:
            break
        }
    }
}

/// Whether `python3` (or `GAPLAB_PYTHON`) can import the torch engine's package.
public enum TorchEngineAvailability {
    public static let hint = "the torch engine needs the gaplab_torch Python package: run `make torch`"

    public static var installed: Bool { check(python: TorchEngine(runtime: RuntimeConfig()).python) }

    public static func check(python: String) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python.contains("/") ? python : "/usr/bin/env")
        process.arguments = (python.contains("/") ? [] : [python]) + ["-c", "import gaplab_torch"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}

/// The job file `gaplab_torch` trains from.
struct TorchJob: Encodable {
    var format = "gaplab-torch-job/1"
    var model: ModelConfig
    var train: TrainConfig
    var loss: LossConfig
    var seed: UInt64
    var stepsPerEpoch: Int
    var batches: ExportedBatches
    var initialWeights: String?
    var checkpoint: String?
    var output: String
    var device: String
    var precision: String
    var threads: Int
    var supervised = true

    init(job: TrainingJob, batches: ExportedBatches, initialWeights: String?, output: String, runtime: RuntimeConfig) {
        model = job.model
        train = job.train
        loss = job.loss
        seed = job.seed
        stepsPerEpoch = batches.stepsPerEpoch
        self.batches = batches
        self.initialWeights = initialWeights
        checkpoint = job.checkpoint?.path
        self.output = output
        device = runtime.device.rawValue
        precision = job.train.precision.rawValue
        threads = runtime.threads
    }

    enum CodingKeys: String, CodingKey {
        case format, model, train, loss, seed, stepsPerEpoch = "steps_per_epoch", batches, initialWeights = "initial_weights"
        case checkpoint, output, device, precision, threads, supervised
    }

    func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: url, options: .atomic)
    }
}

/// One line of the engine's stream.
struct TorchEvent: Decodable {
    struct Term: Decodable {
        var name: String
        var value: Double

        init(from decoder: Decoder) throws {
            var pair = try decoder.unkeyedContainer()
            name = try pair.decode(String.self)
            value = try pair.decode(Double.self)
        }
    }

    var event: String
    var step: Int?
    var epoch: Int?
    var stepsPerEpoch: Int?
    var loss: Double?
    var terms: [Term]?
    var lr: Double?
    var logitScale: Double?
    var gradNorm: Double?
    var samplesPerSecond: Double?
    var weights: String?
    var path: String?
    var message: String?

    enum CodingKeys: String, CodingKey {
        case event, step, epoch, stepsPerEpoch = "steps_per_epoch", loss, terms, lr, logitScale = "logit_scale", gradNorm = "grad_norm"
        case samplesPerSecond = "samples_per_second", weights, path, message
    }

    /// The event on a line of the stream; nil for a line that is not a JSON object (a stray print).
    init?(line: String) throws {
        guard line.hasPrefix("{") else { return nil }
        do { self = try JSONDecoder().decode(TorchEvent.self, from: Data(line.utf8)) } catch {
            throw TorchEngineError.malformed("\(line.prefix(200)): \(error)")
        }
    }

    func required<Value>(_ field: KeyPath<TorchEvent, Value?>, _ name: String) throws -> Value {
        guard let value = self[keyPath: field] else { throw TorchEngineError.malformed("\"\(event)\" event without \"\(name)\"") }
        return value
    }
}

public enum TorchEngineError: Error, CustomStringConvertible {
    case malformed(String)
    case failed(String)
    case stopped(status: Int32)

    public var description: String {
        switch self {
        case .malformed(let what): return "the torch engine's stream is malformed: \(what)"
        case .failed(let message): return "the torch engine failed: \(message)"
        case .stopped(let status): return "the torch engine ended with status \(status) before it finished"
        }
    }
}

