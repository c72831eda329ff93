#!/usr/bin/env python3
"""Fits and verifies the polynomial coefficients of Sources/GapEngine/VectorMath.swift.

    python3 Tests/GapEngineTests/vector_math_fit.py               # fit, print Swift constants, verify on a sample
    python3 Tests/GapEngineTests/vector_math_fit.py --exhaustive  # verify erf and exp on every float in range

Fitting: near-minimax polynomials by Lawson's iteratively reweighted least squares on a dense grid, then the
coefficients are rounded to Float32 one at a time from the highest degree down, refitting the lower ones after
each rounding so they absorb the rounding of the higher ones.

Verification emulates the Swift code operation by operation in numpy float32, with its fused multiply-adds (`fma32`:
the float32 product is exact in float64, so one float64 add and one rounding to float32 give the fused result except
for rare double roundings), so the errors printed are those of the shipped code, against float64 references.
"""
import math
import sys

import numpy as np
from scipy.special import erf as erf64, erfc as erfc64

F = np.float32


def fma32(a, b, c):
    return (np.asarray(a, F).astype(np.float64) * np.asarray(b, F).astype(np.float64)
            + np.asarray(c, F).astype(np.float64)).astype(F)


def lawson(basis, target, weight, iterations=400):
    """Coefficients c minimising max |weight · (basis @ c − target)| (approximately)."""
    w = np.full(len(target), 1.0 / len(target))
    c = None
    for _ in range(iterations):
        sw = np.sqrt(w) * weight
        c, *_ = np.linalg.lstsq(basis * sw[:, None], target * sw, rcond=None)
        err = np.abs(weight * (basis @ c - target))
        w = w * err
        w /= w.sum()
    return c


def fit_rounded(basis, target, weight):
    """Lawson fit, then round to Float32 from the last basis column down, refitting the remaining columns."""
    fixed = {}
    n = basis.shape[1]
    for k in reversed(range(n)):
        free = [j for j in range(n) if j not in fixed]
        rest = target - sum(basis[:, j] * fixed[j] for j in fixed) if fixed else target
        c = lawson(basis[:, free], rest, weight)
        fixed[k] = float(F(c[free.index(k)]))
    return [fixed[j] for j in range(n)]


# ---------------------------------------------------------------- exp
LN2_HI = 0.693359375          # 355/512: n · LN2_HI is exact for |n| < 2^15
LN2_LO = float(F(math.log(2) - LN2_HI))
LOG2E = float(F(1 / math.log(2)))
MAGIC = 12582912.0            # 1.5 · 2^23: adding it rounds to an integer kept in the low mantissa bits
EXP_LO, EXP_HI = -104.0, 89.0  # clamp: below, the result underflows to 0; above, it overflows to +inf


def fit_exp():
    # e^r = 1 + r + r²·(c2 + c3 r + … + c6 r⁴) on |r| ≤ ln2/2 (plus slack for the rounding of x·log2e).
    r = np.linspace(-0.3536, 0.3536, 20001)
    basis = np.stack([r ** (k + 2) for k in range(5)], axis=1)
    return fit_rounded(basis, np.expm1(r) - r, np.exp(-r))


def exp32(x, c):
    x = x.astype(F)
    x = np.where(x < F(EXP_LO), F(EXP_LO), x)
    x = np.where(x > F(EXP_HI), F(EXP_HI), x)
    t = x * F(LOG2E) + F(MAGIC)
    n = t - F(MAGIC)
    r = (x - n * F(LN2_HI)) - n * F(LN2_LO)
    q = F(c[4])
    for k in (3, 2, 1, 0):
        q = fma32(q, r, F(c[k]))
    p = F(1) + (r + (r * r) * q)
    ni = t.view(np.int32) - np.int32(0x4B400000)
    half = ni >> 1
    s1 = ((half + np.int32(127)) << 23).view(F)
    s2 = ((ni - half + np.int32(127)) << 23).view(F)
    with np.errstate(over="ignore", under="ignore"):
        return (p * s1) * s2


# ---------------------------------------------------------------- erf
ERF_SPLIT = 0.875   # |x| below: odd polynomial; above: 1 − exp(Q(|x|))
ERF_ONE = 4.0       # |x| clamped here: erfc(4) ≈ 1.5e-8 < 2^-25, so 1 − exp(Q(4)) rounds to exactly 1
SMALL_TERMS = 6     # erf(x) = x · (a0 + a1 x² + … + a5 x¹⁰)
LARGE_TERMS = 9     # Q(t) = b0 + b1 t + … + b8 t⁸ ≈ log erfc(t)


def fit_erf():
    x = np.linspace(1e-6, ERF_SPLIT + 0.01, 20001)
    s = x * x
    small = fit_rounded(np.stack([s ** k for k in range(SMALL_TERMS)], axis=1), erf64(x) / x, x)
    t = np.linspace(ERF_SPLIT - 0.01, ERF_ONE, 40001)
    # Weight erfc(t): an error δ in Q is an error erfc(t)·δ in erf.
    large = fit_rounded(np.stack([t ** k for k in range(LARGE_TERMS)], axis=1), np.log(erfc64(t)), erfc64(t))
    return small, large


def erf32(x, small, large, exp_c):
    x = x.astype(F)
    bits = x.view(np.uint32)
    a = (bits & np.uint32(0x7FFFFFFF)).view(F)
    s = x * x
    p = F(small[-1])
    for k in reversed(range(len(small) - 1)):
        p = fma32(p, s, F(small[k]))
    near = x * p
    t = np.where(a > F(ERF_ONE), F(ERF_ONE), a)
    q = F(large[-1])
    for k in reversed(range(len(large) - 1)):
        q = fma32(q, t, F(large[k]))
    far = F(1) - exp32(q, exp_c)
    far = (far.view(np.uint32) | (bits & np.uint32(0x80000000))).view(F)
    with np.errstate(invalid="ignore"):
        return np.where(a >= F(ERF_SPLIT), far, near)


def floats_between(lo_bits, hi_bits, stride):
    return np.arange(lo_bits, hi_bits, stride, dtype=np.uint32).view(F)


def ulp(y):
    y = np.abs(y).astype(F)
    return np.spacing(np.maximum(y, F(np.finfo(F).tiny))).astype(np.float64)


def verify(exp_c, small, large, stride):
    worst_exp = 0.0
    worst_erf = (0.0, 0.0)
    # exp: positive and negative floats with |x| ≤ 88 (and ≥ 2^-30, below which e^x rounds to 1 or its neighbour).
    for sign in (0, 0x80000000):
        lo, hi = 0x30800000, 0x42B00000  # 2^-30 … 88
        for start in range(lo, hi, 1 << 24):
            x = floats_between(start, min(hi, start + (1 << 24)), stride)
            x = (x.view(np.uint32) | np.uint32(sign)).view(F)
            x = x[x >= F(-87)]
            y = exp32(x, exp_c).astype(np.float64)
            ref = np.exp(x.astype(np.float64))
            worst_exp = max(worst_exp, float(np.max(np.abs(y - ref) / ulp(ref))))
    # erf: odd by construction, so non-negative floats up to 4.5 (above, both are exactly 1).
    for start in range(0, 0x40900000, 1 << 24):
        x = floats_between(start, min(0x40900000, start + (1 << 24)), stride)
        y = erf32(x, small, large, exp_c).astype(np.float64)
        ref = erf64(x.astype(np.float64))
        e = np.abs(y - ref)
        i = int(np.argmax(e))
        if e[i] > worst_erf[0]:
            worst_erf = (float(e[i]), float(x[i]))
    return worst_exp, worst_erf


def main():
    exhaustive = "--exhaustive" in sys.argv
    exp_c = fit_exp()
    small, large = fit_erf()
    fmt = lambda v: np.format_float_scientific(F(v), unique=True, precision=None)
    print("// exp: e^r ≈ 1 + r + r²·(c2 + c3 r + c4 r² + c5 r³ + c6 r⁴)")
    print("ln2Lo:", fmt(LN2_LO), " log2e:", fmt(LOG2E))
    print("exp:", ", ".join(fmt(v) for v in exp_c))
    print("erf small (x²-powers 0…):", ", ".join(fmt(v) for v in small))
    print("erf large (t-powers 0…):", ", ".join(fmt(v) for v in large))
    worst_exp, (erf_err, erf_at) = verify(exp_c, small, large, 1 if exhaustive else 61)
    print(f"{'every' if exhaustive else 'sampled'} float: exp max error {worst_exp:.3f} ulp on [-87, 88];"
          f" erf max |error| {erf_err:.3e} at x = {erf_at!r}")
    # Edge cases the Swift tests also check.
    edge = np.array([0.0, -0.0, 1e-30, 1e-45, ERF_SPLIT, np.nextafter(F(ERF_SPLIT), F(0)), 3.9, 4.0, 10.0, np.inf], dtype=F)
    for v, y in zip(edge, erf32(edge, small, large, exp_c)):
        print(f"  erf({v!r}) = {y!r}  (reference {erf64(float(v))!r})")
    for v in (-200.0, -104.0, -103.0, -87.5, 88.5, 88.7, 88.8, 200.0):
        x = F(v)
        print(f"  exp({x!r}) = {exp32(np.array([x]), exp_c)[0]!r}  (reference {np.exp(np.float64(x))!r})")


if __name__ == "__main__":
    main()
