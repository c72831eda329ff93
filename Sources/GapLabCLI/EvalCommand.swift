import ArgumentParser
import Foundation
import GapPipeline
import GapSpec
import GapStore

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a checkpoint on a dataset split: geometry of the gap, retrieval, zero-shot, linear probe.",
        discussion: """
        Works for any checkpoint GapLab can load, open_clip two-tower checkpoints included. Captions are tokenised \
        with --tokenizer when given (a run's artifacts/<run>/tokenizer.json), else with the BPE trained on the \
        dataset's training split (deterministic, so it equals the tokenizer of a GapLab run on the same data and \
        split seed), or open_clip's vocabulary with the dataset option bpe=PATH.
        """)

    @Option(help: "Model config JSON in open_clip's format, with optional \"sharing\".")
    var model: String
    @Option(help: "Checkpoint (.safetensors) that fits the model config.")
    var checkpoint: String
    @Option(help: "Dataset, as data.dataset in a run configuration (scenes, digits, fashion-mnist, emoji, csv:PATH, with ?options).")
    var data: String
    @Option(help: "Split to evaluate: test, val, or an extra split the dataset offers (e.g. test_held_out).")
    var split: String = "test"
    @Option(help: "Training images of the dataset (the linear probe's training set; 0: all).")
    var trainSize: Int = 20000
    @Option(help: "Validation images.")
    var valSize: Int = 1000
    @Option(help: "Test images.")
    var testSize: Int = 1000
    @Option(help: "Seed of the split (and of generated data).")
    var splitSeed: Int = 0
    @Option(help: "Tokenizer JSON saved by a run.")
    var tokenizer: String?
    @Option(parsing: .upToNextOption, help: "δ values of the post-hoc shift to evaluate as well.")
    var posthocShift: [Double] = []
    @Flag(help: "Skip the linear probe.")
    var noProbe = false
    @Option(help: "Folder for the embedding pictures (PCA, t-SNE, paired-cosine CDF); none when omitted.")
    var pictures: String?
    @Option(help: "Output: table or json.")
    var format: String = "table"
    @Option(help: "Also log the metrics to this run of the store, under eval/<split>/.")
    var logRun: String?
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var threadOptions: ThreadOptions

    func run() throws {
        var dataConfig = DataConfig()
        dataConfig.dataset = data
        dataConfig.trainSize = trainSize
        dataConfig.valSize = valSize
        dataConfig.testSize = testSize
        dataConfig.splitSeed = splitSeed
        var evalConfig = EvalConfig()
        evalConfig.posthocShift = posthocShift
        evalConfig.linearProbe = !noProbe
        let evaluation = CheckpointEvaluation(model: try loadModelConfig(model), checkpoint: URL(fileURLWithPath: checkpoint),
                                              data: dataConfig, split: split, tokenizer: tokenizer.map { URL(fileURLWithPath: $0) },
                                              eval: evalConfig, pictures: pictures.map { URL(fileURLWithPath: $0) },
                                              threads: threadOptions.threads)
        let metrics = try evaluation.run()
        if let logRun {
            let storage = try storeOptions.open(create: false)
            try evaluation.log(metrics, to: storage, runID: try storage.resolveRunID(prefix: logRun))
        }
        if format == "json" {
            print(JSONOutput.text(metrics), terminator: "")
        } else {
            let width = metrics.keys.map(\.count).max() ?? 0
            for key in metrics.keys.sorted() where !key.contains("paired_cos_q") {
                print(key.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + String(format: "%.6g", metrics[key]!))
            }
        }
    }
}
