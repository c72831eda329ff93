import Foundation
import GapModel
import GapOptim

public enum TrainingCheckpointError: Error, CustomStringConvertible {
    case incompatible(path: String, message: String)

    public var description: String {
        switch self {
        case .incompatible(let p, let m): return "\(p): cannot resume from this checkpoint: \(m)"
        }
    }
}

extension Trainer {
    /// Weights at `path` (open_clip names), optimiser moments and the loop position beside it
    /// (`optimizerStatePath`), so that a resumed run continues exactly where this one stands.
    public func saveCheckpoint(to path: String, metadata: [String: String] = [:]) throws {
        let state = ["gaplab.step": String(step), "gaplab.epoch": String(epoch),
                     "gaplab.optimizer_step": String(optimizer.step), "gaplab.seed": String(seed)]
        var writer = SafeTensorsWriter()
        writer.metadata = state.merging(metadata) { a, _ in a }
        let n = model.parameterCount
        writer.add("exp_avg", floats: optimizer.firstMoment, shape: [n])
        writer.add("exp_avg_sq", floats: optimizer.secondMoment, shape: [n])
        // The optimiser state goes first: a crash between the two writes leaves weights of the previous epoch
        // with newer moments, which `loadCheckpoint` detects by comparing the step stored in both.
        try writer.write(to: optimizerStatePath(forCheckpoint: path))
        try model.saveWeights(to: path, metadata: state.merging(metadata) { a, _ in a })
    }

    public func loadCheckpoint(from path: String) throws {
        let weights = try SafeTensorsFile(path: path)
        let optim = try SafeTensorsFile(path: optimizerStatePath(forCheckpoint: path))
        guard let s = weights.metadata["gaplab.step"], let e = weights.metadata["gaplab.epoch"],
              optim.metadata["gaplab.step"] == s, let os = optim.metadata["gaplab.optimizer_step"].flatMap(Int.init),
              let stepValue = Int(s), let epochValue = Int(e) else {
            throw TrainingCheckpointError.incompatible(path: path, message: "weights and optimiser state are not from the same step")
        }
        guard weights.metadata["gaplab.seed"] == String(seed) else {
            throw TrainingCheckpointError.incompatible(path: path, message: "it was written by a run with seed \(weights.metadata["gaplab.seed"] ?? "?"), this run's seed is \(seed)")
        }
        try model.loadWeights(from: weights, prefix: "")
        try optimizer.restore(step: os, firstMoment: try optim.floats("exp_avg"), secondMoment: try optim.floats("exp_avg_sq"))
        restorePosition(step: stepValue, epoch: epochValue)
    }
}
