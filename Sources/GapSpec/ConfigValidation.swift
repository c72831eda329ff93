import Foundation

/// Range checks on decoded configurations. Types, and the values of `ConfigChoice` settings, are checked before
/// decoding (see `RunConfigResolver`); these find values of the right type that GapLab cannot run, each with its
/// JSON path and what was expected.

private func joined(_ prefix: String, _ key: String) -> String { prefix.isEmpty ? key : "\(prefix).\(key)" }

/// Issue collection shared by the config sections.
private struct IssueList {
    let prefix: String
    var issues: [ConfigIssue] = []

    mutating func add(_ key: String, _ message: String) {
        issues.append(ConfigIssue(path: joined(prefix, key), message: message))
    }

    /// For a string setting whose valid values are known only as strings (`train.engine`, which may name an
    /// engine another build provides); settings typed as a `ConfigChoice` are checked by the schema instead.
    mutating func oneOf(_ key: String, _ value: String, _ allowed: [String]) {
        if !allowed.contains(value) { add(key, unknownChoiceMessage(value, validValues: allowed)) }
    }

    mutating func atLeast(_ key: String, _ value: Int, _ minimum: Int) {
        if value < minimum { add(key, "expected an integer >= \(minimum), got \(value)") }
    }

    mutating func atLeast(_ key: String, _ value: Double, _ minimum: Double) {
        if !value.isFinite || value < minimum { add(key, "expected a number >= \(JSONValue.format(minimum)), got \(JSONValue.format(value))") }
    }

    mutating func positive(_ key: String, _ value: Double) {
        if !value.isFinite || value <= 0 { add(key, "expected a number > 0, got \(JSONValue.format(value))") }
    }

    /// 0 <= value < 1, as Adam's betas must be.
    mutating func unitInterval(_ key: String, _ value: Double) {
        if !(value >= 0 && value < 1) { add(key, "expected a number in [0, 1), got \(JSONValue.format(value))") }
    }
}

extension LossConfig {
    public func issues(at prefix: String = "loss") -> [ConfigIssue] {
        var issues = weightIssues(at: prefix)
        if weights.allSatisfy({ $0.1 == 0 }) {
            issues.append(ConfigIssue(path: joined(prefix, "clip_weight"),
                                      message: "every loss weight is 0, so there is nothing to train; set clip_weight > 0"))
        }
        return issues
    }

    /// Weights that are negative or not finite: the part of the checks the loss itself needs before it runs.
    public func weightIssues(at prefix: String = "loss") -> [ConfigIssue] {
        var list = IssueList(prefix: prefix)
        for (key, value) in weights { list.atLeast(key, value, 0) }
        return list.issues
    }

    private var weights: [(String, Double)] {
        [("clip_weight", clipWeight), ("imsep_weight", imsepWeight), ("cyclip_lambda1", cyclipLambda1), ("cyclip_lambda2", cyclipLambda2)]
    }
}

extension TrainConfig {
    public func issues(at prefix: String = "train") -> [ConfigIssue] {
        var list = IssueList(prefix: prefix)
        list.oneOf("engine", engine, TrainEngine.allCases.map(\.rawValue))
        list.atLeast("epochs", epochs, 1)
        // A contrastive batch needs at least one negative.
        list.atLeast("batch_size", batchSize, 2)
        list.positive("lr", lr)
        list.atLeast("wd", wd, 0)
        list.unitInterval("beta1", beta1)
        list.unitInterval("beta2", beta2)
        list.positive("eps", eps)
        list.atLeast("warmup", warmup, 0)
        list.atLeast("grad_clip_norm", gradClipNorm, 0)
        return list.issues
    }
}

extension DataConfig {
    public func issues(at prefix: String = "data") -> [ConfigIssue] {
        var list = IssueList(prefix: prefix)
        for problem in DatasetSpec.problems(in: dataset) { list.add("dataset", problem) }
        list.atLeast("train_size", trainSize, 0)
        list.atLeast("val_size", valSize, 0)
        list.atLeast("test_size", testSize, 0)
        list.atLeast("split_seed", splitSeed, 0)
        return list.issues
    }
}

extension EvalConfig {
    public func issues(at prefix: String = "eval") -> [ConfigIssue] {
        var list = IssueList(prefix: prefix)
        for (i, k) in retrievalK.enumerated() where k < 1 {
            list.add("retrieval_k[\(i)]", "expected an integer >= 1, got \(k)")
        }
        if Set(retrievalK).count != retrievalK.count {
            list.add("retrieval_k", "values repeat: \(retrievalK.map(String.init).joined(separator: ", "))")
        }
        for (i, delta) in posthocShift.enumerated() where !delta.isFinite {
            list.add("posthoc_shift[\(i)]", "expected a finite number, got \(delta)")
        }
        list.atLeast("picture_sample", pictureSample, pictures ? 1 : 0)
        return list.issues
    }
}

extension FinetuneConfig {
    public func issues(at prefix: String = "finetune") -> [ConfigIssue] {
        var list = IssueList(prefix: prefix)
        list.atLeast("epochs", epochs, 0)
        list.atLeast("batch_size", batchSize, 2)
        list.positive("lr", lr)
        list.atLeast("wd", wd, 0)
        list.atLeast("warmup", warmup, 0)
        return list.issues + data.issues(at: joined(prefix, "data"))
    }
}

extension RuntimeConfig {
    public func issues(at prefix: String = "runtime") -> [ConfigIssue] {
        var list = IssueList(prefix: prefix)
        list.atLeast("threads", threads, 1)
        list.atLeast("log_every", logEvery, 1)
        list.atLeast("gpus", gpus, 1)
        return list.issues
    }
}

extension RunConfig {
    /// Every problem with this configuration, each with its JSON path.
    public func issues() -> [ConfigIssue] {
        var out = model.issues(at: "model")
        out += data.issues(at: "data")
        out += loss.issues(at: "loss")
        out += train.issues(at: "train")
        out += eval.issues(at: "eval")
        out += finetune.issues(at: "finetune")
        out += runtime.issues(at: "runtime")
        if seed < 0 { out.append(ConfigIssue(path: "seed", message: "expected an integer >= 0, got \(seed)")) }
        out += vocabularyIssues()
        out += engineIssues()
        return out
    }

    /// What only the torch engine can do (another precision, a GPU, several GPUs), and the command engine's
    /// settings.
    func engineIssues() -> [ConfigIssue] {
        var out = commandIssues()
        guard train.engine == TrainEngine.gaplab.rawValue else { return out }
        if train.precision != .fp32 {
            out.append(ConfigIssue(path: "train.precision", message: "\"\(train.precision.rawValue)\" needs train.engine \"torch\"; GapLab's own engine trains in fp32"))
        }
        if runtime.device == .cuda {
            out.append(ConfigIssue(path: "runtime.device", message: "\"cuda\" needs train.engine \"torch\"; GapLab's own engine runs on the CPU"))
        }
        if runtime.gpus > 1 {
            out.append(ConfigIssue(path: "runtime.gpus", message: "\(runtime.gpus) GPUs need train.engine \"torch\"; GapLab's own engine runs on the CPU"))
        }
        return out
    }

    func commandIssues() -> [ConfigIssue] {
        guard train.engine == TrainEngine.command.rawValue else {
            var out: [ConfigIssue] = []
            if !train.command.isEmpty {
                out.append(ConfigIssue(path: "train.command", message: "is used only by train.engine \"command\" (this run's engine is \"\(train.engine)\")"))
            }
            if !train.commandCheckpoint.isEmpty {
                out.append(ConfigIssue(path: "train.command_checkpoint", message: "is used only by train.engine \"command\" (this run's engine is \"\(train.engine)\")"))
            }
            return out
        }
        var out: [ConfigIssue] = []
        if train.command.isEmpty {
            out.append(ConfigIssue(path: "train.command", message: "expected the trainer's arguments, the program first (e.g. [\"python3\", \"-m\", \"open_clip_train.main\", ...])"))
        }
        if finetune.epochs > 0 {
            out.append(ConfigIssue(path: "finetune.epochs", message: "the command engine has no fine-tuning stage; set it to 0 or fine-tune in the command"))
        }
        guard let json = try? RunConfigResolver.json(of: self) else { return out }
        let templates = train.command.enumerated().map { ("train.command[\($0.offset)]", $0.element) }
            + (train.commandCheckpoint.isEmpty ? [] : [("train.command_checkpoint", train.commandCheckpoint)])
        for (path, text) in templates {
            do {
                let template = try CommandTemplate(parsing: text)
                for name in template.placeholders where !CommandTemplate.knows(name, config: json) {
                    out.append(ConfigIssue(path: path, message: CommandTemplateError.unknown(name).description))
                }
                if template.placeholders.contains("data.path") && !data.dataset.hasPrefix("csv:") {
                    out.append(ConfigIssue(path: path, message: "{data.path} needs a csv: dataset, data.dataset is \"\(data.dataset)\""))
                }
                if template.placeholders.contains("open_clip_model") && !model.isTwoTower {
                    out.append(ConfigIssue(path: path, message: "{open_clip_model} is open_clip's two-tower CLIP, but model.sharing shares \(model.sharing.depth) block(s)\(model.sharing.head ? " and the head" : "")"))
                }
            } catch {
                out.append(ConfigIssue(path: path, message: error.description))
            }
        }
        return out
    }

    /// open_clip's merges file (`bpe=`) fixes the vocabulary, and the token table must hold every id it gives.
    func vocabularyIssues() -> [ConfigIssue] {
        let wanted = DatasetCatalog.openCLIPVocabularySize
        guard model.text.vocabSize != wanted else { return [] }
        var sections = [("data.dataset", data.dataset)]
        if finetune.epochs > 0 { sections.append(("finetune.data.dataset", finetune.data.dataset)) }
        return sections.compactMap { path, dataset in
            guard let spec = try? DatasetSpec.parse(dataset), spec.options["bpe"] != nil else { return nil }
            return ConfigIssue(path: "model.text_cfg.vocab_size",
                               message: "expected \(wanted) for open_clip's vocabulary (bpe= in \(path)), got \(model.text.vocabSize)")
        }
    }
}
