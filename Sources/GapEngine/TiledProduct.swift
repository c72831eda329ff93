// The engine's own matrix-product kernel for the model's products: C = A·B or C += A·B over tiles of 6 rows × 64
// columns, held in 24 vector registers on AVX-512 builds and a quarter at a time on eight-lane ones (Package.swift),
// the same floats on both.
//
// OpenBLAS copies both operands into packed panels at every call and, for beta = 0, zeroes C first, a sizeable part
// of a training step. The model's products have one long operand (the batch's rows, thousands) and one small one
// (a weight, 128 × 512 at most). Here the long operand is read in place, one element at a time broadcast across a
// vector, and only the small one is ever repacked (`packColumnPanels`, Wᵀ or W).
// They take X·Wᵀ and dY·W up to `tilesPreferredUpToDepth` terms, every layer's product of the model. The weight
// gradient dYᵀ·X (thousands of terms) packs both of its long operands first (`weightGradientTiles`): read in
// place, each term of a tile takes six floats of a row of dY and the next term a row further on (2 KiB for c_fc),
// which costs more than packing them.
// What the tiles guarantee and OpenBLAS does not: each row of C is computed alone, the same whatever the number
// of rows (`Product.rowsAlone`).
//
// A is read in place, row-major with row stride lda. B[kk, j] is at b + (j / 64)·panelStride + kk·ldb + j % 64:
// either a row-major matrix read in place (panelStride 64) or packed panels (ldb 64, panelStride 64·k, the
// `Product`'s `bPanelStride`).

/// Columns of a tile, and of a packed panel of B.
let tileColumns = 64
/// Rows of a tile: 6 × 4 accumulators, 4 vectors of B and a broadcast use 29 of AVX-512's 32 vector registers.
let tileRows = 6
/// Terms per pass over a row block's C: 128 terms of a panel of B (32 KiB) stay in the first-level cache (48 KiB)
/// while the block's tiles pass over them, and the block's C stays in the second-level cache from one pass to the
/// next; longer passes were no faster (docs/PERFORMANCE.md). The passes sit inside the row blocks: passes over the
/// whole of C would read and write all of it at every pass.
let tileDepth = 128
/// Rows per block: the block's A (96 rows of up to 512 floats) is reused from the second-level cache by every panel.
let tileBlockRows = 96

/// Terms up to which the layers' products go to the tiles: all of them, at most 512, since the tiles beat OpenBLAS
/// on every layer's product at the reference shapes (docs/PERFORMANCE.md). Products whose rows must not depend on
/// how many there are (`Product.rowsAlone`) use the tiles at any depth.
let tilesPreferredUpToDepth = 512

/// Whether `tiledProduct` takes a product of these sizes under `engine`'s kernel choice: whole panels of columns
/// (every model width that is a multiple of 64), and alpha 1, beta 0 or 1 (what the layers use).
func tilesFit(engine: EngineContext, n: Int, alpha: Float = 1, beta: Float = 0) -> Bool {
    engine.tilesChosen && n > 0 && n % tileColumns == 0 && alpha == 1 && (beta == 0 || beta == 1)
}

/// C = A·B (beta 0) or C += A·B (beta 1) for a product `tilesFit` takes, with neither operand transposed; plus the
/// product's column bias, when it has one, in the last pass over the terms; or, when it has an addend (a residual),
/// addend and bias in the first pass, which writes C.
func tiledProduct(_ p: Product) {
    precondition(!p.transA && !p.transB && p.alpha == 1 && (p.beta == 0 || p.beta == 1), "a product the tiles do not take")
    precondition(p.addend == nil || p.beta == 0, "an addend goes on the pass that first writes C")
    let panels = p.n / tileColumns, panelStride = p.bPanelStride > 0 ? p.bPanelStride : tileColumns
    var r0 = 0
    while r0 < p.m {
        let r1 = min(r0 + tileBlockRows, p.m)
        // The row block's C stays in the second-level cache while the passes over the terms add onto it.
        var k0 = 0
        repeat {
            let depth = min(tileDepth, p.k - k0)
            let accumulate = p.beta == 1 || k0 > 0
            let first = k0 == 0, last = k0 + depth == p.k
            let bias = (p.addend == nil ? last : first) ? p.columnBias : nil
            for panel in 0..<panels {
                let b = p.b + panel * panelStride + k0 * p.ldb
                let c = p.c + panel * tileColumns, panelBias = bias.map { $0 + panel * tileColumns }
                let addend = first ? p.addend.map { $0 + panel * tileColumns } : nil
                var r = r0
                while r + tileRows <= r1 {
                    tile6(a: p.a + r * p.lda + k0, lda: p.lda, b: b, ldb: p.ldb, c: c + r * p.ldc, ldc: p.ldc,
                          depth: depth, accumulate: accumulate, bias: panelBias, addend: addend.map { $0 + r * p.ldc })
                    r += tileRows
                }
                while r < r1 {
                    tile1(a: p.a + r * p.lda + k0, b: b, ldb: p.ldb, c: c + r * p.ldc, depth: depth, accumulate: accumulate,
                          bias: panelBias, addend: addend.map { $0 + r * p.ldc })
                    r += 1
                }
            }
            k0 += depth
        } while k0 < p.k
        r0 = r1
    }
}

#if GAPLAB_AVX512
/// Six rows of A: row j's term kk at a[j·lda + kk·termStride] (termStride 1 for a row-major A read in place, 6 for
/// the weight gradient's packed strips of dY).
@inline(__always)
func tile6(a: UnsafePointer<Float>, lda: Int, termStride: Int = 1, b: UnsafePointer<Float>, ldb: Int,
           c: UnsafeMutablePointer<Float>, ldc: Int, depth: Int, accumulate: Bool, bias: UnsafePointer<Float>?,
           addend: UnsafePointer<Float>?) {
    typealias V = SIMD16<Float>
    var c00 = V(), c01 = V(), c02 = V(), c03 = V(), c10 = V(), c11 = V(), c12 = V(), c13 = V()
    var c20 = V(), c21 = V(), c22 = V(), c23 = V(), c30 = V(), c31 = V(), c32 = V(), c33 = V()
    var c40 = V(), c41 = V(), c42 = V(), c43 = V(), c50 = V(), c51 = V(), c52 = V(), c53 = V()
    var ak = a, bk = b
    for _ in 0..<depth {
        let b0 = load16(bk), b1 = load16(bk + 16), b2 = load16(bk + 32), b3 = load16(bk + 48)
        var s = V(repeating: ak[0])
        c00.addProduct(s, b0); c01.addProduct(s, b1); c02.addProduct(s, b2); c03.addProduct(s, b3)
        s = V(repeating: ak[lda])
        c10.addProduct(s, b0); c11.addProduct(s, b1); c12.addProduct(s, b2); c13.addProduct(s, b3)
        s = V(repeating: ak[2 * lda])
        c20.addProduct(s, b0); c21.addProduct(s, b1); c22.addProduct(s, b2); c23.addProduct(s, b3)
        s = V(repeating: ak[3 * lda])
        c30.addProduct(s, b0); c31.addProduct(s, b1); c32.addProduct(s, b2); c33.addProduct(s, b3)
        s = V(repeating: ak[4 * lda])
        c40.addProduct(s, b0); c41.addProduct(s, b1); c42.addProduct(s, b2); c43.addProduct(s, b3)
        s = V(repeating: ak[5 * lda])
        c50.addProduct(s, b0); c51.addProduct(s, b1); c52.addProduct(s, b2); c53.addProduct(s, b3)
        ak += termStride
        bk += ldb
    }
    if let addend {
        writeRow(c, onto: addend, bias, c00, c01, c02, c03)
        writeRow(c + ldc, onto: addend + ldc, bias, c10, c11, c12, c13)
        writeRow(c + 2 * ldc, onto: addend + 2 * ldc, bias, c20, c21, c22, c23)
        writeRow(c + 3 * ldc, onto: addend + 3 * ldc, bias, c30, c31, c32, c33)
        writeRow(c + 4 * ldc, onto: addend + 4 * ldc, bias, c40, c41, c42, c43)
        writeRow(c + 5 * ldc, onto: addend + 5 * ldc, bias, c50, c51, c52, c53)
        return
    }
    writeRow(c, c00, c01, c02, c03, accumulate, bias)
    writeRow(c + ldc, c10, c11, c12, c13, accumulate, bias)
    writeRow(c + 2 * ldc, c20, c21, c22, c23, accumulate, bias)
    writeRow(c + 3 * ldc, c30, c31, c32, c33, accumulate, bias)
    writeRow(c + 4 * ldc, c40, c41, c42, c43, accumulate, bias)
    writeRow(c + 5 * ldc, c50, c51, c52, c53, accumulate, bias)
}
#else
/// Six rows of A, as on sixteen lanes, in four quarters of 16 columns: with 16 vector registers of eight lanes, 6 × 2
/// accumulators, two vectors of B and a broadcast fit. Every element is summed over the same terms in the same
/// order and written the same way as by the sixteen-lane tile, so both builds' products give the same floats.
@inline(__always)
func tile6(a: UnsafePointer<Float>, lda: Int, termStride: Int = 1, b: UnsafePointer<Float>, ldb: Int,
           c: UnsafeMutablePointer<Float>, ldc: Int, depth: Int, accumulate: Bool, bias: UnsafePointer<Float>?,
           addend: UnsafePointer<Float>?) {
    for q in stride(from: 0, to: tileColumns, by: 16) {
        tile6Quarter(a: a, lda: lda, termStride: termStride, b: b + q, ldb: ldb, c: c + q, ldc: ldc, depth: depth,
                     accumulate: accumulate, bias: bias.map { $0 + q }, addend: addend.map { $0 + q })
    }
}

/// Sixteen columns of `tile6` on eight lanes.
@inline(__always)
private func tile6Quarter(a: UnsafePointer<Float>, lda: Int, termStride: Int, b: UnsafePointer<Float>, ldb: Int,
                          c: UnsafeMutablePointer<Float>, ldc: Int, depth: Int, accumulate: Bool,
                          bias: UnsafePointer<Float>?, addend: UnsafePointer<Float>?) {
    typealias V = SIMD8<Float>
    var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V()
    var c30 = V(), c31 = V(), c40 = V(), c41 = V(), c50 = V(), c51 = V()
    var ak = a, bk = b
    for _ in 0..<depth {
        let b0 = load8(bk), b1 = load8(bk + 8)
        var s = V(repeating: ak[0])
        c00.addProduct(s, b0); c01.addProduct(s, b1)
        s = V(repeating: ak[lda]); c10.addProduct(s, b0); c11.addProduct(s, b1)
        s = V(repeating: ak[2 * lda]); c20.addProduct(s, b0); c21.addProduct(s, b1)
        s = V(repeating: ak[3 * lda]); c30.addProduct(s, b0); c31.addProduct(s, b1)
        s = V(repeating: ak[4 * lda]); c40.addProduct(s, b0); c41.addProduct(s, b1)
        s = V(repeating: ak[5 * lda]); c50.addProduct(s, b0); c51.addProduct(s, b1)
        ak += termStride
        bk += ldb
    }
    writeQuarterRow(c, x0: c00, x1: c01, accumulate, bias, addend)
    writeQuarterRow(c + ldc, x0: c10, x1: c11, accumulate, bias, addend.map { $0 + ldc })
    writeQuarterRow(c + 2 * ldc, x0: c20, x1: c21, accumulate, bias, addend.map { $0 + 2 * ldc })
    writeQuarterRow(c + 3 * ldc, x0: c30, x1: c31, accumulate, bias, addend.map { $0 + 3 * ldc })
    writeQuarterRow(c + 4 * ldc, x0: c40, x1: c41, accumulate, bias, addend.map { $0 + 4 * ldc })
    writeQuarterRow(c + 5 * ldc, x0: c50, x1: c51, accumulate, bias, addend.map { $0 + 5 * ldc })
}

/// Sixteen columns of one row of a tile written as the sixteen-lane `writeRow`s round: (addend + bias) + sums, or
/// the sums, plus C, plus the bias.
@inline(__always)
private func writeQuarterRow(_ c: UnsafeMutablePointer<Float>, x0: SIMD8<Float>, x1: SIMD8<Float>, _ accumulate: Bool,
                             _ bias: UnsafePointer<Float>?, _ addend: UnsafePointer<Float>?) {
    var y0 = x0, y1 = x1
    if let addend {
        var a0 = load8(addend), a1 = load8(addend + 8)
        if let bias { a0 += load8(bias); a1 += load8(bias + 8) }
        y0 = a0 + x0; y1 = a1 + x1
    } else {
        if accumulate { y0 += load8(c); y1 += load8(c + 8) }
        if let bias { y0 += load8(bias); y1 += load8(bias + 8) }
    }
    store8(y0, c); store8(y1, c + 8)
}

@inline(__always)
private func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always)
private func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}
#endif

/// One row of a tile: the rows left over below a multiple of six.
@inline(__always)
private func tile1(a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
                   c: UnsafeMutablePointer<Float>, depth: Int, accumulate: Bool, bias: UnsafePointer<Float>?,
                   addend: UnsafePointer<Float>?) {
    typealias V = SIMD16<Float>
    var c0 = V(), c1 = V(), c2 = V(), c3 = V()
    var bk = b
    for kk in 0..<depth {
        let s = V(repeating: a[kk])
        c0.addProduct(s, load16(bk)); c1.addProduct(s, load16(bk + 16))
        c2.addProduct(s, load16(bk + 32)); c3.addProduct(s, load16(bk + 48))
        bk += ldb
    }
    if let addend {
        writeRow(c, onto: addend, bias, c0, c1, c2, c3)
        return
    }
    writeRow(c, c0, c1, c2, c3, accumulate, bias)
}

/// One row of a tile written: the sums, or C plus them, then the bias (the order in which a product accumulated
/// over several passes and its bias added afterwards round).
@inline(__always)
private func writeRow(_ c: UnsafeMutablePointer<Float>, _ x0: SIMD16<Float>, _ x1: SIMD16<Float>, _ x2: SIMD16<Float>,
                      _ x3: SIMD16<Float>, _ accumulate: Bool, _ bias: UnsafePointer<Float>?) {
    var y0 = x0, y1 = x1, y2 = x2, y3 = x3
    if accumulate { y0 += load16(c); y1 += load16(c + 16); y2 += load16(c + 32); y3 += load16(c + 48) }
    if let bias { y0 += load16(bias); y1 += load16(bias + 16); y2 += load16(bias + 32); y3 += load16(bias + 48) }
    store16(y0, c); store16(y1, c + 16); store16(y2, c + 32); store16(y3, c + 48)
}

/// One row of a tile written as (addend + bias) + sums: the order in which writing addend + bias into C first and
/// accumulating onto it rounds.
@inline(__always)
private func writeRow(_ c: UnsafeMutablePointer<Float>, onto addend: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                      _ x0: SIMD16<Float>, _ x1: SIMD16<Float>, _ x2: SIMD16<Float>, _ x3: SIMD16<Float>) {
    var a0 = load16(addend), a1 = load16(addend + 16), a2 = load16(addend + 32), a3 = load16(addend + 48)
    if let bias { a0 += load16(bias); a1 += load16(bias + 16); a2 += load16(bias + 32); a3 += load16(bias + 48) }
    store16(a0 + x0, c); store16(a1 + x1, c + 16); store16(a2 + x2, c + 32); store16(a3 + x3, c + 48)
}

@inline(__always)
func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

@inline(__always)
func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
}

/// Packs op(B) = Wᵀ, for W stored [n, k] with row stride `ld` (a linear layer's weight), into panels of 64
/// columns: out[(j / 64)·64·k + kk·64 + j % 64] = W[j, kk]. n is a multiple of 64.
func packColumnPanels(_ out: UnsafeMutablePointer<Float>, transposing w: UnsafePointer<Float>, ld: Int, n: Int, k: Int) {
    for j0 in stride(from: 0, to: n, by: tileColumns) {
        let panel = out + j0 * k
        for j in 0..<tileColumns {
            let row = w + (j0 + j) * ld
            for kk in 0..<k { panel[kk * tileColumns + j] = row[kk] }
        }
    }
}

/// Packs B stored [k, n] with row stride `ld` (a weight read as it is stored, in dY·W) into the same panels:
/// out[(j / 64)·64·k + kk·64 + j % 64] = B[kk, j].
func packColumnPanels(_ out: UnsafeMutablePointer<Float>, from b: UnsafePointer<Float>, ld: Int, n: Int, k: Int) {
    for j0 in stride(from: 0, to: n, by: tileColumns) { packPanel(out + j0 * k, from: b + j0, ld: ld, depth: k) }
}

/// out[t·64 + j] = src[t·ld + j]: 64 columns of `depth` rows made contiguous (a panel of B, or of the weight
/// gradient's X).
@inline(__always)
func packPanel(_ out: UnsafeMutablePointer<Float>, from src: UnsafePointer<Float>, ld: Int, depth: Int) {
    var s = src, o = out
    for _ in 0..<depth {
        store16(load16(s), o); store16(load16(s + 16), o + 16)
        store16(load16(s + 32), o + 32); store16(load16(s + 48), o + 48)
        s += ld
        o += tileColumns
    }
}
