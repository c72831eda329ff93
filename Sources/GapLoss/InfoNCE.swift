/// CLIP's InfoNCE: CE(s·V·Tᵀ) + CE(s·T·Vᵀ), the sum of both directions.
///
/// `weight` is ∂total/∂(that sum): α for the "sum" reduction, α/2 for "mean". The returned value is the sum;
/// the caller applies the reduction.
func infoNCE(_ batch: BatchMatrices, weight: Double, gradients: GradientSinks?) -> TermOutput {
    let n = batch.count
    let s = batch.scale
    let logits = batch.logits
    let gradientFactor = Float(weight) * s

    // Image → text: row i holds s·v_i·t_j.
    for k in 0..<(n * n) { logits[k] = s * batch.similarity[k] }
    let imageToText = diagonalCrossEntropy(logits, count: n, writeGradient: gradients != nil)
    if let gradients {
        for k in 0..<(n * n) { gradients.similarity[k] += gradientFactor * logits[k] }
    }

    // Text → image: row i holds s·t_i·v_j = s·S_ji.
    for i in 0..<n {
        for j in 0..<n { logits[i * n + j] = s * batch.similarity[j * n + i] }
    }
    let textToImage = diagonalCrossEntropy(logits, count: n, writeGradient: gradients != nil)
    if let gradients {
        for i in 0..<n {
            for j in 0..<n { gradients.similarity[j * n + i] += gradientFactor * logits[i * n + j] }
        }
    }

    return TermOutput(value: imageToText.loss + textToImage.loss,
                      logitScaleGrad: weight * (imageToText.logitDot + textToImage.logitDot))
}
