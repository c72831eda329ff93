@testable import GapEngine
import GapTestSupport
import XCTest

/// The engine's register-tiled products against a Double reference for every element: rows left over below a
/// multiple of six, more terms than one pass over C takes (700 > 512), several column panels, C overwritten and
/// accumulated, B packed and read in place; then the layers that use them, at one thread and two.
final class TiledProductTests: XCTestCase {
    func testTilesMatchDoubleReference() {
        for (m, n, k) in [(6, 64, 1), (199, 128, 40), (97, 192, 700), (13, 64, 512)] {
            let a = randomBuffer(m * k, seed: UInt64(m)), w = randomBuffer(n * k, seed: UInt64(n + k))
            let start = randomBuffer(m * n, seed: 7)
            // B read in place: B = wᵀ stored [k, n] (the input gradient's weight).
            let bRowMajor = FloatBuffer(count: k * n)
            for kk in 0..<k { for j in 0..<n { bRowMajor[kk * n + j] = w[j * k + kk] } }
            let panels = FloatBuffer(count: n * k)
            packColumnPanels(panels.pointer, transposing: w.pointer, ld: k, n: n, k: k)
            for (packed, accumulate) in [(false, false), (true, false), (false, true), (true, true)] {
                let c = FloatBuffer(start.array)
                var product = Product(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: a.pointer, lda: k,
                                      b: packed ? panels.pointer : bRowMajor.pointer, ldb: packed ? tileColumns : n,
                                      beta: accumulate ? 1 : 0, c: c.pointer, ldc: n)
                product.bPanelStride = packed ? tileColumns * k : 0
                tiledProduct(product)
                var worst = 0.0
                for i in 0..<m {
                    for j in 0..<n {
                        var ref = accumulate ? Double(start[i * n + j]) : 0
                        for kk in 0..<k { ref += Double(a[i * k + kk]) * Double(w[j * k + kk]) }
                        worst = max(worst, abs(ref - Double(c[i * n + j])))
                    }
                }
                XCTAssertLessThan(worst, 1e-4, "\(m)×\(n)×\(k), packed \(packed), accumulate \(accumulate)")
            }
        }
    }

    /// The weight gradient on the tiles, dW += dYᵀ·X and db += Σ dY: against a Double reference for every element,
    /// accumulated onto what the gradients held; rows not a multiple of a packed block, a last strip of dW with
    /// fewer than six rows, dW shared out by strips and by panels; the same bits at one thread and two, and close
    /// to OpenBLAS's.
    func testWeightGradientTilesMatchDoubleReference() throws {
        try XCTSkipUnless(ProductKernel.tilesBuilt, "the tiles are built on AVX-512 machines only")
        for (rows, inDim, outDim) in [(1000, 128, 200), (333, 256, 64), (130, 64, 384), (7, 64, 6)] {
            let dout = randomBuffer(rows * outDim, seed: UInt64(rows)), inp = randomBuffer(rows * inDim, seed: UInt64(inDim))
            let weight = randomBuffer(outDim * inDim, seed: 3)
            let start = randomBuffer(outDim * inDim, seed: 4), startBias = randomBuffer(outDim, seed: 5)
            func run(threads: Int, tiles: Bool) -> (dw: [Float], db: [Float]) {
                let engine = EngineContext(threads: threads, productKernel: tiles ? .tiles : .blas)
                let dw = FloatBuffer(start.array), db = FloatBuffer(startBias.array)
                linearBackward(engine: engine, dinp: nil, dweight: dw.pointer, dbias: db.pointer, dout: dout.pointer, inp: inp.pointer,
                               weight: weight.pointer, rows: rows, inDim: inDim, outDim: outDim)
                return (dw.array, db.array)
            }
            let one = run(threads: 1, tiles: true), two = run(threads: 2, tiles: true), blas = run(threads: 1, tiles: false)
            let shape = "\(rows) rows, \(outDim)×\(inDim)"
            XCTAssertEqual(one.dw, two.dw, shape)
            XCTAssertEqual(one.db, two.db, shape)
            var worst = 0.0, worstBias = 0.0, fromBLAS: Float = 0
            for o in 0..<outDim {
                var b = Double(startBias[o])
                for r in 0..<rows { b += Double(dout[r * outDim + o]) }
                worstBias = max(worstBias, abs(b - Double(one.db[o])))
                for i in 0..<inDim {
                    var w = Double(start[o * inDim + i])
                    for r in 0..<rows { w += Double(dout[r * outDim + o]) * Double(inp[r * inDim + i]) }
                    worst = max(worst, abs(w - Double(one.dw[o * inDim + i])))
                    fromBLAS = max(fromBLAS, abs(blas.dw[o * inDim + i] - one.dw[o * inDim + i]))
                }
            }
            XCTAssertLessThan(worst, 1e-3, shape)
            XCTAssertLessThan(worstBias, 1e-3, shape)
            XCTAssertLessThan(fromBLAS, 2e-3, shape)
        }
    }

    /// A block's output projection onto its residual: the tiles adding residual and bias as they first write C give
    /// the same floats as the residual and bias written first with the tiles' product accumulated onto them, in one
    /// pass over the terms and in several (320 terms); close to a Double reference and to OpenBLAS, at one thread
    /// and two.
    func testResidualProjectionEqualsAccumulatingOntoResidual() {
        let rows = 1003, outDim = 128
        for inDim in [128, 64, 320] {
            let x = randomBuffer(rows * inDim, seed: 71), w = randomBuffer(outDim * inDim, seed: 72)
            let bias = randomBuffer(outDim, seed: 73), residual = randomBuffer(rows * outDim, seed: 74)
            for threads in [1, 2] {
                let engine = EngineContext(threads: threads)
                let fused = FloatBuffer(count: rows * outDim), accumulated = FloatBuffer(count: rows * outDim)
                linearResidualForward(engine: engine, out: fused.pointer, residual: residual.pointer, inp: x.pointer, weight: w.pointer,
                                      bias: bias.pointer, rows: rows, inDim: inDim, outDim: outDim)
                addRowsWithBias(engine: engine, out: accumulated.pointer, inp: residual.pointer, bias: bias.pointer, rows: rows, cols: outDim)
                sgemm(engine: engine, transB: true, m: rows, n: outDim, k: inDim, a: x.pointer, lda: inDim, b: w.pointer, ldb: inDim,
                      beta: 1, c: accumulated.pointer, ldc: outDim)
                XCTAssertEqual(fused.array, accumulated.array, "inDim \(inDim), threads \(threads)")
                var worst = 0.0
                for r in stride(from: 0, to: rows, by: 7) {
                    for o in 0..<outDim {
                        var ref = Double(residual[r * outDim + o]) + Double(bias[o])
                        for i in 0..<inDim { ref += Double(x[r * inDim + i]) * Double(w[o * inDim + i]) }
                        worst = max(worst, abs(ref - Double(fused[r * outDim + o])))
                    }
                }
                XCTAssertLessThan(worst, 1e-4, "inDim \(inDim), threads \(threads)")
                // Through OpenBLAS: the residual and bias written first, then the product accumulated.
                let blas = EngineContext(threads: threads, productKernel: .blas)
                let viaBLAS = FloatBuffer(count: rows * outDim)
                linearResidualForward(engine: blas, out: viaBLAS.pointer, residual: residual.pointer, inp: x.pointer, weight: w.pointer,
                                      bias: bias.pointer, rows: rows, inDim: inDim, outDim: outDim)
                for i in stride(from: 0, to: rows * outDim, by: 13) {
                    XCTAssertEqual(viaBLAS[i], fused[i], accuracy: 1e-4)
                }
            }
        }
    }

    /// Forward (with and without bias) and the input gradient (overwritten and accumulated) at widths the tiles take
    /// on AVX-512 builds, against Double, at one thread and two; with one pass of the tiles over the terms and with
    /// several (320 and 192 terms), the bias added once at the end.
    func testLinearLayersAtTiledWidths() {
        let rows = 1003, outDim = 192
        for inDim in [128, 320] {
            let x = randomBuffer(rows * inDim, seed: 61), w = randomBuffer(outDim * inDim, seed: 62)
            let bias = randomBuffer(outDim, seed: 63)
            let dy = randomBuffer(rows * outDim, seed: 64), dxStart = randomBuffer(rows * inDim, seed: 65)
            for threads in [1, 2] {
                let engine = EngineContext(threads: threads)
                let unbiased = FloatBuffer(count: rows * outDim)
                for withBias in [false, true] {
                    let y = withBias ? FloatBuffer(count: rows * outDim) : unbiased
                    linearForward(engine: engine, out: y.pointer, inp: x.pointer, weight: w.pointer, bias: withBias ? bias.pointer : nil,
                                  rows: rows, inDim: inDim, outDim: outDim)
                    if withBias {
                        // The tiles add the bias as they write C: the same floats as adding it to the product afterwards.
                        var exact = true
                        for r in 0..<rows {
                            for o in 0..<outDim where y[r * outDim + o] != unbiased[r * outDim + o] + bias[o] { exact = false }
                        }
                        XCTAssertTrue(exact, "bias added once to the finished product, \(inDim) terms, threads \(threads)")
                    }
                    var worst = 0.0
                    for r in stride(from: 0, to: rows, by: 7) {
                        for o in 0..<outDim {
                            var ref = withBias ? Double(bias[o]) : 0
                            for i in 0..<inDim { ref += Double(x[r * inDim + i]) * Double(w[o * inDim + i]) }
                            worst = max(worst, abs(ref - Double(y[r * outDim + o])))
                        }
                    }
                    XCTAssertLessThan(worst, 1e-4, "forward, \(inDim) terms, threads \(threads), bias \(withBias)")
                }
                for accumulate in [false, true] {
                    let dx = FloatBuffer(dxStart.array), dw = FloatBuffer(count: outDim * inDim)
                    linearBackward(engine: engine, dinp: dx.pointer, dweight: dw.pointer, dbias: nil, dout: dy.pointer, inp: x.pointer,
                                   weight: w.pointer, rows: rows, inDim: inDim, outDim: outDim, accumulateInput: accumulate)
                    var worst = 0.0
                    for r in stride(from: 0, to: rows, by: 5) {
                        for i in 0..<inDim {
                            var ref = accumulate ? Double(dxStart[r * inDim + i]) : 0
                            for o in 0..<outDim { ref += Double(dy[r * outDim + o]) * Double(w[o * inDim + i]) }
                            worst = max(worst, abs(ref - Double(dx[r * inDim + i])))
                        }
                    }
                    XCTAssertLessThan(worst, 1e-4, "input gradient, \(inDim) columns, threads \(threads), accumulate \(accumulate)")
                }
            }
        }
    }
}
