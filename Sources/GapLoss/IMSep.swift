/// Intra-modality separation for one modality (METHOD.md §3).
///
/// Row i's logits: column i is s·v_i·t_i (the paired cross-modal cosine is the positive); column j ≠ i is
/// s·g_ij·D_ij, where g is the image Gram matrix V·Vᵀ (or T·Tᵀ for the text variant) and D the caption
/// distance matrix (nil: 1 off the diagonal). The diagonal of D is never read. Returns the mean CE over rows.
func imsep(_ batch: BatchMatrices, gram: UnsafePointer<Float>, semanticDistance: UnsafePointer<Float>?,
           weight: Double, gramGradient: UnsafeMutablePointer<Float>?, gradients: GradientSinks?) -> TermOutput {
    let n = batch.count
    let s = batch.scale
    let logits = batch.logits
    for i in 0..<n {
        for j in 0..<n {
            let k = i * n + j
            if i == j {
                logits[k] = s * batch.similarity[k]
            } else {
                let distance = semanticDistance?[k] ?? 1
                logits[k] = s * gram[k] * distance
            }
        }
    }
    let entropy = diagonalCrossEntropy(logits, count: n, writeGradient: gradients != nil)
    if let gradients, let gramGradient {
        let gradientFactor = Float(weight) * s
        for i in 0..<n {
            for j in 0..<n {
                let k = i * n + j
                if i == j {
                    gradients.similarity[k] += gradientFactor * logits[k]
                } else {
                    let distance = semanticDistance?[k] ?? 1
                    gramGradient[k] += gradientFactor * distance * logits[k]
                }
            }
        }
    }
    return TermOutput(value: entropy.loss, logitScaleGrad: weight * entropy.logitDot)
}
