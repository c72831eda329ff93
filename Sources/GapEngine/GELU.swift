/// Exact GELU, x·Φ(x) = ½x(1 + erf(x/√2)), as torch.nn.GELU() (open_clip without quick_gelu), vectorised with
/// VectorMath's exp and erf: values and derivative within 1e-6·max(1, |x|) of the exact functions (checked
/// against Double in VectorMathTests).
///
/// The MLP's activation with the c_fc bias folded in: out[r, c] = GELU(x[r, c] + bias[c]) over a [rows, cols]
/// matrix, and, when `derivative` is given (training), GELU′ = Φ + x·φ at the same point, sharing the erf, so the
/// backward pass is a product (`multiplyElementwise`) instead of a second erf and exp per element. `derivative` may
/// alias `inp` (the pre-activation is needed for nothing else). One pass instead of a bias pass then a GELU pass
/// over the widest activation of the block.
public func biasGELUForward(out: UnsafeMutablePointer<Float>, derivative: UnsafeMutablePointer<Float>?,
                            inp: UnsafePointer<Float>, bias: UnsafePointer<Float>, rows: Int, cols: Int) {
    parallelChunks(rows, minimumPerChunk: max(1, 16384 / max(cols, 1)), sharing: (out, derivative, inp, bias, cols)) { s, _, range in
        let (out, derivative, inp, bias, cols) = s
        for r in range {
            let x = inp + r * cols, y = out + r * cols
            if let derivative {
                let d = derivative + r * cols
                VectorMath.forEachVector(cols) { i in
                    let (value, slope) = geluAndDerivative(VectorMath.load(x + i) + VectorMath.load(bias + i))
                    VectorMath.store(value, y + i)
                    VectorMath.store(slope, d + i)
                } tail: { i, n in
                    let (value, slope) = geluAndDerivative(VectorMath.loadPartial(x + i, n) + VectorMath.loadPartial(bias + i, n))
                    VectorMath.storePartial(value, y + i, n)
                    VectorMath.storePartial(slope, d + i, n)
                }
            } else {
                VectorMath.forEachVector(cols) { i in
                    VectorMath.store(gelu(VectorMath.load(x + i) + VectorMath.load(bias + i)), y + i)
                } tail: { i, n in
                    VectorMath.storePartial(gelu(VectorMath.loadPartial(x + i, n) + VectorMath.loadPartial(bias + i, n)), y + i, n)
                }
            }
        }
    }
}

@inline(__always)
private func gelu(_ x: VectorMath.Vector) -> VectorMath.Vector {
    (0.5 * x) * (1 + VectorMath.erf(x * 0.70710678118654752))
}

@inline(__always)
private func geluAndDerivative(_ x: VectorMath.Vector) -> (VectorMath.Vector, VectorMath.Vector) {
    let cdf = 0.5 * (1 + VectorMath.erf(x * 0.70710678118654752))
    // x·cdf equals `gelu`'s (½x)(1 + erf): halving is exact either side of the product.
    return (x * cdf, derivative(x, cdf: cdf))
}

/// Φ(x) + x·φ(x), with φ(x) = e^(−x²/2)/√(2π).
@inline(__always)
private func derivative(_ x: VectorMath.Vector, cdf: VectorMath.Vector) -> VectorMath.Vector {
    // For |x| > 13.2, φ(x) < 1.6e-38 is taken as 0: no subnormal arithmetic (slow), and the exponent stays where
    // exp needs no range handling.
    let exponent = -0.5 * x * x
    let negligible = exponent .< -87
    let pdf = (VectorMath.expWithinNormalRange(exponent.replacing(with: -87, where: negligible)) * 0.39894228040143268)
        .replacing(with: 0, where: negligible)
    return cdf + x * pdf
}
