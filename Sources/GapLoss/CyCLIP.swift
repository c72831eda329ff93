// CyCLIP's consistency regularisers (Goel et al. 2022) as METHOD.md §3 states them: means over all n² pairs.
// Neither depends on the logit scale. (CyCLIP's own code multiplies these means by the batch size; a run that
// wants that scale sets λ accordingly.)

/// In-modal consistency: mean_jk (v_j·v_k − t_j·t_k)².
func cyclipInModal(_ batch: BatchMatrices, weight: Double, gradients: GradientSinks?) -> TermOutput {
    let n = batch.count
    let pairCount = Double(n * n)
    var squareSum = 0.0
    let gradientFactor = Float(2 * weight / pairCount)
    for k in 0..<(n * n) {
        let difference = batch.imageGram[k] - batch.textGram[k]
        squareSum += Double(difference) * Double(difference)
        if let gradients {
            gradients.imageGram[k] += gradientFactor * difference
            gradients.textGram[k] -= gradientFactor * difference
        }
    }
    return TermOutput(value: squareSum / pairCount, logitScaleGrad: 0)
}

/// Cross-modal consistency: mean_jk (v_j·t_k − v_k·t_j)².
func cyclipCrossModal(_ batch: BatchMatrices, weight: Double, gradients: GradientSinks?) -> TermOutput {
    let n = batch.count
    let pairCount = Double(n * n)
    var squareSum = 0.0
    // C = S − Sᵀ is antisymmetric, so ∂/∂S of Σ C² is 2C − 2Cᵀ = 4C.
    let gradientFactor = Float(4 * weight / pairCount)
    for j in 0..<n {
        for k in 0..<n {
            let difference = batch.similarity[j * n + k] - batch.similarity[k * n + j]
            squareSum += Double(difference) * Double(difference)
            if let gradients { gradients.similarity[j * n + k] += gradientFactor * difference }
        }
    }
    return TermOutput(value: squareSum / pairCount, logitScaleGrad: 0)
}
