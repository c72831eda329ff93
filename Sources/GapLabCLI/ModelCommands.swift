import ArgumentParser
import Foundation
import GapEngine
import GapModel
import GapSpec

/// Reads an open_clip-style model JSON (plus GapLab's `sharing`) and refuses impossible models before anything runs.
func loadModelConfig(_ path: String) throws -> ModelConfig {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw ValidationError("\(path): cannot read the model config")
    }
    let config: ModelConfig
    do {
        config = try JSONDecoder().decode(ModelConfig.self, from: data)
    } catch let error as DecodingError {
        throw ValidationError("\(path): \(describe(error))")
    }
    let issues = config.issues().map { ConfigIssue(path: $0.path, message: $0.message, file: path) }
    if !issues.isEmpty { throw ValidationError(ConfigIssues(issues).description) }
    return config
}

func describe(_ error: DecodingError) -> String {
    func path(_ keys: [CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(in: CharacterSet(charactersIn: "."))
    }
    switch error {
    case .typeMismatch(let type, let ctx): return "\(path(ctx.codingPath)): expected \(type), \(ctx.debugDescription)"
    case .valueNotFound(let type, let ctx): return "\(path(ctx.codingPath)): expected \(type), found null"
    case .keyNotFound(let key, let ctx): return "\(path(ctx.codingPath + [key])): required key is missing"
    case .dataCorrupted(let ctx): return "\(path(ctx.codingPath)): \(ctx.debugDescription) \(ctx.underlyingError.map { "\($0)" } ?? "")"
    @unknown default: return "\(error)"
    }
}

struct ThreadOptions: ParsableArguments {
    @Option(help: "Threads for matrix products and element-wise kernels. Results are identical for a fixed count.")
    var threads: Int = 1
}

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Write an initialised checkpoint (open_clip's per-tensor rules, seeded).")

    @Option(help: "Model config JSON in open_clip's format, with optional \"sharing\": {\"depth\", \"head\"}.")
    var model: String
    @Option(help: "Seed of the initialisation.")
    var seed: UInt64 = 0
    @Option(help: "Output checkpoint (.safetensors).")
    var out: String

    func run() throws {
        let config = try loadModelConfig(model)
        let clip = CLIPModel(config: config, seed: seed, maxBatch: 1)
        try clip.saveWeights(to: out, metadata: ["gaplab.seed": String(seed)])
        print("wrote \(out): \(clip.layout.tensors.count) tensors, \(clip.parameterCount) parameters (\(clip.layout.naming) names)")
    }
}
