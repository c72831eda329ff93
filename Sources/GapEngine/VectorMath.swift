/// Float32 exp and erf on SIMD vectors, for element-wise kernels (softmax, GELU) where glibc's scalar expf/erff
/// would dominate. GELU takes Φ from `normalCDF` (GELU.swift), which shares one exponential with GELU′, so no
/// kernel calls erf; it stays, with its tests, as the accurate vector erf.
///
/// Polynomials are evaluated with fused multiply-adds (`fma`): one instruction each in release builds, which target
/// AVX2 + FMA or AVX-512 (Package.swift), and half the latency of a multiply then an add. The
/// coefficients were fitted, and the errors below verified on every Float32 in range, by
/// Tests/GapEngineTests/vector_math_fit.py, which emulates this code operation by operation;
/// Tests/GapEngineTests/VectorMathTests.swift checks the shipped code against Double.
///
/// - exp: under 1 ulp relative error on [-87, 88] (0.975 ulp worst); results below the smallest normal float underflow gradually
///   like libm's (to 0 for x < -103.98); +inf for x > 88.7228 (the largest finite result); NaN stays NaN.
/// - erf: at most 7.4e-8 absolute error over all floats; exactly ±1 for |x| ≥ 3.92; erf(±0) = ±0; NaN stays NaN.
public enum VectorMath {
    #if GAPLAB_AVX512
    /// Sixteen lanes: one AVX-512 register in release builds. With 32 vector registers the erf polynomials (both
    /// branches live at once) still fit without spilling.
    public typealias Vector = SIMD16<Float>
    public typealias Bits = SIMD16<UInt32>
    public typealias Exponents = SIMD16<Int32>
    #else
    /// Eight lanes: one AVX2 register in release builds, so the erf polynomials (both branches live at once) fit in
    /// the sixteen vector registers without spilling.
    public typealias Vector = SIMD8<Float>
    public typealias Bits = SIMD8<UInt32>
    public typealias Exponents = SIMD8<Int32>
    #endif
    /// Lanes per vector; every lane gets the same arithmetic, so only the order of sums over a row depends on it.
    @inlinable public static var width: Int { Vector.scalarCount }

    /// e^x per lane. Transparent, so always inlined (see `sum`).
    @_transparent
    public static func exp(_ x: Vector) -> Vector {
        // Clamped so n below fits the two scale factors: e^-104 underflows to 0 and e^89 overflows to +inf anyway.
        // Comparisons are false for NaN, which passes through unchanged and poisons the result.
        var x = x.replacing(with: -104, where: x .< -104)
        x = x.replacing(with: 89, where: x .> 89)
        let (p, n) = expReduced(x)
        // 2^n as 2^⌊n/2⌋ · 2^⌈n/2⌉: each factor stays a normal float for n in [-150, 128], which covers the
        // largest finite result (n = 128) and gradual underflow (n < -126).
        let half = n &>> 1
        return (p * powerOfTwo(half)) * powerOfTwo(n &- half)
    }

    /// e^x for x in [-87, 88] (n in [-126, 127]): no clamping, one scale factor. Bit-identical to `exp` there.
    @inlinable @inline(__always)
    static func expWithinNormalRange(_ x: Vector) -> Vector {
        let (p, n) = expReduced(x)
        return p * powerOfTwo(n)
    }

    /// e^x = p · 2^n with p = e^r, r = x − n·ln2, |r| ≤ ln2/2.
    @inlinable @inline(__always)
    static func expReduced(_ x: Vector) -> (p: Vector, n: Exponents) {
        // n = round(x / ln2) without a float-to-int conversion: adding 1.5·2^23 rounds to an integer that lands
        // in the low mantissa bits of t.
        let t = x * 1.442695 + 12_582_912
        let n = t - 12_582_912
        // Cody–Waite: ln2 in two parts, n·0.693359375 exact for |n| < 2^15.
        let r = (x - n * 0.693359375) - n * -2.1219444e-4
        var q = Vector(repeating: 1.3811613e-3)
        q = fma(q, r, 8.370155e-3)
        q = fma(q, r, 4.166853e-2)
        q = fma(q, r, 1.6666509e-1)
        q = fma(q, r, 4.9999994e-1)
        let p = 1 + (r + (r * r) * q)
        return (p, unsafeBitCast(t, to: Exponents.self) &- 0x4B40_0000)
    }

    /// a·b + c in one rounding: one instruction in release builds (FMA), a libm call per lane elsewhere,
    /// with the same result either way.
    @inlinable @inline(__always)
    static func fma(_ a: Vector, _ b: Vector, _ c: Float) -> Vector {
        Vector(repeating: c).addingProduct(a, b)
    }

    /// 2^n for n in [-126, 127], built in the exponent bits.
    @inlinable @inline(__always)
    static func powerOfTwo(_ n: Exponents) -> Vector {
        unsafeBitCast((n &+ 127) &<< 23, to: Vector.self)
    }

    /// erf(x) per lane. Transparent, so always inlined (see `sum`).
    @_transparent
    public static func erf(_ x: Vector) -> Vector {
        let bits = unsafeBitCast(x, to: Bits.self)
        let a = unsafeBitCast(bits & 0x7FFF_FFFF, to: Vector.self)
        // |x| < 0.875: odd polynomial, x · P(x²).
        let s = x * x
        var p = Vector(repeating: -6.008975e-4)
        p = fma(p, s, 4.9918233e-3)
        p = fma(p, s, -2.6760941e-2)
        p = fma(p, s, 1.12814434e-1)
        p = fma(p, s, -3.7612414e-1)
        p = fma(p, s, 1.1283791)
        let near = x * p
        // |x| ≥ 0.875: 1 − exp(Q(|x|)) with Q ≈ log erfc. Clamped at 4, where exp(Q) ≈ 1.5e-8 < 2^-25 so the
        // result rounds to exactly 1 (and infinities stay out of the polynomial).
        let u = a.replacing(with: 4, where: a .> 4)
        var q = Vector(repeating: -1.0551254e-6)
        q = fma(q, u, -6.917139e-6)
        q = fma(q, u, 3.5286366e-4)
        q = fma(q, u, -3.908276e-3)
        q = fma(q, u, 2.4601316e-2)
        q = fma(q, u, -1.0763945e-1)
        q = fma(q, u, -6.338323e-1)
        q = fma(q, u, -1.1293088)
        q = fma(q, u, 1.3710083e-4)
        let farMagnitude = 1 - expWithinNormalRange(q)  // q in [-17.7, -1.6]
        let far = unsafeBitCast(unsafeBitCast(farMagnitude, to: Bits.self) | (bits & 0x8000_0000), to: Vector.self)
        return near.replacing(with: far, where: a .>= 0.875)
    }

    /// out[i] = e^inp[i]; out may alias inp.
    public static func exp(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int) {
        forEachVector(count) { i in store(exp(load(inp + i)), out + i) } tail: { i, n in
            storePartial(exp(loadPartial(inp + i, n)), out + i, n)
        }
    }

    /// out[i] = erf(inp[i]); out may alias inp.
    public static func erf(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int) {
        forEachVector(count) { i in store(erf(load(inp + i)), out + i) } tail: { i, n in
            storePartial(erf(loadPartial(inp + i, n)), out + i, n)
        }
    }

    // MARK: - Loops over flat buffers

    /// Calls `body(i)` for each full vector starting at i, then `tail(i, n)` once for the n < width elements left.
    /// Tails go through a zero-padded vector, so every element gets the same arithmetic wherever it sits.
    @inlinable @inline(__always)
    public static func forEachVector(_ count: Int, _ body: (Int) -> Void, tail: (Int, Int) -> Void) {
        var i = 0
        while i + width <= count {
            body(i)
            i += width
        }
        if i < count { tail(i, count - i) }
    }

    @inlinable @inline(__always)
    public static func load(_ p: UnsafePointer<Float>) -> Vector {
        UnsafeRawPointer(p).loadUnaligned(as: Vector.self)
    }

    @inlinable @inline(__always)
    public static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vector.self)
    }

    /// The sum of the lanes, halves added pairwise. Transparent, like `exp` and `erf`: a sixteen-lane vector passed to
    /// a function left out of line travels as four 128-bit quarters, and the function computes a quarter at a time.
    @_transparent
    public static func sum(_ v: Vector) -> Float {
        #if GAPLAB_AVX512
        let eight = v.lowHalf + v.highHalf
        #else
        let eight = v
        #endif
        let four = eight.lowHalf + eight.highHalf
        let two = four.lowHalf + four.highHalf
        return two[0] + two[1]
    }

    /// The largest lane, halves compared pairwise (a compare and a blend each, where the standard library's `max()`
    /// goes lane by lane in scalar code). For vectors without NaN, as softmax's running maxima are (their compares
    /// pass NaN over); a NaN lane may or may not come out.
    @_transparent
    public static func maximum(_ v: Vector) -> Float {
        #if GAPLAB_AVX512
        let eight = v.lowHalf.replacing(with: v.highHalf, where: v.highHalf .> v.lowHalf)
        #else
        let eight = v
        #endif
        let four = eight.lowHalf.replacing(with: eight.highHalf, where: eight.highHalf .> eight.lowHalf)
        let two = four.lowHalf.replacing(with: four.highHalf, where: four.highHalf .> four.lowHalf)
        return two[1] > two[0] ? two[1] : two[0]
    }

    /// Lanes whose index is `first` or more (none when first ≥ width).
    @inlinable @inline(__always)
    public static func lanes(from first: Int) -> SIMDMask<Exponents.MaskStorage> {
        laneIndices .>= Exponents(repeating: Int32(clamping: first))
    }

    @inlinable
    static var laneIndices: Exponents {
        var v = Exponents()
        for i in 0..<Exponents.scalarCount { v[i] = Int32(i) }
        return v
    }

    @inlinable
    public static func loadPartial(_ p: UnsafePointer<Float>, _ n: Int) -> Vector {
        var v = Vector()
        for k in 0..<n { v[k] = p[k] }
        return v
    }

    @inlinable
    public static func storePartial(_ v: Vector, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
        for k in 0..<n { p[k] = v[k] }
    }
}
