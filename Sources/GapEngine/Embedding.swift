/// Cuts images [B, 3, H, W] into patches [B, P, 3·p·p], each flattened in (channel, y, x) order — the order
/// of a conv kernel [width, 3, p, p], so the patch embedding is one matrix product with conv1.weight.
public func im2patches(engine: EngineContext, out: UnsafeMutablePointer<Float>, images: UnsafePointer<Float>,
                       batch: Int, channels: Int, imageSize: Int, patchSize: Int) {
    let g = imageSize / patchSize, p = patchSize
    let patchLen = channels * p * p
    parallelChunks(engine: engine, batch, sharing: (out, images, channels, imageSize, p, g, patchLen)) { s, _, range in
        let (out, images, channels, imageSize, p, g, patchLen) = s
        for b in range {
            let img = images + b * channels * imageSize * imageSize
            for gy in 0..<g {
                for gx in 0..<g {
                    let dst = out + (b * g * g + gy * g + gx) * patchLen
                    var o = 0
                    for c in 0..<channels {
                        for y in 0..<p {
                            let src = img + c * imageSize * imageSize + (gy * p + y) * imageSize + gx * p
                            for x in 0..<p { dst[o] = src[x]; o += 1 }
                        }
                    }
                }
            }
        }
    }
}

/// Vision tokens: x[b, 0] = class + pos[0]; x[b, 1 + i] = patchEmbeds[b, i] + pos[1 + i].
public func visionTokensForward(out: UnsafeMutablePointer<Float>, patchEmbeds: UnsafePointer<Float>,
                                classEmbedding: UnsafePointer<Float>, positional: UnsafePointer<Float>,
                                batch: Int, patches: Int, width: Int) {
    let T = patches + 1
    for b in 0..<batch {
        let x = out + b * T * width
        for i in 0..<width { x[i] = classEmbedding[i] + positional[i] }
        for t in 1..<T {
            let src = patchEmbeds + (b * patches + t - 1) * width
            let pos = positional + t * width
            let dst = x + t * width
            for i in 0..<width { dst[i] = src[i] + pos[i] }
        }
    }
}

/// Backward of `visionTokensForward`: gradients of the patch embeddings are written, class and positional accumulate.
public func visionTokensBackward(dpatchEmbeds: UnsafeMutablePointer<Float>, dclass: UnsafeMutablePointer<Float>,
                                 dpositional: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                 batch: Int, patches: Int, width: Int) {
    let T = patches + 1
    for b in 0..<batch {
        let dx = dout + b * T * width
        for i in 0..<width { dclass[i] += dx[i] }
        for t in 0..<T {
            let row = dx + t * width, dpos = dpositional + t * width
            for i in 0..<width { dpos[i] += row[i] }
            if t > 0 { (dpatchEmbeds + (b * patches + t - 1) * width).update(from: row, count: width) }
        }
    }
}

/// Text tokens: x[b, t] = tokenEmbedding[ids[b, t]] + pos[t].
public func textTokensForward(out: UnsafeMutablePointer<Float>, ids: UnsafePointer<Int32>,
                              tokenEmbedding: UnsafePointer<Float>, positional: UnsafePointer<Float>,
                              batch: Int, context: Int, width: Int) {
    for bt in 0..<(batch * context) {
        let e = tokenEmbedding + Int(ids[bt]) * width
        let pos = positional + (bt % context) * width
        let dst = out + bt * width
        for i in 0..<width { dst[i] = e[i] + pos[i] }
    }
}

public func textTokensBackward(dtokenEmbedding: UnsafeMutablePointer<Float>, dpositional: UnsafeMutablePointer<Float>,
                               dout: UnsafePointer<Float>, ids: UnsafePointer<Int32>,
                               batch: Int, context: Int, width: Int) {
    for bt in 0..<(batch * context) {
        let row = dout + bt * width
        let de = dtokenEmbedding + Int(ids[bt]) * width
        let dpos = dpositional + (bt % context) * width
        for i in 0..<width {
            de[i] += row[i]
            dpos[i] += row[i]
        }
    }
}

/// open_clip's end-of-text pooling: the position of the largest token id in each row (first on ties, as argmax).
public func endOfTextPositions(ids: UnsafePointer<Int32>, batch: Int, context: Int, into out: UnsafeMutablePointer<Int32>) {
    for b in 0..<batch {
        var best = 0
        for t in 1..<context where ids[b * context + t] > ids[b * context + best] { best = t }
        out[b] = Int32(best)
    }
}
