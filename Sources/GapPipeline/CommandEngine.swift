import Foundation
import GapData
import GapModel
import GapSpec

/// Any trainer as a command (`train.engine: "command"`): `train.command` filled from the run's configuration and
/// run under the pipeline like the other engines (same worker, lease, log capture and signals). Its metrics come
/// from GapLab's JSON-lines stream on its standard output or from open_clip_train's log lines and `results.jsonl`
/// (`train.command_metrics`); the weights it names in `train.command_checkpoint` are evaluated by GapLab.
public final class CommandEngine: TrainingEngine {
    public let config: RunConfig
    public let runID: String
    public let artifacts: URL
    /// The interpreter that converts an open_clip `.pt` checkpoint (gaplab_torch), as the torch engine's.
    public let python: String

    public init(config: RunConfig, runID: String, artifacts: URL,
                environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.config = config
        self.runID = runID
        self.artifacts = artifacts
        python = TorchEngine(runtime: config.runtime, environment: environment).python
    }

    /// What fills the templates besides the configuration; the files `{data.train_csv}` and `{open_clip_model}`
    /// name are written only where a template uses them.
    func runValues(_ job: TrainingJob, used: Set<String>) throws -> [String: String] {
        var values = ["artifacts": artifacts.path, "run_id": runID]
        if let spec = try? DatasetSpec.parse(config.data.dataset), spec.name == "csv", let path = spec.argument { values["data.path"] = path }
        let work = job.workDirectory ?? artifacts
        if used.contains("data.train_csv") {
            values["data.train_csv"] = try OpenCLIPFiles.writeCSV(job.split, to: work.appendingPathComponent("train-data")).path
        }
        if used.contains("open_clip_model") {
            values["open_clip_model"] = "local-dir:" + (try OpenCLIPFiles.writeModelConfig(job.model, to: work.appendingPathComponent("open_clip_model")).path)
        }
        return values
    }

    public func train(_ job: TrainingJob, observer: TrainingObserver) throws -> CLIPModel? {
        try FileManager.default.createDirectory(at: artifacts.appendingPathComponent("logs"), withIntermediateDirectories: true)
        let command = try config.train.command.map { try CommandTemplate(parsing: $0) }
        let checkpoint = config.train.commandCheckpoint.isEmpty ? nil : try CommandTemplate(parsing: config.train.commandCheckpoint)
        let used = Set((command + (checkpoint.map { [$0] } ?? [])).flatMap(\.placeholders))
        let json = try RunConfigResolver.json(of: config), values = try runValues(job, used: used)
        let arguments = try command.map { try $0.filled(config: json, values: values) }
        let batch = config.train.batchSize * max(1, config.runtime.gpus)
        let reader = CommandMetricsReader(epochs: job.train.epochs, globalBatch: batch, observer: observer)
        let child = try EngineProcess(arguments: arguments, acknowledgements: false, readErrors: config.train.commandMetrics == .openCLIP,
                                      environment: ["GAPLAB_ARTIFACTS": artifacts.path, "GAPLAB_RUN_ID": runID])
        let status = try child.run(onOutput: { line in
            if let event = try TorchEvent(line: line) { try reader.handle(event) } else { print(line) }
        }, onError: { line in try reader.handleLog(line) })
        guard status == 0 else { throw CommandEngineError.failed(command: arguments.joined(separator: " "), status: status) }
        if config.train.commandMetrics == .openCLIP { try reader.recordResults(under: artifacts.appendingPathComponent("logs")) }

        guard let checkpoint else { return nil }
        let named = URL(fileURLWithPath: try checkpoint.filled(config: json, values: values))
        guard FileManager.default.fileExists(atPath: named.path) else { throw CommandEngineError.noCheckpoint(named.path) }
        let weights = named.pathExtension == "safetensors" ? named : try convert(named)
        let model = CLIPModel(config: job.model, maxBatch: job.train.batchSize, threads: job.threads)
        try model.loadWeights(from: weights.path)
        try observer.checkpointWritten(weights, epoch: job.train.epochs)
        return model
    }

    /// An open_clip checkpoint (`epoch_N.pt`, a pickled state dict) as safetensors with open_clip names.
    func convert(_ checkpoint: URL) throws -> URL {
        let out = artifacts.appendingPathComponent("command-final.safetensors")
        let child = try EngineProcess(arguments: [python, "-m", "gaplab_torch", "convert", checkpoint.path, out.path],
                                      acknowledgements: false, readErrors: false)
        let status = try child.run(onOutput: { print($0) })
        guard status == 0 else { throw CommandEngineError.conversion(checkpoint.path, status: status) }
        return out
    }
}

public enum CommandEngineError: Error, CustomStringConvertible {
    case failed(command: String, status: Int32)
    case noCheckpoint(String)
    case conversion(String, status: Int32)

    public var description: String {
        switch self {
        case .failed(let command, let status): return "the training command ended with status \(status): \(command)"
        case .noCheckpoint(let path): return "train.command_checkpoint: the command left no file at \(path)"
        case .conversion(let path, let status):
            return "converting \(path) to safetensors (python3 -m gaplab_torch convert) ended with status \(status)"
        }
    }
}

/// The files a command that is open_clip_train reads: a split as open_clip's CSV and the model as its config.
enum OpenCLIPFiles {
    /// One PNG per image (as the split holds it, already at the model's size) and one row per caption, in
    /// open_clip's CsvDataset convention (`filepath`, `title`, tab-separated, absolute paths).
    static func writeCSV(_ split: ImageTextDataset, to folder: URL) throws -> URL {
        let images = folder.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        var table = "filepath\ttitle\n"
        for i in 0..<split.imageCount {
            let file = images.appendingPathComponent(String(format: "%06d.png", i))
            try PNGCodec.encode(split.image(i)).write(to: file)
            for c in split.imageCaptionStart[i]..<split.imageCaptionStart[i + 1] {
                let caption = split.captions[c].replacingOccurrences(of: "\t", with: " ").replacingOccurrences(of: "\n", with: " ")
                table += file.path + "\t" + caption + "\n"
            }
        }
        let out = folder.appendingPathComponent("train.csv")
        try Data(table.utf8).write(to: out)
        return out
    }

    /// `open_clip_config.json` for a two-tower model: open_clip's keys, without GapLab's `sharing`.
    static func writeModelConfig(_ model: ModelConfig, to folder: URL) throws -> URL {
        let v = model.vision, t = model.text
        let config: [String: Any] = [
            "model_cfg": [
                "embed_dim": model.embedDim, "quick_gelu": model.quickGelu, "init_logit_scale": model.initLogitScale,
                "vision_cfg": ["image_size": v.imageSize, "patch_size": v.patchSize, "width": v.width, "layers": v.layers,
                               "head_width": v.width / v.heads, "mlp_ratio": v.mlpRatio],
                "text_cfg": ["context_length": t.contextLength, "vocab_size": t.vocabSize, "width": t.width, "heads": t.heads,
                             "layers": t.layers, "mlp_ratio": t.mlpRatio],
            ],
            "preprocess_cfg": ["mean": CLIPNormalisation.mean.map(Double.init), "std": CLIPNormalisation.std.map(Double.init)],
        ]
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys, .prettyPrinted])
            .write(to: folder.appendingPathComponent("open_clip_config.json"))
        return folder
    }
}

/// A command's metrics as the pipeline records them: its JSON-lines events, or open_clip_train's log lines.
final class CommandMetricsReader {
    let epochs: Int
    let globalBatch: Int
    let observer: TrainingObserver
    private var stepsPerEpoch: Int?

    init(epochs: Int, globalBatch: Int, observer: TrainingObserver) {
        self.epochs = epochs
        self.globalBatch = globalBatch
        self.observer = observer
    }

    func handle(_ event: TorchEvent) throws {
        switch event.event {
        case "step":
            let step = try event.required(\.step, "step")
            try observer.stepped(TrainingStep(
                step: step, epoch: try event.required(\.epoch, "epoch"), stepsPerEpoch: event.stepsPerEpoch ?? 1,
                totalSteps: (event.stepsPerEpoch ?? 1) * epochs, loss: try event.required(\.loss, "loss"),
                terms: (event.terms ?? []).map { (name: $0.name, value: $0.value) }, lr: try event.required(\.lr, "lr"),
                logitScale: try event.required(\.logitScale, "logit_scale"), gradNorm: event.gradNorm,
                samplesPerSecond: event.samplesPerSecond))
        default:
            break
        }
    }

    func handleLog(_ line: String) throws {
        guard let entry = OpenCLIPLogLine(parsing: line, globalBatch: globalBatch) else { return }
        stepsPerEpoch = entry.stepsPerEpoch
        try observer.stepped(TrainingStep(
            step: entry.epoch * entry.stepsPerEpoch + entry.stepInEpoch, epoch: entry.epoch, stepsPerEpoch: entry.stepsPerEpoch,
            totalSteps: entry.stepsPerEpoch * epochs, loss: entry.loss, terms: entry.terms, lr: entry.lr,
            logitScale: log(entry.scale), gradNorm: nil, samplesPerSecond: entry.samplesPerSecond))
    }

    /// open_clip's evaluation results (`results.jsonl`, one object per evaluated epoch) under `open_clip/`.
    func recordResults(under logs: URL) throws {
        guard let files = FileManager.default.enumerator(at: logs, includingPropertiesForKeys: nil) else { return }
        for case let url as URL in files where url.lastPathComponent == "results.jsonl" {
            let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
            for (index, line) in lines.enumerated() {
                guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
                let epoch = (object["epoch"] as? Double).map { Int($0) } ?? index + 1
                let step = epoch * (stepsPerEpoch ?? 1) - 1
                let values = object.compactMapValues { $0 as? Double }.filter { $0.key != "epoch" && $0.key != "num_samples" }
                try observer.recorded(values.map { (key: "open_clip/\($0.key)", value: $0.value) }, step: step, epoch: epoch)
            }
        }
    }
}

/// One `Train Epoch: ...` line of open_clip_train:
/// `Train Epoch: 0 [ 64/160 (40%)] Data (t): 0.1 Batch (t): 0.5, 128.0/s, 128.0/s/gpu LR: 0.000100 Logit Scale: 14.286 Contrastive_loss: 2.0 (2.1) Loss: 2.0 (2.1)`.
/// The values are the step's (the ones outside the parentheses, which are running means).
struct OpenCLIPLogLine {
    var epoch: Int
    var stepInEpoch: Int
    var stepsPerEpoch: Int
    var lr: Double
    var scale: Double
    var loss: Double
    var terms: [(name: String, value: Double)]
    var samplesPerSecond: Double?

    init?(parsing line: String, globalBatch: Int) {
        guard let start = line.range(of: "Train Epoch: ") else { return nil }
        let text = line[start.upperBound...]
        let scanner = Scanner(string: String(text))
        guard let epoch = scanner.scanInt(), scanner.scanString("[") != nil, let samples = scanner.scanInt(),
              scanner.scanString("/") != nil, let perEpoch = scanner.scanInt(), globalBatch > 0 else { return nil }
        self.epoch = epoch
        stepsPerEpoch = max(1, perEpoch / globalBatch)
        stepInEpoch = max(0, samples / globalBatch - 1)
        func number(after label: String) -> Double? {
            guard let r = text.range(of: label) else { return nil }
            return Scanner(string: String(text[r.upperBound...])).scanDouble()
        }
        guard let lr = number(after: "LR: "), let scale = number(after: "Logit Scale: "), scale > 0 else { return nil }
        self.lr = lr
        self.scale = scale
        samplesPerSecond = text.range(of: "Batch (t): ").flatMap { r in
            let rest = Scanner(string: String(text[r.upperBound...]))
            _ = rest.scanDouble()
            _ = rest.scanString(",")
            return rest.scanDouble()
        }
        // Each loss is `Name: value (mean)`, after the logit scale.
        guard let after = text.range(of: "Logit Scale: ") else { return nil }
        var named: [(String, Double)] = []
        let losses = Scanner(string: String(text[after.upperBound...]))
        _ = losses.scanDouble()
        while let name = losses.scanUpToString(":"), losses.scanString(":") != nil, let value = losses.scanDouble() {
            named.append((name.trimmingCharacters(in: .whitespaces).lowercased(), value))
            _ = losses.scanUpToString(")")
            _ = losses.scanString(")")
        }
        guard let total = named.first(where: { $0.0 == "loss" })?.1 else { return nil }
        loss = total
        terms = named.filter { $0.0 != "loss" }.map { name, value in
            (name: name == "contrastive_loss" ? "loss/cross" : "loss/\(name)", value: value)
        }
    }
}
