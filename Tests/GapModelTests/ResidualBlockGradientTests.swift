import GapEngine
import GapModel
import GapTestSupport
import XCTest

final class ResidualBlockGradientTests: XCTestCase {
    func blockCheck(causal: Bool, threads: Int) {
        let engine = EngineContext(threads: threads)
        let B = 2, T = 4, C = 8, H = 2, M = 16
        let shape = AttentionShape(batch: B, tokens: T, width: C, heads: H, causal: causal)
        let sizes = [C, C, 3 * C * C, 3 * C, C * C, C, C, C, M * C, M, C * M, C]
        let params = sizes.enumerated().map { i, n in randomBuffer(n, seed: UInt64(100 + i), scale: 0.3) }
        let grads = sizes.map { FloatBuffer(count: $0) }
        func tensors(_ b: [FloatBuffer]) -> BlockTensors {
            BlockTensors(ln1Weight: b[0].pointer, ln1Bias: b[1].pointer, inProjWeight: b[2].pointer, inProjBias: b[3].pointer,
                         outProjWeight: b[4].pointer, outProjBias: b[5].pointer, ln2Weight: b[6].pointer, ln2Bias: b[7].pointer,
                         fcWeight: b[8].pointer, fcBias: b[9].pointer, projWeight: b[10].pointer, projBias: b[11].pointer)
        }
        let x = randomBuffer(B * T * C, seed: 99), r = randomBuffer(B * T * C, seed: 98), y = FloatBuffer(count: B * T * C)
        let cache = BlockCache(maxBatch: B, tokens: T, width: C, heads: H, mlpWidth: M, threads: 4)
        let scratch = BlockGradScratch(maxBatch: B, tokens: T, width: C, heads: H, mlpWidth: M, threads: 4)
        func loss() -> Double {
            residualBlockForward(engine: engine, out: y.pointer, inp: x.pointer, weights: tensors(params), cache: cache, shape: shape, mlpWidth: M)
            return dot(y.pointer, r.pointer, y.count)
        }
        _ = loss()
        let dres = FloatBuffer(r.array)
        residualBlockBackward(engine: engine, dresidual: dres.pointer, inp: x.pointer, weights: tensors(params), grads: tensors(grads), cache: cache,
                              scratch: scratch, shape: shape, mlpWidth: M)
        checkGradient("x", values: x.pointer, count: x.count, analytic: dres.array, samples: 40, step: 5e-3, loss: loss)
        let names = ["ln1.w", "ln1.b", "in_proj.w", "in_proj.b", "out_proj.w", "out_proj.b", "ln2.w", "ln2.b", "fc.w", "fc.b", "proj.w", "proj.b"]
        for i in params.indices {
            checkGradient(names[i], values: params[i].pointer, count: params[i].count, analytic: grads[i].array, step: 5e-3, loss: loss)
        }
    }

    func testBlockUnmasked() { blockCheck(causal: false, threads: 1) }
    func testBlockCausal() { blockCheck(causal: true, threads: 1) }
    func testBlockTwoThreads() { blockCheck(causal: true, threads: 2) }
}
