/// Scratch matrices for one batch of up to `capacity` pairs, allocated once so the training step allocates nothing.
/// Contents never outlive a call; only the capacity matters when a copy is needed.
final class LossWorkspace {
    let capacity: Int
    /// S = V·Tᵀ, S_ij = v_i·t_j.
    let similarity: UnsafeMutablePointer<Float>
    /// V·Vᵀ and T·Tᵀ.
    let imageGram: UnsafeMutablePointer<Float>
    let textGram: UnsafeMutablePointer<Float>
    /// The logits of one cross-entropy, then its gradient.
    let logits: UnsafeMutablePointer<Float>
    /// ∂total/∂S, ∂total/∂(V·Vᵀ), ∂total/∂(T·Tᵀ).
    let similarityGrad: UnsafeMutablePointer<Float>
    let imageGramGrad: UnsafeMutablePointer<Float>
    let textGramGrad: UnsafeMutablePointer<Float>

    init(capacity: Int) {
        self.capacity = capacity
        let size = capacity * capacity
        func matrix() -> UnsafeMutablePointer<Float> {
            let pointer = UnsafeMutablePointer<Float>.allocate(capacity: size)
            pointer.initialize(repeating: 0, count: size)
            return pointer
        }
        similarity = matrix()
        imageGram = matrix()
        textGram = matrix()
        logits = matrix()
        similarityGrad = matrix()
        imageGramGrad = matrix()
        textGramGrad = matrix()
    }

    deinit {
        for pointer in [similarity, imageGram, textGram, logits, similarityGrad, imageGramGrad, textGramGrad] {
            pointer.deallocate()
        }
    }
}

/// Read-only matrices of the current batch that the loss terms share.
struct BatchMatrices {
    let count: Int
    /// s = exp(logit_scale).
    let scale: Float
    let similarity: UnsafePointer<Float>
    let imageGram: UnsafePointer<Float>
    let textGram: UnsafePointer<Float>
    let logits: UnsafeMutablePointer<Float>
}

/// Where the terms add their gradients; nil in the forward-only pass.
struct GradientSinks {
    let similarity: UnsafeMutablePointer<Float>
    let imageGram: UnsafeMutablePointer<Float>
    let textGram: UnsafeMutablePointer<Float>
}

/// One term's unweighted value and its weighted contribution to ∂total/∂logit_scale.
struct TermOutput {
    var value: Double
    var logitScaleGrad: Double
}
