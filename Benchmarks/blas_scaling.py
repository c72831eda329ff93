#!/usr/bin/env python3
"""Why two threads help GapLab less than PyTorch: one c_fc product of the reference model (8,320 x 128 -> 512),
timed three ways in one sitting.

- OpenBLAS (the library GapLab links, through ctypes), single-threaded, the whole product;
- the same split as GapLab's engine does it at 2 threads: two halves of the rows, one single-threaded call each,
  in two processes started together (each prints its own median);
- torch's F.linear (MKL) at 1 and 2 threads, when torch is installed.

Medians over --reps calls after 3 warm-up calls, in milliseconds.
"""
import argparse
import ctypes
import ctypes.util
import multiprocessing
import os
import statistics
import time

import numpy as np

ROWS, IN, OUT = 8320, 128, 512


def openblas():
    os.environ.setdefault("OPENBLAS_CORETYPE", "SkylakeX" if "avx512f" in open("/proc/cpuinfo").read() else "Haswell")
    lib = ctypes.CDLL(ctypes.util.find_library("openblas") or "libopenblas.so.0")
    lib.openblas_set_num_threads(1)
    lib.cblas_sgemm.argtypes = [ctypes.c_int] * 6 + [ctypes.c_float, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p,
                                                     ctypes.c_int, ctypes.c_float, ctypes.c_void_p, ctypes.c_int]
    return lib


def time_product(rows, reps, start_at=None):
    lib = openblas()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((rows, IN), dtype=np.float32)
    w = rng.standard_normal((OUT, IN), dtype=np.float32)
    c = np.empty((rows, OUT), dtype=np.float32)

    def call():
        # Row-major C = X · Wᵀ, as the engine's linearForward.
        lib.cblas_sgemm(101, 111, 112, rows, OUT, IN, 1.0, x.ctypes.data, IN, w.ctypes.data, IN, 0.0, c.ctypes.data, OUT)

    for _ in range(3):
        call()
    if start_at is not None:
        while time.time() < start_at:
            pass
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times)


def half(args):
    reps, start_at = args
    return time_product(ROWS // 2, reps, start_at)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=100)
    args = ap.parse_args()
    whole = time_product(ROWS, args.reps)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        halves = pool.map(half, [(args.reps, time.time() + 2.0)] * 2)
    print(f"c_fc forward, {ROWS} x {IN} -> {OUT}, median of {args.reps} calls (ms)")
    print(f"OpenBLAS, 1 thread, whole product:              {whole:.2f}")
    print(f"OpenBLAS, two halves side by side (GapLab's split): {halves[0]:.2f} and {halves[1]:.2f}"
          f"  -> speed-up {whole / max(halves):.2f}x")
    try:
        import torch
        x, w = torch.randn(ROWS, IN), torch.randn(OUT, IN)
        for threads in (1, 2):
            torch.set_num_threads(threads)
            for _ in range(3):
                torch.nn.functional.linear(x, w)
            times = []
            for _ in range(args.reps):
                t = time.perf_counter()
                torch.nn.functional.linear(x, w)
                times.append(time.perf_counter() - t)
            print(f"torch {torch.__version__} F.linear, {threads} thread{'s' if threads > 1 else ''}:            "
                  f"{1e3 * statistics.median(times):.2f}")
    except ImportError:
        print("torch not installed: its column is left out")


if __name__ == "__main__":
    main()
