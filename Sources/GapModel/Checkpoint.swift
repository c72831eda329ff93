import Foundation
import GapEngine
import GapSpec

public enum CheckpointError: Error, CustomStringConvertible {
    case mismatch(path: String, message: String)

    public var description: String {
        switch self {
        case .mismatch(let p, let m): return "\(p): checkpoint does not fit the model config: \(m)"
        }
    }
}

/// Tensors a checkpoint may carry that the model does not use: the AlignCLIP reference code keeps an unused
/// `text.text_projection`, and open_clip exports may carry `attn_mask` buffers.
private func isKnownUnusedTensor(_ name: String) -> Bool {
    name == "text.text_projection" || name.hasSuffix("attn_mask")
}

extension CLIPModel {
    /// Writes the weights with the layout's names and shapes (`logit_scale` 0-dim), loadable by open_clip with
    /// strict=True for two-tower models.
    public func saveWeights(to path: String, metadata: [String: String] = [:]) throws {
        var writer = SafeTensorsWriter()
        writer.metadata = metadata.merging(["format": "pt"]) { a, _ in a }
        for t in layout.tensors {
            writer.add(t.name, floats: UnsafeBufferPointer(start: weights.pointer + t.offset, count: t.count), shape: t.shape)
        }
        try writer.write(to: path)
    }

    /// Loads weights by name. Every model tensor must be present with the same shape; an extra tensor other than
    /// the known unused ones is a mismatch. The error names the first mismatching tensor.
    public func loadWeights(from path: String) throws {
        let file = try SafeTensorsFile(path: path)
        try loadWeights(from: file, prefix: "")
    }

    /// Loads weights stored under `prefix + name` (fixtures keep several copies of a model in one file).
    public func loadWeights(from file: SafeTensorsFile, prefix: String) throws {
        for t in layout.tensors {
            guard let e = file.entries[prefix + t.name] else {
                throw CheckpointError.mismatch(path: file.path, message: "missing tensor '\(prefix + t.name)' (shape \(t.shape))")
            }
            guard e.shape == t.shape else {
                throw CheckpointError.mismatch(path: file.path, message: "tensor '\(prefix + t.name)' has shape \(e.shape), the model expects \(t.shape)")
            }
            let values = try file.floats(prefix + t.name)
            values.withUnsafeBufferPointer { (weights.pointer + t.offset).update(from: $0.baseAddress!, count: t.count) }
        }
        if prefix.isEmpty {
            let known = Set(layout.tensors.map(\.name))
            if let extra = file.names.first(where: { !known.contains($0) && !isKnownUnusedTensor($0) }) {
                throw CheckpointError.mismatch(path: file.path, message: "unexpected tensor '\(extra)' (not part of this model; check the sharing settings)")
            }
        }
    }
}

/// The optimiser state written beside a checkpoint: `CKPT.optim.safetensors` for `CKPT.safetensors`.
public func optimizerStatePath(forCheckpoint path: String) -> String {
    path.hasSuffix(".safetensors") ? String(path.dropLast(".safetensors".count)) + ".optim.safetensors" : path + ".optim"
}
