import GapEngine
import GapTestSupport
import XCTest

/// Every layer's backward against finite differences of L = Σ y ⊙ R for a random R.
final class KernelGradientTests: XCTestCase {
    let engine = EngineContext()
    func testLinear() {
        let rows = 5, inDim = 7, outDim = 6
        let x = randomBuffer(rows * inDim, seed: 1), w = randomBuffer(outDim * inDim, seed: 2), b = randomBuffer(outDim, seed: 3)
        let r = randomBuffer(rows * outDim, seed: 4), y = FloatBuffer(count: rows * outDim)
        func loss() -> Double {
            linearForward(engine: engine, out: y.pointer, inp: x.pointer, weight: w.pointer, bias: b.pointer, rows: rows, inDim: inDim, outDim: outDim)
            return dot(y.pointer, r.pointer, rows * outDim)
        }
        let dx = FloatBuffer(count: rows * inDim), dw = FloatBuffer(count: outDim * inDim), db = FloatBuffer(count: outDim)
        _ = loss()
        linearBackward(engine: engine, dinp: dx.pointer, dweight: dw.pointer, dbias: db.pointer, dout: r.pointer, inp: x.pointer, weight: w.pointer,
                       rows: rows, inDim: inDim, outDim: outDim)
        checkGradient("x", values: x.pointer, count: x.count, analytic: dx.array, loss: loss)
        checkGradient("w", values: w.pointer, count: w.count, analytic: dw.array, loss: loss)
        checkGradient("b", values: b.pointer, count: b.count, analytic: db.array, loss: loss)
    }

    func testProjection() {
        let rows = 4, inDim = 6, outDim = 3
        let x = randomBuffer(rows * inDim, seed: 5), p = randomBuffer(inDim * outDim, seed: 6)
        let r = randomBuffer(rows * outDim, seed: 7), y = FloatBuffer(count: rows * outDim)
        func loss() -> Double {
            projectionForward(engine: engine, out: y.pointer, inp: x.pointer, projection: p.pointer, rows: rows, inDim: inDim, outDim: outDim)
            return dot(y.pointer, r.pointer, rows * outDim)
        }
        let dx = FloatBuffer(count: rows * inDim), dp = FloatBuffer(count: inDim * outDim)
        _ = loss()
        projectionBackward(engine: engine, dinp: dx.pointer, dprojection: dp.pointer, dout: r.pointer, inp: x.pointer, projection: p.pointer,
                           rows: rows, inDim: inDim, outDim: outDim)
        checkGradient("x", values: x.pointer, count: x.count, analytic: dx.array, loss: loss)
        checkGradient("p", values: p.pointer, count: p.count, analytic: dp.array, loss: loss)
    }

    /// Widths off the vector grid (scalar path), one vector per block (24) and four-vector blocks (64).
    func testLayerNorm() {
        for dim in [9, 24, 64] { layerNormCheck(rows: dim == 9 ? 4 : 70, dim: dim) }
    }

    func layerNormCheck(rows: Int, dim: Int) {
        let x = randomBuffer(rows * dim, seed: 8, scale: 2), w = randomBuffer(dim, seed: 9), b = randomBuffer(dim, seed: 10)
        let r = randomBuffer(rows * dim, seed: 11), y = FloatBuffer(count: rows * dim)
        let mean = FloatBuffer(count: rows), rstd = FloatBuffer(count: rows)
        func loss() -> Double {
            layerNormForward(engine: engine, out: y.pointer, mean: mean.pointer, rstd: rstd.pointer, inp: x.pointer, weight: w.pointer, bias: b.pointer,
                             rows: rows, dim: dim)
            return dot(y.pointer, r.pointer, rows * dim)
        }
        _ = loss()
        let dx = FloatBuffer(count: rows * dim), dw = FloatBuffer(count: dim), db = FloatBuffer(count: dim)
        layerNormBackward(engine: engine, dinp: dx.pointer, dweight: dw.pointer, dbias: db.pointer, dout: r.pointer, inp: x.pointer, weight: w.pointer,
                          mean: mean.pointer, rstd: rstd.pointer, rows: rows, dim: dim)
        checkGradient("x", values: x.pointer, count: x.count, analytic: dx.array, samples: 60, step: 5e-3, loss: loss)
        checkGradient("w", values: w.pointer, count: w.count, analytic: dw.array, loss: loss)
        checkGradient("b", values: b.pointer, count: b.count, analytic: db.array, loss: loss)
    }

    func testLayerNormMatchesDefinition() {
        let x = FloatBuffer([1, 2, 3, 4]), w = FloatBuffer([1, 1, 1, 1]), b = FloatBuffer([0, 0, 0, 0])
        let y = FloatBuffer(count: 4), m = FloatBuffer(count: 1), s = FloatBuffer(count: 1)
        layerNormForward(engine: engine, out: y.pointer, mean: m.pointer, rstd: s.pointer, inp: x.pointer, weight: w.pointer, bias: b.pointer, rows: 1, dim: 4)
        // mean 2.5, biased variance 1.25
        let rs = 1 / (1.25 + 1e-5).squareRoot()
        XCTAssertEqual(Double(y[0]), -1.5 * rs, accuracy: 1e-6)
        XCTAssertEqual(Double(y[3]), 1.5 * rs, accuracy: 1e-6)
    }

    func testGELU() {
        let n = 40
        let x = randomBuffer(n, seed: 12, scale: 2), r = randomBuffer(n, seed: 13), y = FloatBuffer(count: n)
        let bias = randomBuffer(n, seed: 14), slopes = FloatBuffer(count: n)
        func loss() -> Double {
            biasGELUForward(engine: engine, out: y.pointer, derivative: slopes.pointer, inp: x.pointer, bias: bias.pointer, rows: 1, cols: n)
            return dot(y.pointer, r.pointer, n)
        }
        _ = loss()
        // dL/dx = r · GELU′(x + b), the backward pass's product.
        let dx = FloatBuffer(count: n)
        dx.pointer.update(from: r.pointer, count: n)
        multiplyElementwise(engine: engine, dx.pointer, by: slopes.pointer, count: n)
        checkGradient("x", values: x.pointer, count: n, analytic: dx.array, step: 1e-3, loss: loss)
        // torch.nn.functional.gelu(torch.tensor(1.0)) = 0.8413447
        let one = FloatBuffer([1]), zero = FloatBuffer([0]), out = FloatBuffer(count: 1)
        biasGELUForward(engine: engine, out: out.pointer, derivative: nil, inp: one.pointer, bias: zero.pointer, rows: 1, cols: 1)
        XCTAssertEqual(out[0], 0.8413447, accuracy: 1e-6)
    }

    func attentionCheck(causal: Bool) {
        let shape = AttentionShape(batch: 2, tokens: 5, width: 8, heads: 2, causal: causal)
        let qkvCount = shape.batch * shape.tokens * 3 * shape.width, outCount = shape.batch * shape.tokens * shape.width
        let qkv = randomBuffer(qkvCount, seed: causal ? 14 : 15), r = randomBuffer(outCount, seed: 16)
        let out = FloatBuffer(count: outCount), statistics = FloatBuffer(count: shape.softmaxStatisticsCount)
        let scratch = FloatBuffer(count: attentionScratchCount(shape, threads: 4))
        func loss() -> Double {
            attentionForward(engine: engine, out: out.pointer, softmaxStatistics: statistics.pointer, qkv: qkv.pointer, scratch: scratch.mutableBuffer, shape: shape)
            return dot(out.pointer, r.pointer, outCount)
        }
        _ = loss()
        let dqkv = FloatBuffer(count: qkvCount)
        attentionBackward(engine: engine, dqkv: dqkv.pointer, dout: r.pointer, qkv: qkv.pointer, softmaxStatistics: statistics.pointer,
                          scratch: scratch.mutableBuffer, shape: shape)
        checkGradient("qkv", values: qkv.pointer, count: qkvCount, analytic: dqkv.array, samples: 60, step: 5e-3, loss: loss)
        if causal {
            _ = loss()
            // Row 0 attends to itself only: its output is v_0 exactly.
            let v0 = qkv.pointer + 2 * shape.width
            for i in 0..<shape.width { XCTAssertEqual(out[i], v0[i], accuracy: 1e-6) }
        }
    }

    func testAttentionUnmasked() { attentionCheck(causal: false) }
    func testAttentionCausal() { attentionCheck(causal: true) }

    /// The register-blocked kernel against a plain Double implementation, at head widths with whole vector tiles
    /// (32, 64; 16 is one sixteen-lane vector), a single vector (8) and a ragged tail (12), odd token counts (rows
    /// left over from pairs), and both masks; forward values and every input gradient, the backward pass working
    /// from the statistics the forward pass saved.
    func testAttentionMatchesDoubleReference() {
        for (tokens, width, heads, causal) in [(65, 128, 4, false), (33, 64, 8, true), (7, 24, 2, false), (32, 128, 4, true),
                                                 (17, 128, 2, true), (20, 64, 4, false)] {
            let s = AttentionShape(batch: 3, tokens: tokens, width: width, heads: heads, causal: causal)
            let T = tokens, C = width, hd = s.headDim, C3 = 3 * C
            let qkv = randomBuffer(s.batch * T * C3, seed: UInt64(tokens)), dout = randomBuffer(s.batch * T * C, seed: 99)
            let out = FloatBuffer(count: s.batch * T * C), statistics = FloatBuffer(count: s.softmaxStatisticsCount)
            let dqkv = FloatBuffer(count: s.batch * T * C3), scratch = FloatBuffer(count: attentionScratchCount(s, threads: 2))
            attentionForward(engine: engine, out: out.pointer, softmaxStatistics: statistics.pointer, qkv: qkv.pointer, scratch: scratch.mutableBuffer, shape: s)
            attentionBackward(engine: engine, dqkv: dqkv.pointer, dout: dout.pointer, qkv: qkv.pointer, softmaxStatistics: statistics.pointer,
                              scratch: scratch.mutableBuffer, shape: s)
            var worstOut = 0.0, worstGrad = 0.0
            for b in 0..<s.batch {
                for h in 0..<heads {
                    func q(_ i: Int, _ d: Int) -> Double { Double(qkv[(b * T + i) * C3 + h * hd + d]) }
                    func k(_ i: Int, _ d: Int) -> Double { Double(qkv[(b * T + i) * C3 + C + h * hd + d]) }
                    func v(_ i: Int, _ d: Int) -> Double { Double(qkv[(b * T + i) * C3 + 2 * C + h * hd + d]) }
                    func g(_ i: Int, _ d: Int) -> Double { Double(dout[(b * T + i) * C + h * hd + d]) }
                    let scale = 1 / Double(hd).squareRoot()
                    var p = [[Double]](repeating: [Double](repeating: 0, count: T), count: T)
                    for i in 0..<T {
                        let valid = causal ? i + 1 : T
                        let sc = (0..<valid).map { j in scale * (0..<hd).reduce(0) { $0 + q(i, $1) * k(j, $1) } }
                        let mx = sc.max()!, e = sc.map { Foundation.exp($0 - mx) }, sum = e.reduce(0, +)
                        for j in 0..<valid { p[i][j] = e[j] / sum }
                    }
                    var dq = [[Double]](repeating: [Double](repeating: 0, count: hd), count: T), dk = dq, dv = dq
                    for i in 0..<T {
                        let dp = (0..<T).map { j in (0..<hd).reduce(0) { $0 + g(i, $1) * v(j, $1) } }
                        let dot = (0..<T).reduce(0) { $0 + p[i][$1] * dp[$1] }
                        for j in 0..<T {
                            let ds = p[i][j] * (dp[j] - dot) * scale
                            for d in 0..<hd {
                                dq[i][d] += ds * k(j, d); dk[j][d] += ds * q(i, d); dv[j][d] += p[i][j] * g(i, d)
                            }
                        }
                        for d in 0..<hd {
                            let o = (0..<T).reduce(0) { $0 + p[i][$1] * v($1, d) }
                            worstOut = max(worstOut, abs(o - Double(out[(b * T + i) * C + h * hd + d])))
                        }
                    }
                    for i in 0..<T {
                        for d in 0..<hd {
                            let row = (b * T + i) * C3 + h * hd + d
                            worstGrad = max(worstGrad, abs(dq[i][d] - Double(dqkv[row])), abs(dk[i][d] - Double(dqkv[row + C])),
                                            abs(dv[i][d] - Double(dqkv[row + 2 * C])))
                        }
                    }
                }
            }
            XCTAssertLessThan(worstOut, 1e-5, "T \(T), hd \(hd), causal \(causal)")
            XCTAssertLessThan(worstGrad, 1e-5, "T \(T), hd \(hd), causal \(causal)")
        }
    }

    func testL2Normalize() {
        let rows = 3, dim = 5
        let x = randomBuffer(rows * dim, seed: 17), r = randomBuffer(rows * dim, seed: 18)
        let y = FloatBuffer(count: rows * dim), norms = FloatBuffer(count: rows)
        func loss() -> Double {
            l2NormalizeForward(out: y.pointer, norms: norms.pointer, inp: x.pointer, rows: rows, dim: dim)
            return dot(y.pointer, r.pointer, rows * dim)
        }
        _ = loss()
        let dx = FloatBuffer(count: rows * dim)
        l2NormalizeBackward(dinp: dx.pointer, dout: r.pointer, normalized: y.pointer, norms: norms.pointer, rows: rows, dim: dim)
        checkGradient("x", values: x.pointer, count: x.count, analytic: dx.array, step: 1e-3, loss: loss)
    }

    func testEmbeddingsAndPooling() {
        let batch = 2, context = 4, width = 3, vocab = 6
        let ids: [Int32] = [1, 5, 2, 0, 3, 1, 5, 4]
        let table = randomBuffer(vocab * width, seed: 19), pos = randomBuffer(context * width, seed: 20)
        let r = randomBuffer(batch * width, seed: 21)
        let x = FloatBuffer(count: batch * context * width), pooled = FloatBuffer(count: batch * width)
        let positions = Int32Buffer(count: batch)
        ids.withUnsafeBufferPointer { endOfTextPositions(ids: $0.baseAddress!, batch: batch, context: context, into: positions.pointer) }
        XCTAssertEqual(positions.array, [1, 2], "argmax of the ids, first on ties")
        func loss() -> Double {
            ids.withUnsafeBufferPointer {
                textTokensForward(out: x.pointer, ids: $0.baseAddress!, tokenEmbedding: table.pointer, positional: pos.pointer,
                                  batch: batch, context: context, width: width)
            }
            gatherRows(out: pooled.pointer, x: x.pointer, positions: positions.pointer, batch: batch, tokens: context, width: width)
            return dot(pooled.pointer, r.pointer, batch * width)
        }
        _ = loss()
        let dx = FloatBuffer(count: batch * context * width), dtable = FloatBuffer(count: vocab * width), dpos = FloatBuffer(count: context * width)
        scatterRowsAdd(dx: dx.pointer, dout: r.pointer, positions: positions.pointer, batch: batch, tokens: context, width: width)
        ids.withUnsafeBufferPointer {
            textTokensBackward(dtokenEmbedding: dtable.pointer, dpositional: dpos.pointer, dout: dx.pointer, ids: $0.baseAddress!,
                               batch: batch, context: context, width: width)
        }
        checkGradient("table", values: table.pointer, count: table.count, analytic: dtable.array, loss: loss)
        checkGradient("pos", values: pos.pointer, count: pos.count, analytic: dpos.array, loss: loss)
    }

    func testPatchesFollowConvOrder() {
        // One 4×4 image with 2 channels... use 3 channels, patch 2: patch (gy=0, gx=1) starts at x=2.
        let size = 4, p = 2
        let img = FloatBuffer((0..<(3 * size * size)).map(Float.init))
        let out = FloatBuffer(count: 4 * 3 * p * p)
        im2patches(engine: engine, out: out.pointer, images: img.pointer, batch: 1, channels: 3, imageSize: size, patchSize: p)
        // patch 1 = (gy 0, gx 1): channel 0 rows 0-1, cols 2-3 → 2,3,6,7; then channel 1 → 18,19,22,23
        XCTAssertEqual(Array(out.array[12..<20]), [2, 3, 6, 7, 18, 19, 22, 23])
    }

    func testVisionTokens() {
        let batch = 2, patches = 3, width = 4
        let pe = randomBuffer(batch * patches * width, seed: 22), cls = randomBuffer(width, seed: 23)
        let pos = randomBuffer((patches + 1) * width, seed: 24), r = randomBuffer(batch * (patches + 1) * width, seed: 25)
        let x = FloatBuffer(count: batch * (patches + 1) * width)
        func loss() -> Double {
            visionTokensForward(out: x.pointer, patchEmbeds: pe.pointer, classEmbedding: cls.pointer, positional: pos.pointer,
                                batch: batch, patches: patches, width: width)
            return dot(x.pointer, r.pointer, x.count)
        }
        _ = loss()
        let dpe = FloatBuffer(count: pe.count), dcls = FloatBuffer(count: width), dpos = FloatBuffer(count: pos.count)
        visionTokensBackward(dpatchEmbeds: dpe.pointer, dclass: dcls.pointer, dpositional: dpos.pointer, dout: r.pointer,
                             batch: batch, patches: patches, width: width)
        checkGradient("patches", values: pe.pointer, count: pe.count, analytic: dpe.array, loss: loss)
        checkGradient("class", values: cls.pointer, count: width, analytic: dcls.array, loss: loss)
        checkGradient("pos", values: pos.pointer, count: pos.count, analytic: dpos.array, loss: loss)
    }
}

/// Large products split across engine threads (rows of C when tall, columns otherwise) equal the single call.
final class SplitProductTests: XCTestCase {
    let engine = EngineContext()
    func testSplitProductsMatchOneCall() {
        for (transA, transB, m, n, k) in [(false, true, 300, 90, 40), (true, false, 70, 260, 50), (false, false, 40, 300, 64), (true, true, 257, 129, 33)] {
            let a = randomBuffer(m * k, seed: 31), b = randomBuffer(k * n, seed: 32)
            let lda = transA ? m : k, ldb = transB ? k : n
            let one = FloatBuffer(count: m * n), split = FloatBuffer(count: m * n)
            sgemm(engine: EngineContext(threads: 1), transA: transA, transB: transB, m: m, n: n, k: k, a: a.pointer, lda: lda,
                  b: b.pointer, ldb: ldb, c: one.pointer, ldc: n)
            sgemm(engine: EngineContext(threads: 2), transA: transA, transB: transB, m: m, n: n, k: k, a: a.pointer, lda: lda, b: b.pointer, ldb: ldb, c: split.pointer, ldc: n)
            for i in 0..<(m * n) { XCTAssertEqual(one[i], split[i], accuracy: 1e-4, "\(transA) \(transB) \(m)×\(n)×\(k) [\(i)]") }
            // Reference from the definition.
            var ref = 0.0
            for p in 0..<k {
                let av = transA ? a[p * lda + 7] : a[7 * lda + p]
                let bv = transB ? b[5 * ldb + p] : b[p * ldb + 5]
                ref += Double(av) * Double(bv)
            }
            XCTAssertEqual(Double(split[7 * n + 5]), ref, accuracy: 1e-3)
        }
    }

    /// With several threads the weight gradient sums its rows in pieces (each piece's product and column sums in a
    /// partial, the partials added in order): close to the one-thread sums and to a Double reference, accumulated
    /// onto what the gradients held, and the same bits on every run.
    func testWeightGradientInPiecesMatchesOneCall() {
        let rows = 2100, inDim = 40, outDim = 70
        let dout = randomBuffer(rows * outDim, seed: 41), inp = randomBuffer(rows * inDim, seed: 42)
        let weight = randomBuffer(outDim * inDim, seed: 43)
        let start = randomBuffer(outDim * inDim, seed: 44), startBias = randomBuffer(outDim, seed: 45)
        func run(threads: Int) -> (dw: [Float], db: [Float], dx: [Float]) {
            let engine = EngineContext(threads: threads)
            let dw = FloatBuffer(start.array), db = FloatBuffer(startBias.array), dx = FloatBuffer(count: rows * inDim)
            linearBackward(engine: engine, dinp: dx.pointer, dweight: dw.pointer, dbias: db.pointer, dout: dout.pointer, inp: inp.pointer,
                           weight: weight.pointer, rows: rows, inDim: inDim, outDim: outDim)
            return (dw.array, db.array, dx.array)
        }
        let one = run(threads: 1), split = run(threads: 2), again = run(threads: 2)
        XCTAssertEqual(split.dw, again.dw)
        XCTAssertEqual(split.db, again.db)
        for i in 0..<(rows * inDim) { XCTAssertEqual(split.dx[i], one.dx[i], accuracy: 1e-4, "dx[\(i)]") }
        for i in 0..<(outDim * inDim) { XCTAssertEqual(split.dw[i], one.dw[i], accuracy: 2e-3, "dW[\(i)]") }
        for o in 0..<outDim { XCTAssertEqual(split.db[o], one.db[o], accuracy: 2e-3, "db[\(o)]") }
        for (o, i) in [(0, 0), (33, 17), (69, 39)] {
            var w = Double(start[o * inDim + i]), b = Double(startBias[o])
            for r in 0..<rows {
                w += Double(dout[r * outDim + o]) * Double(inp[r * inDim + i])
                b += Double(dout[r * outDim + o])
            }
            XCTAssertEqual(Double(split.dw[o * inDim + i]), w, accuracy: 2e-3)
            XCTAssertEqual(Double(split.db[o]), b, accuracy: 2e-3)
        }
    }

    /// With several threads LayerNorm's backward pass sums dweight and dbias in pieces of rows, one partial each:
    /// the input gradient equals the one-thread pass's, the parameter gradients are close to it and to a Double
    /// reference, accumulate onto what the gradients held, and come out the same bits on every run. Widths on the
    /// vector grid and off it (scalar path).
    func testLayerNormBackwardInPiecesMatchesOneThread() {
        for dim in [128, 40] {
            let rows = 1000
            let x = randomBuffer(rows * dim, seed: 61, scale: 2), w = randomBuffer(dim, seed: 62), b = randomBuffer(dim, seed: 63)
            let dy = randomBuffer(rows * dim, seed: 64), start = randomBuffer(rows * dim, seed: 65)
            let startW = randomBuffer(dim, seed: 66), startB = randomBuffer(dim, seed: 67)
            let y = FloatBuffer(count: rows * dim), mean = FloatBuffer(count: rows), rstd = FloatBuffer(count: rows)
            layerNormForward(engine: engine, out: y.pointer, mean: mean.pointer, rstd: rstd.pointer, inp: x.pointer, weight: w.pointer,
                             bias: b.pointer, rows: rows, dim: dim)
            func run(threads: Int) -> (dx: [Float], dw: [Float], db: [Float]) {
                let engine = EngineContext(threads: threads)
                let dx = FloatBuffer(start.array), dw = FloatBuffer(startW.array), db = FloatBuffer(startB.array)
                layerNormBackward(engine: engine, dinp: dx.pointer, dweight: dw.pointer, dbias: db.pointer, dout: dy.pointer, inp: x.pointer,
                                  weight: w.pointer, mean: mean.pointer, rstd: rstd.pointer, rows: rows, dim: dim)
                return (dx.array, dw.array, db.array)
            }
            let one = run(threads: 1), split = run(threads: 2), again = run(threads: 2)
            XCTAssertEqual(split.dx, one.dx, "dim \(dim)")
            XCTAssertEqual(split.dw, again.dw)
            XCTAssertEqual(split.db, again.db)
            for i in 0..<dim {
                var gw = Double(startW[i]), gb = Double(startB[i])
                for r in 0..<rows {
                    let norm = (Double(x[r * dim + i]) - Double(mean[r])) * Double(rstd[r])
                    gw += Double(dy[r * dim + i]) * norm
                    gb += Double(dy[r * dim + i])
                }
                XCTAssertEqual(Double(split.dw[i]), gw, accuracy: 2e-3, "dim \(dim), dweight[\(i)]")
                XCTAssertEqual(Double(split.db[i]), gb, accuracy: 2e-3, "dim \(dim), dbias[\(i)]")
                XCTAssertEqual(split.dw[i], one.dw[i], accuracy: 2e-3)
            }
        }
    }

    /// The bias written into each piece's rows before its product: the one-thread result and a Double reference.
    func testLinearForwardWithBiasInPieces() {
        let rows = 1000, inDim = 48, outDim = 96
        let x = randomBuffer(rows * inDim, seed: 51), w = randomBuffer(outDim * inDim, seed: 52), b = randomBuffer(outDim, seed: 53)
        func run(threads: Int) -> [Float] {
            let engine = EngineContext(threads: threads)
            let y = FloatBuffer(count: rows * outDim)
            linearForward(engine: engine, out: y.pointer, inp: x.pointer, weight: w.pointer, bias: b.pointer, rows: rows, inDim: inDim, outDim: outDim)
            return y.array
        }
        let one = run(threads: 1), split = run(threads: 2)
        for i in 0..<(rows * outDim) { XCTAssertEqual(split[i], one[i], accuracy: 1e-4, "y[\(i)]") }
        var ref = Double(b[7])
        for i in 0..<inDim { ref += Double(x[999 * inDim + i]) * Double(w[7 * inDim + i]) }
        XCTAssertEqual(Double(split[999 * outDim + 7]), ref, accuracy: 1e-4)
    }
}
