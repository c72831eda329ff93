import GapSpec

/// Matrix-product FLOPs of one training sample (forward + backward), the numerator of MFU.
/// Backward costs two products per forward product, except the patch embedding, whose input needs no gradient.
public func trainingFLOPsPerSample(_ c: ModelConfig) -> Double {
    let f = forwardFLOPsPerSample(c)
    let v = c.vision
    let patchEmbed = 2.0 * Double(v.patchCount * 3 * v.patchSize * v.patchSize * v.width)
    return 3 * f - patchEmbed
}

/// Matrix-product FLOPs of embedding one image and one caption.
public func forwardFLOPsPerSample(_ c: ModelConfig) -> Double {
    let v = c.vision, t = c.text
    func blocks(tokens T: Int, width C: Int, mlp M: Int, layers: Int) -> Double {
        let T = Double(T), C = Double(C), M = Double(M)
        let perBlock = 2 * T * C * 3 * C + 2 * T * C * C + 2 * T * C * M * 2 + 4 * T * T * C
        return perBlock * Double(layers)
    }
    let vision = 2.0 * Double(v.patchCount * 3 * v.patchSize * v.patchSize * v.width)
        + blocks(tokens: v.tokens, width: v.width, mlp: v.mlpWidth, layers: v.layers)
        + 2.0 * Double(v.width * c.embedDim)
    let text = blocks(tokens: t.contextLength, width: t.width, mlp: t.mlpWidth, layers: t.layers)
        + 2.0 * Double(t.width * c.embedDim)
    return vision + text
}
