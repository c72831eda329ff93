import CBLAS
import Foundation

/// Row-major C[m,n] = alpha·op(A)·op(B) + beta·C through OpenBLAS. `lda/ldb/ldc` are row strides, so
/// column slices (one attention head inside a packed q|k|v row) need no copy.
///
/// OpenBLAS itself runs single-threaded (see `BLASKernel.singleThreaded`); a large product is cut here into OpenBLAS
/// calls over pieces of C's rows when it is tall and of its columns otherwise, claimed by `engine`'s threads. The
/// pieces depend only on the shape and the thread count, so results are reproducible.
@inline(__always)
public func sgemm(engine: EngineContext, transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                  alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                  b: UnsafePointer<Float>, ldb: Int,
                  beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, rowsAlone: Bool = false) {
    let product = Product(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                          beta: beta, c: c, ldc: ldc, rowsAlone: rowsAlone)
    let tiles = product.tilesTakeIt(engine)
    guard tiles || (engine.threads > 1 && m * n * k >= 1 << 18) else {
        productPiece(product)
        return
    }
    if tiles || m >= n || rowsAlone {
        sgemmRowPieces(engine: engine, product, rowBias: nil)
    } else {
        parallelChunks(engine: engine, n, minimumPerChunk: 32, sharing: product) { p, _, cols in
            // Column j of op(B) starts at b + j, or at row j (b + j·ldb) when B is stored transposed.
            let bCols = p.transB ? p.b + cols.lowerBound * p.ldb : p.b + cols.lowerBound
            blasSGEMM(p.transA, p.transB, p.m, cols.count, p.k, p.alpha, p.a, p.lda, bCols, p.ldb, p.beta,
                      p.c + cols.lowerBound, p.ldc)
        }
    }
}

/// One product's operands, as the threads computing its pieces read them.
struct Product {
    var transA, transB: Bool
    var m, n, k: Int
    var alpha: Float
    var a: UnsafePointer<Float>
    var lda: Int
    var b: UnsafePointer<Float>
    var ldb: Int
    var beta: Float
    var c: UnsafeMutablePointer<Float>
    var ldc: Int
    /// When set, added to every row of C as the tiles write it (the bias of a linear layer).
    var columnBias: UnsafePointer<Float>? = nil
    /// When set (with beta 0), the tiles' first pass over the terms writes (addend + columnBias) + its sums, addend
    /// laid out as C, and the later passes add onto that: a residual stream and the layer's bias added as C is
    /// first written, the same floats as writing them into C first and accumulating the product onto it.
    var addend: UnsafePointer<Float>? = nil
    /// When set, each row of C is computed alone, the same floats whatever the number of rows: by the tiles at any
    /// depth when they fit, otherwise by one OpenBLAS call per row. OpenBLAS rounds a row differently with the number
    /// of rows (its kernels for the rows left below its blocking, its paths for small products), and inference needs
    /// an example's embedding not to depend on the batch it is in: a run's evaluation and a later `gaplab eval` of its
    /// checkpoint embed in batches of different sizes, and one flipped ranking changes a recall.
    var rowsAlone = false
    /// When above 0, b holds op(B) packed in column panels (`packColumnPanels`) this many floats apart.
    var bPanelStride = 0

    /// Whether the engine's tiles compute this product (once op(B) = Wᵀ is packed, when B is transposed).
    func tilesTakeIt(_ engine: EngineContext) -> Bool {
        !transA && (rowsAlone || ProductKernel.tilesBuilt && k <= tilesPreferredUpToDepth)
            && tilesFit(engine: engine, n: n, alpha: alpha, beta: beta)
    }
}

/// `sgemm` over pieces of C's rows, with `rowBias` (the product then has beta = 1) added to every row of C. A
/// B that the engine's tiles take (a weight, W in dY·W or Wᵀ in X·Wᵀ) is packed once here, for all the pieces, and the
/// tiles add the bias as they write C; through OpenBLAS, each piece's rows of C get the bias written just before
/// its product accumulates onto them, while those rows are about to be read anyway.
@inline(__always)
func sgemmRowPieces(engine: EngineContext, _ product: Product, rowBias: UnsafePointer<Float>?) {
    guard product.tilesTakeIt(engine) else {
        productRowPieces(engine: engine, product, rowBias: rowBias)
        return
    }
    engine.packedPanels.with(count: product.n * product.k) { panels in
        if product.transB {
            packColumnPanels(panels, transposing: product.b, ld: product.ldb, n: product.n, k: product.k)
        } else {
            packColumnPanels(panels, from: product.b, ld: product.ldb, n: product.n, k: product.k)
        }
        var packed = product
        packed.transB = false
        packed.b = UnsafePointer(panels)
        packed.ldb = tileColumns
        packed.bPanelStride = tileColumns * product.k
        if let rowBias {
            packed.beta = 0
            packed.columnBias = rowBias
        }
        productRowPieces(engine: engine, packed, rowBias: nil)
    }
}

@inline(__always)
private func productRowPieces(engine: EngineContext, _ product: Product, rowBias: UnsafePointer<Float>?) {
    parallelChunks(engine: engine, product.m, minimumPerChunk: 32, sharing: (product, rowBias)) { s, _, rows in
        let (p, rowBias) = s
        if let rowBias {
            for r in rows { (p.c + r * p.ldc).update(from: rowBias, count: p.n) }
        }
        var piece = p
        piece.m = rows.count
        // Row i of op(A) starts at a + i·lda, or at column i (a + i) when A is stored transposed.
        piece.a = p.transA ? p.a + rows.lowerBound : p.a + rows.lowerBound * p.lda
        piece.c = p.c + rows.lowerBound * p.ldc
        piece.addend = p.addend.map { $0 + rows.lowerBound * p.ldc }
        productPiece(piece)
    }
}

/// C = alpha·op(A)·op(B) + beta·C on the calling thread: the engine's tiles for a product whose B `sgemmRowPieces`
/// packed for them, OpenBLAS otherwise (a row a call when the rows must be computed alone).
@inline(__always)
func productPiece(_ p: Product) {
    if p.bPanelStride > 0 {
        tiledProduct(p)
        return
    }
    precondition(p.addend == nil, "only the tiles add an addend")
    guard p.rowsAlone else {
        blasSGEMM(p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, p.c, p.ldc)
        return
    }
    for r in 0..<p.m {
        // Row r of op(A) starts at a + r·lda, or at column r (a + r) when A is stored transposed.
        blasSGEMM(p.transA, p.transB, 1, p.n, p.k, p.alpha, p.transA ? p.a + r : p.a + r * p.lda, p.lda, p.b, p.ldb,
                  p.beta, p.c + r * p.ldc, p.ldc)
    }
}

@inline(__always)
func blasSGEMM(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
               _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
               _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// torch's nn.Linear: out[rows, outDim] = inp[rows, inDim] · Wᵀ + b, with W stored [outDim, inDim]. `rowsAlone`:
/// each row's result independent of the number of rows (`Product.rowsAlone`).
public func linearForward(engine: EngineContext, out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                          weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                          rows: Int, inDim: Int, outDim: Int, rowsAlone: Bool = false) {
    guard let bias else {
        sgemm(engine: engine, transB: true, m: rows, n: outDim, k: inDim, a: inp, lda: inDim, b: weight, ldb: inDim,
              beta: 0, c: out, ldc: outDim, rowsAlone: rowsAlone)
        return
    }
    // The bias goes into each piece's rows just before its product accumulates onto them.
    sgemmRowPieces(engine: engine, Product(transA: false, transB: true, m: rows, n: outDim, k: inDim, alpha: 1, a: inp,
                                           lda: inDim, b: weight, ldb: inDim, beta: 1, c: out, ldc: outDim,
                                           rowsAlone: rowsAlone), rowBias: bias)
}

/// A residual block's output projection: out = residual + bias + inp · Wᵀ (out_proj onto the residual stream,
/// c_proj onto the attention branch's output). When the tiles take the product they add the residual and the bias
/// as they first write each tile, so out is not written twice, the same floats as writing them first and
/// accumulating the tiles' product onto them; through OpenBLAS, the residual and the bias are written first and the
/// product accumulates.
public func linearResidualForward(engine: EngineContext, out: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>,
                                  inp: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                                  rows: Int, inDim: Int, outDim: Int, rowsAlone: Bool = false) {
    var product = Product(transA: false, transB: true, m: rows, n: outDim, k: inDim, alpha: 1, a: inp, lda: inDim,
                          b: weight, ldb: inDim, beta: 0, c: out, ldc: outDim, rowsAlone: rowsAlone)
    guard product.tilesTakeIt(engine) else {
        addRowsWithBias(engine: engine, out: out, inp: residual, bias: bias, rows: rows, cols: outDim)
        sgemm(engine: engine, transB: true, m: rows, n: outDim, k: inDim, a: inp, lda: inDim, b: weight, ldb: inDim,
              beta: 1, c: out, ldc: outDim, rowsAlone: rowsAlone)
        return
    }
    product.addend = residual
    sgemmRowPieces(engine: engine, product, rowBias: bias)
}

/// Backward of `linearForward`. Gradients of the weight and bias accumulate (shared parameters are used by
/// several towers); the input gradient is overwritten unless `accumulateInput`.
public func linearBackward(engine: EngineContext, dinp: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>,
                           dbias: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>,
                           inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                           rows: Int, inDim: Int, outDim: Int, accumulateInput: Bool = false) {
    if let dinp {
        sgemm(engine: engine, m: rows, n: inDim, k: outDim, a: dout, lda: outDim, b: weight, ldb: inDim,
              beta: accumulateInput ? 1 : 0, c: dinp, ldc: inDim)
    }
    accumulateWeightGradient(engine: engine, dweight: dweight, dbias: dbias, dout: dout, inp: inp, rows: rows,
                             inDim: inDim, outDim: outDim)
}

/// dW[outDim, inDim] += doutᵀ · inp and db[outDim] += Σ_r dout[r, :], a sum over the batch's rows.
///
/// When the engine's tiles take it (inDim a multiple of 64), `weightGradientOnTiles`. Through OpenBLAS, with
/// several threads the rows are cut into pieces: each piece's product (and column sums) goes to its own partial,
/// and the partials are added in piece order. Cutting dW itself instead would make every thread pack all of the
/// long operand (rows × inDim) for its share.
func accumulateWeightGradient(engine: EngineContext, dweight: UnsafeMutablePointer<Float>,
                              dbias: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>, inp: UnsafePointer<Float>,
                              rows: Int, inDim: Int, outDim: Int) {
    let threads = engine.threads
    if weightGradientTilesFit(engine: engine, inDim: inDim) {
        weightGradientOnTiles(engine: engine, dweight: dweight, dbias: dbias, dout: dout, inp: inp, rows: rows, inDim: inDim, outDim: outDim)
        return
    }
    let pieces = min(threads * piecesPerThread, rows / 256)
    guard threads > 1, pieces > 1, outDim * inDim * rows >= 1 << 18 else {
        productPiece(Product(transA: true, transB: false, m: outDim, n: inDim, k: rows, alpha: 1, a: dout, lda: outDim,
                             b: inp, ldb: inDim, beta: 1, c: dweight, ldc: inDim))
        if let dbias { columnSums(engine: engine, dout, rows: rows, cols: outDim, accumulateInto: dbias) }
        return
    }
    let per = (rows + pieces - 1) / pieces
    let pieceCount = (rows + per - 1) / per
    let stride = outDim * inDim + outDim
    // Every piece's rows are among the first `rows`: the ones are taken here, once, for all of them.
    let ones = engine.ones.pointer(count: rows)
    engine.partialSums.with(count: (pieceCount - 1) * stride) { partials in
        let shared = (dweight, dbias, dout, inp, partials, rows, inDim, outDim, per, pieceCount, ones)
        parallelChunks(engine: engine, pieceCount, sharing: shared) { s, _, range in
            let (dweight, dbias, dout, inp, partials, rows, inDim, outDim, per, _, ones) = s
            let stride = outDim * inDim + outDim
            for piece in range {
                let lo = piece * per, count = min(rows, lo + per) - lo
                // Piece 0 accumulates straight into the gradient; the others write their own partial.
                let w = piece == 0 ? dweight : partials + (piece - 1) * stride
                let bsum = piece == 0 ? dbias : partials + (piece - 1) * stride + outDim * inDim
                productPiece(Product(transA: true, transB: false, m: outDim, n: inDim, k: count, alpha: 1,
                                     a: dout + lo * outDim, lda: outDim, b: inp + lo * inDim, ldb: inDim,
                                     beta: piece == 0 ? 1 : 0, c: w, ldc: inDim))
                if let bsum {
                    if piece > 0 { bsum.update(repeating: 0, count: outDim) }
                    columnSums(dout + lo * outDim, rows: count, cols: outDim, ones: ones, accumulateInto: bsum)
                }
            }
        }
        parallelChunks(engine: engine, outDim, minimumPerChunk: 8, sharing: shared) { s, _, range in
            let (dweight, dbias, _, _, partials, _, inDim, outDim, _, pieceCount, _) = s
            let stride = outDim * inDim + outDim
            for r in range {
                let row = dweight + r * inDim
                for piece in 1..<pieceCount {
                    let p = partials + (piece - 1) * stride + r * inDim
                    for i in 0..<inDim { row[i] += p[i] }
                }
                if let dbias {
                    for piece in 1..<pieceCount { dbias[r] += partials[(piece - 1) * stride + outDim * inDim + r] }
                }
            }
        }
    }
}

/// `weightGradientTiles` over the engine threads, each taking one share of dW: its rows (strips of six) when X,
/// which every share then packs whole, is the narrower operand, its columns (panels of 64) otherwise.
private func weightGradientOnTiles(engine: EngineContext, dweight: UnsafeMutablePointer<Float>,
                                   dbias: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>,
                                   inp: UnsafePointer<Float>, rows: Int, inDim: Int, outDim: Int) {
    let threads = outDim * inDim * rows >= 1 << 18 ? engine.threads : 1
    let strips = stripCount(outDim), panels = inDim / tileColumns
    let byStrips = inDim <= outDim || panels < threads
    let units = byStrips ? strips : panels
    let perThread = weightGradientScratchCount(outDim: outDim)
    engine.partialSums.with(count: threads * perThread) { scratch in
        guard threads > 1 else {
            weightGradientTiles(dweight: dweight, dbias: dbias, dout: dout, inp: inp, rows: rows, inDim: inDim,
                                outDim: outDim, strips: 0..<strips, panels: 0..<panels, scratch: scratch)
            return
        }
        let shared = (dweight, dbias, dout, inp, rows, inDim, outDim, strips, panels, byStrips, scratch, perThread)
        // One share per thread: every share packs the whole of the other operand, so more shares than threads
        // would pack it more often than the claiming of shares saves.
        parallelChunks(engine: engine, units, minimumPerChunk: max(1, units / threads), sharing: shared) { s, slot, range in
            let (dweight, dbias, dout, inp, rows, inDim, outDim, strips, panels, byStrips, scratch, perThread) = s
            weightGradientTiles(dweight: dweight, dbias: byStrips || range.lowerBound == 0 ? dbias : nil,
                                dout: dout, inp: inp, rows: rows, inDim: inDim, outDim: outDim,
                                strips: byStrips ? range : 0..<strips, panels: byStrips ? 0..<panels : range,
                                scratch: scratch + slot * perThread)
        }
    }
}

/// open_clip's projections (`visual.proj`, `text_projection`): out[rows, outDim] = inp · P with P stored [inDim, outDim].
public func projectionForward(engine: EngineContext, out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                              projection: UnsafePointer<Float>, rows: Int, inDim: Int, outDim: Int, rowsAlone: Bool = false) {
    sgemm(engine: engine, m: rows, n: outDim, k: inDim, a: inp, lda: inDim, b: projection, ldb: outDim, c: out,
          ldc: outDim, rowsAlone: rowsAlone)
}

public func projectionBackward(engine: EngineContext, dinp: UnsafeMutablePointer<Float>, dprojection: UnsafeMutablePointer<Float>,
                               dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, projection: UnsafePointer<Float>,
                               rows: Int, inDim: Int, outDim: Int) {
    sgemm(engine: engine, transB: true, m: rows, n: inDim, k: outDim, a: dout, lda: outDim, b: projection, ldb: outDim,
          c: dinp, ldc: inDim)
    sgemm(engine: engine, transA: true, m: inDim, n: outDim, k: rows, a: inp, lda: inDim, b: dout, ldb: outDim, beta: 1,
          c: dprojection, ldc: outDim)
}

/// acc[j] += Σ_r x[r, j] (bias gradients), as one matrix–vector product xᵀ·1.
public func columnSums(engine: EngineContext, _ x: UnsafePointer<Float>, rows: Int, cols: Int,
                       accumulateInto acc: UnsafeMutablePointer<Float>) {
    columnSums(x, rows: rows, cols: cols, ones: engine.ones.pointer(count: rows), accumulateInto: acc)
}

/// `columnSums` with a vector of at least `rows` ones.
@inline(__always)
func columnSums(_ x: UnsafePointer<Float>, rows: Int, cols: Int, ones: UnsafePointer<Float>,
                accumulateInto acc: UnsafeMutablePointer<Float>) {
    cblas_sgemv(CblasRowMajor, CblasTrans, Int32(rows), Int32(cols), 1, x, Int32(cols), ones, 1, 1, acc, 1)
}
