import Foundation

/// Mean cross-entropy over the rows of an n×n logits matrix whose target for row i is column i.
///
/// Each row is shifted by its maximum before exponentiation; sums run in Double. With `writeGradient` the
/// logits are overwritten by ∂CE/∂logits = (softmax − onehot)/n.
///
/// Returns the loss and Σ_ij (∂CE/∂L_ij)·L_ij, which is ∂CE/∂logit_scale whenever L = exp(logit_scale)·X.
/// A NaN or infinite logit makes the loss non-finite instead of being skipped.
func diagonalCrossEntropy(_ logits: UnsafeMutablePointer<Float>, count n: Int,
                          writeGradient: Bool) -> (loss: Double, logitDot: Double) {
    var lossSum = 0.0
    var logitDotSum = 0.0
    let inverseCount = 1.0 / Double(n)
    for i in 0..<n {
        let row = logits + i * n
        var rowMax = row[0]
        // A NaN is never the maximum, but exp(NaN − max) still carries it into the sum and the loss.
        for j in 1..<n where row[j] > rowMax { rowMax = row[j] }
        let targetShifted = Double(row[i] - rowMax)
        var expSum = 0.0
        var weightedShiftSum = 0.0
        for j in 0..<n {
            let shifted = row[j] - rowMax
            let e = exp(shifted)
            expSum += Double(e)
            weightedShiftSum += Double(e) * Double(shifted)
            if writeGradient { row[j] = e }
        }
        lossSum += log(expSum) - targetShifted
        // Σ_j p_ij L_ij − L_ii, written with shifted logits: the max cancels.
        logitDotSum += weightedShiftSum / expSum - targetShifted
        if writeGradient {
            let normaliser = Float(1 / (expSum * Double(n)))
            for j in 0..<n { row[j] *= normaliser }
            row[i] -= Float(inverseCount)
        }
    }
    return (lossSum * inverseCount, logitDotSum * inverseCount)
}
