// The weight gradient of a linear layer on the engine's tiles: dW[o, i] += Σ_r dY[r, o]·X[r, i] over the batch's
// rows (thousands of terms), and db[o] += Σ_r dY[r, o].
//
// Both operands are long (rows × outDim and rows × inDim), and read in place they are read a row apart at every
// term: 512 B to 2 KiB, strides at which a block of rows falls into a few sets of the first-level cache. So, as
// OpenBLAS does, each block of `gradientBlockTerms` rows is packed first: dY into strips of six columns (a tile's
// six rows of dW, six floats a term) and X into panels of 64 columns (64 floats a term), and the tiles read both
// contiguously. The threads split dW itself, not the rows (as the OpenBLAS path does, `accumulateWeightGradient`):
// every element of dW is summed over the rows in order by one thread, so there are no partial sums to add up
// afterwards, and the result is the same at any thread count.

/// Rows of the batch per packed block: a panel of X (128 × 64 floats, 32 KiB) stays in the first-level cache
/// (48 KiB) while every strip of dY passes over it; larger blocks no longer fit and were slower, smaller ones were
/// no faster (docs/PERFORMANCE.md).
let gradientBlockTerms = 128

/// Floats of scratch one call of `weightGradientTiles` needs for a gradient with outDim rows: every strip of dY of
/// one block, and one panel of X.
func weightGradientScratchCount(outDim: Int) -> Int {
    gradientBlockTerms * (stripCount(outDim) * tileRows + tileColumns) + tileRows * tileColumns
}

func stripCount(_ outDim: Int) -> Int { (outDim + tileRows - 1) / tileRows }

/// Whether the tiles take a weight gradient with rows of inDim columns: whole panels, as for the products.
func weightGradientTilesFit(engine: EngineContext, inDim: Int) -> Bool {
    ProductKernel.tilesBuilt && tilesFit(engine: engine, n: inDim)
}

/// Adds the strips (six rows of dW each, the last possibly fewer) and panels (64 columns each) given of dW += dYᵀ·X,
/// and, when dbias is given, the column sums of dY's columns in those strips. Sums run over the rows in order, in
/// blocks of `gradientBlockTerms` rows.
func weightGradientTiles(dweight: UnsafeMutablePointer<Float>, dbias: UnsafeMutablePointer<Float>?,
                         dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, rows: Int, inDim: Int, outDim: Int,
                         strips: Range<Int>, panels: Range<Int>, scratch: UnsafeMutablePointer<Float>) {
    let packedB = scratch + gradientBlockTerms * strips.count * tileRows
    let leftover = packedB + gradientBlockTerms * tileColumns
    let columns = strips.lowerBound * tileRows..<min(outDim, strips.upperBound * tileRows)
    var r0 = 0
    while r0 < rows {
        let depth = min(gradientBlockTerms, rows - r0)
        let block = dout + r0 * outDim
        for (index, strip) in strips.enumerated() {
            packStrip(scratch + index * depth * tileRows, from: block + strip * tileRows, ld: outDim, depth: depth,
                      width: min(tileRows, outDim - strip * tileRows), eightFit: strip * tileRows + 8 <= outDim)
        }
        if let dbias { addColumns(of: block, ld: outDim, rows: depth, columns: columns, into: dbias) }
        for panel in panels {
            packPanel(packedB, from: inp + r0 * inDim + panel * tileColumns, ld: inDim, depth: depth)
            for (index, strip) in strips.enumerated() {
                let width = min(tileRows, outDim - strip * tileRows)
                let c = dweight + strip * tileRows * inDim + panel * tileColumns
                let a = UnsafePointer(scratch + index * depth * tileRows)
                if width == tileRows {
                    tile6(a: a, lda: 1, termStride: tileRows, b: packedB, ldb: tileColumns, c: c, ldc: inDim,
                          depth: depth, accumulate: true, bias: nil, addend: nil)
                } else {
                    // The last strip's missing rows were packed as zeros; its tile goes through a scratch tile so
                    // that only the rows dW has are added.
                    tile6(a: a, lda: 1, termStride: tileRows, b: packedB, ldb: tileColumns, c: leftover,
                          ldc: tileColumns, depth: depth, accumulate: false, bias: nil, addend: nil)
                    for j in 0..<width {
                        let row = c + j * inDim, sums = leftover + j * tileColumns
                        for i in stride(from: 0, to: tileColumns, by: 16) {
                            store16(load16(row + i) + load16(sums + i), row + i)
                        }
                    }
                }
            }
        }
        r0 += depth
    }
}

/// out[t·6 + j] = src[t·ld + j] for the strip's width columns, zeros for the columns past dY's last. A full strip
/// whose row has two more floats after it moves eight at a time, one vector each way: the two extra floats land
/// where the next row's six (or, after the last row, the next strip's) are written next.
@inline(__always)
private func packStrip(_ out: UnsafeMutablePointer<Float>, from src: UnsafePointer<Float>, ld: Int, depth: Int, width: Int,
                       eightFit: Bool) {
    var s = src, o = out
    if width == tileRows && eightFit {
        for _ in 0..<depth {
            UnsafeMutableRawPointer(o).storeBytes(of: UnsafeRawPointer(s).loadUnaligned(as: SIMD8<Float>.self),
                                                  as: SIMD8<Float>.self)
            s += ld
            o += tileRows
        }
    } else {
        for _ in 0..<depth {
            for j in 0..<tileRows { o[j] = j < width ? s[j] : 0 }
            s += ld
            o += tileRows
        }
    }
}

/// sums[c] += Σ_r x[r·ld + c] for c in `columns`, row by row.
@inline(__always)
private func addColumns(of x: UnsafePointer<Float>, ld: Int, rows: Int, columns: Range<Int>,
                        into sums: UnsafeMutablePointer<Float>) {
    let vectorEnd = columns.lowerBound + (columns.count / 16) * 16
    for c in stride(from: columns.lowerBound, to: vectorEnd, by: 16) {
        var acc = load16(sums + c), p = x + c
        for _ in 0..<rows {
            acc += load16(p)
            p += ld
        }
        store16(acc, sums + c)
    }
    for c in vectorEnd..<columns.upperBound {
        var acc = sums[c], p = x + c
        for _ in 0..<rows {
            acc += p[0]
            p += ld
        }
        sums[c] = acc
    }
}
