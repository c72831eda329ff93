import Foundation
import GapRandom
import GapEngine
import GapSpec

/// Times each engine kernel alone at the shapes one training step of `config` uses, and reports how much of a
/// step each accounts for (calls per step × time per call). Kernels outside the towers (patch embedding, loss,
/// optimiser) are not listed; the step total from `gaplab bench` shows what they leave. The kernels run on `engine`
/// (the benchmarked model's context, its thread count and product kernel).
struct KernelProfile {
    struct Row {
        var kernel: String
        var shape: String
        var callsPerStep: Int
        var secondsPerCall: Double
        var secondsPerStep: Double { Double(callsPerStep) * secondsPerCall }
    }

    static func measure(engine: EngineContext, config: ModelConfig, batch: Int, secondsPerKernel: Double = 0.25) -> [Row] {
        var rows: [Row] = []
        // The same thread count with every product through OpenBLAS, for the comparison rows.
        let blas = EngineContext(threads: engine.threads, productKernel: .blas)
        let towers: [(name: String, tokens: Int, width: Int, heads: Int, mlp: Int, layers: Int, causal: Bool)] = [
            ("vision", config.vision.tokens, config.vision.width, config.vision.heads,
             Int(Double(config.vision.width) * config.vision.mlpRatio), config.vision.layers, false),
            ("text", config.text.contextLength, config.text.width, config.text.heads,
             Int(Double(config.text.width) * config.text.mlpRatio), config.text.layers, true),
        ]
        for t in towers {
            let n = batch * t.tokens, C = t.width, M = t.mlp, L = t.layers
            let shape = AttentionShape(batch: batch, tokens: t.tokens, width: C, heads: t.heads, causal: t.causal)
            let x = randomBuffer(n * max(3 * C, M)), y = FloatBuffer(count: n * max(3 * C, M))
            let z = randomBuffer(n * max(3 * C, M))
            let w = randomBuffer(max(3 * C, M) * C), dw = FloatBuffer(count: max(3 * C, M) * C)
            let b = randomBuffer(max(3 * C, M)), db = FloatBuffer(count: max(3 * C, M))
            let nearOne = randomBuffer(n * M)
            for i in 0..<(n * M) { nearOne[i] = 1 + nearOne[i] * 0.01 }
            for i in 0..<(n * M) { y[i] = 1 }
            let mean = FloatBuffer(count: n), rstd = FloatBuffer(count: n)
            let statistics = FloatBuffer(count: shape.softmaxStatisticsCount)
            let scratch = FloatBuffer(count: attentionScratchCount(shape, threads: engine.threads))
            func add(_ kernel: String, _ dims: String, calls: Int, _ body: () -> Void) {
                rows.append(Row(kernel: "\(t.name) \(kernel)", shape: dims, callsPerStep: calls,
                                secondsPerCall: time(secondsPerKernel, body)))
            }
            // With the engine's tiles in use, each product is also timed through OpenBLAS, call for call in
            // alternation with the tiles so that both see the same machine (rows marked so, not part of the step's total).
            let compare = engine.productKernel == .tiles && ProductKernel.tilesBuilt
            for (name, inDim, outDim) in [("in_proj", C, 3 * C), ("out_proj", C, C), ("c_fc", C, M), ("c_proj", M, C)] {
                let products: [(String, String, (EngineContext) -> Void)] = [
                    ("forward", "\(n)×\(inDim) → \(outDim)", { engine in
                        linearForward(engine: engine, out: y.pointer, inp: x.pointer, weight: w.pointer, bias: b.pointer,
                                      rows: n, inDim: inDim, outDim: outDim)
                    }),
                    ("input gradient", "\(n)×\(outDim) → \(inDim)", { engine in
                        sgemm(engine: engine, m: n, n: inDim, k: outDim, a: z.pointer, lda: outDim, b: w.pointer, ldb: inDim,
                              beta: 0, c: y.pointer, ldc: inDim)
                    }),
                    ("weight gradient", "\(outDim)×\(inDim), \(n) terms", { engine in
                        linearBackward(engine: engine, dinp: nil, dweight: dw.pointer, dbias: db.pointer, dout: z.pointer, inp: x.pointer,
                                       weight: w.pointer, rows: n, inDim: inDim, outDim: outDim)
                    }),
                ]
                for (pass, dims, body) in products {
                    guard compare else {
                        add("\(name) \(pass)", dims, calls: L) { body(engine) }
                        continue
                    }
                    let (tiled, throughBLAS) = timeAlternating(secondsPerKernel, { body(engine) }, { body(blas) })
                    rows.append(Row(kernel: "\(t.name) \(name) \(pass)", shape: dims, callsPerStep: L, secondsPerCall: tiled))
                    rows.append(Row(kernel: "\(t.name) \(name) \(pass) (OpenBLAS)", shape: dims, callsPerStep: 0,
                                    secondsPerCall: throughBLAS))
                }
            }
            add("layer norm forward", "\(n)×\(C)", calls: 2 * L + 1) {
                layerNormForward(engine: engine, out: y.pointer, mean: mean.pointer, rstd: rstd.pointer, inp: x.pointer,
                                 weight: w.pointer, bias: b.pointer, rows: n, dim: C)
            }
            add("layer norm backward", "\(n)×\(C)", calls: 2 * L + 1) {
                layerNormBackward(engine: engine, dinp: y.pointer, dweight: dw.pointer, dbias: db.pointer, dout: z.pointer, inp: x.pointer,
                                  weight: w.pointer, mean: mean.pointer, rstd: rstd.pointer, rows: n, dim: C)
            }
            add("bias + gelu forward, saving GELU′", "\(n)×\(M)", calls: L) {
                biasGELUForward(engine: engine, out: y.pointer, derivative: z.pointer, inp: x.pointer, bias: b.pointer, rows: n, cols: M)
            }
            add("gelu backward (× GELU′)", "\(n)×\(M)", calls: L) {
                // Factors near 1, so that repeating the in-place product neither underflows nor overflows.
                multiplyElementwise(engine: engine, y.pointer, by: nearOne.pointer, count: n * M)
            }
            let heads = "\(batch)×\(t.heads) heads × \(t.tokens)²\(t.causal ? ", causal" : "")"
            add("attention forward", heads, calls: L) {
                attentionForward(engine: engine, out: y.pointer, softmaxStatistics: statistics.pointer, qkv: x.pointer,
                                 scratch: scratch.mutableBuffer, shape: shape)
            }
            add("attention backward", heads, calls: L) {
                attentionBackward(engine: engine, dqkv: y.pointer, dout: z.pointer, qkv: x.pointer,
                                  softmaxStatistics: statistics.pointer, scratch: scratch.mutableBuffer, shape: shape)
            }
        }
        return rows
    }

    static func randomBuffer(_ count: Int) -> FloatBuffer {
        var rng = SeededRandom(seed: 7, stream: "kernel-profile")
        let buffer = FloatBuffer(count: count)
        for i in 0..<count { buffer[i] = Float(rng.gaussian()) * 0.1 }
        return buffer
    }

    /// Median seconds per call over repetitions filling about `budget` seconds (at least 5 calls).
    static func time(_ budget: Double, _ body: () -> Void) -> Double {
        body()
        var samples: [Double] = []
        var spent = 0.0
        while spent < budget || samples.count < 5 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            let s = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            samples.append(s)
            spent += s
        }
        return median(samples)
    }

    /// Median seconds per call of `first` and of `second`, called in turn over about `budget` seconds (at least 5 each).
    static func timeAlternating(_ budget: Double, _ first: () -> Void, _ second: () -> Void) -> (Double, Double) {
        first()
        second()
        var a: [Double] = [], b: [Double] = []
        var spent = 0.0
        func seconds(_ body: () -> Void) -> Double {
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        }
        while spent < budget || a.count < 5 {
            a.append(seconds(first))
            b.append(seconds(second))
            spent += a[a.count - 1] + b[b.count - 1]
        }
        return (median(a), median(b))
    }

    static func table(_ rows: [Row], stepSeconds: Double) -> String {
        var lines = ["| kernel | shape | calls/step | ms/call | ms/step | share of step |", "|---|---|---|---|---|---|"]
        for r in rows {
            lines.append(String(format: "| %@ | %@ | %d | %.3f | %.1f | %.1f%% |", r.kernel, r.shape, r.callsPerStep,
                                1e3 * r.secondsPerCall, 1e3 * r.secondsPerStep, 100 * r.secondsPerStep / stepSeconds))
        }
        let listed = rows.reduce(0) { $0 + $1.secondsPerStep }
        lines.append(String(format: "| listed kernels | | | | %.1f | %.1f%% |", 1e3 * listed, 100 * listed / stepSeconds))
        lines.append(String(format: "| whole training step (median) | | | | %.1f | 100%% |", 1e3 * stepSeconds))
        return lines.joined(separator: "\n")
    }
}
