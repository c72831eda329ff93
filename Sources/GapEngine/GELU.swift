/// Exact GELU, x·Φ(x) = ½x(1 + erf(x/√2)), as torch.nn.GELU() (open_clip without quick_gelu), vectorised
/// (`normalCDF`): values and derivative within 1e-6·max(1, |x|) of the exact functions (checked against Double in
/// VectorMathTests).
///
/// The MLP's activation with the c_fc bias folded in: out[r, c] = GELU(x[r, c] + bias[c]) over a [rows, cols]
/// matrix, and, when `derivative` is given (training), GELU′ = Φ + x·φ at the same point, sharing Φ and its
/// exponential, so the backward pass is a product (`multiplyElementwise`) instead of a second pass of its own.
/// `derivative` may alias `inp` (the pre-activation is needed for nothing else). One pass instead of a bias pass
/// then a GELU pass over the widest activation of the block.
public func biasGELUForward(engine: EngineContext, out: UnsafeMutablePointer<Float>, derivative: UnsafeMutablePointer<Float>?,
                            inp: UnsafePointer<Float>, bias: UnsafePointer<Float>, rows: Int, cols: Int) {
    parallelChunks(engine: engine, rows, minimumPerChunk: max(1, 16384 / max(cols, 1)), sharing: (out, derivative, inp, bias, cols)) { s, _, range in
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
    x * normalCDF(x).cdf
}

@inline(__always)
private func geluAndDerivative(_ x: VectorMath.Vector) -> (VectorMath.Vector, VectorMath.Vector) {
    let (cdf, gauss) = normalCDF(x)
    // GELU′ = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π).
    return (x * cdf, cdf + x * (gauss * 0.39894228040143268))
}

/// Φ(x), the standard normal CDF, and e^(−x²/2), which Φ and the density φ share, per lane.
///
/// Φ(−|x|) = ½·erfc(|x|/√2), with erfc(z) = P(t)·e^(−z²), t = 1/(1 + p·z), P of degree 5 (Abramowitz and
/// Stegun 7.1.26: erf within 1.5e-7 for every z ≥ 0), and Φ(|x|) = 1 − Φ(−|x|): the left tail, where GELU is
/// small, comes without cancellation. One exponential serves Φ and φ, where erf's own branches and φ take two,
/// and there is no second polynomial, which makes it much cheaper than GELU through `VectorMath.erf`. Where
/// e^(−x²/2) < e^−80 (|x| > 12.6) it is taken as 0, so no lane goes through subnormal arithmetic (slow) and Φ is
/// exactly 0 or 1 there.
@inline(__always)
func normalCDF(_ x: VectorMath.Vector) -> (cdf: VectorMath.Vector, gauss: VectorMath.Vector) {
    typealias V = VectorMath.Vector
    let exponent = -0.5 * x * x
    let negligible = exponent .< -80
    let gauss = VectorMath.expWithinNormalRange(exponent.replacing(with: -80, where: negligible))
        .replacing(with: 0, where: negligible)
    let magnitude = unsafeBitCast(unsafeBitCast(x, to: VectorMath.Bits.self) & 0x7FFF_FFFF, to: V.self)
    let t = 1 / VectorMath.fma(magnitude, V(repeating: 0.3275911 * 0.70710678118654752), 1)
    var p = V(repeating: 1.061405429)
    p = VectorMath.fma(p, t, -1.453152027)
    p = VectorMath.fma(p, t, 1.421413741)
    p = VectorMath.fma(p, t, -0.284496736)
    p = VectorMath.fma(p, t, 0.254829592)
    let lowerTail = (0.5 * t) * p * gauss
    return ((1 - lowerTail).replacing(with: lowerTail, where: x .< 0), gauss)
}
