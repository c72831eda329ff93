#!/usr/bin/env python3
"""Heap allocations per training step of the reference configuration (part of `make bench`).

Builds malloc_count.c (a malloc counter preloaded with LD_PRELOAD) and runs `gaplab bench` twice per thread count,
with 2 and then 6 timed steps after 2 warm-up steps: the difference over the 4 extra steps, divided by 4, is what
one step allocates. With --repeat-batch every step trains on one batch, which leaves out the data hand-off between
steps; without it, the hand-off is counted too.
"""
import argparse
import os
import shutil
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def count(gaplab, library, threads, steps, repeat):
    cmd = [gaplab, "dev", "bench", "--threads", str(threads), "--warmup-steps", "2", "--steps", str(steps),
           "--inference-pairs", "128"] + (["--repeat-batch"] if repeat else [])
    env = dict(os.environ, LD_PRELOAD=library)
    # gaplab restarts itself once to choose OpenBLAS's kernel; choosing it here keeps the count to one process.
    env.setdefault("OPENBLAS_CORETYPE", "SkylakeX" if "avx512f" in open("/proc/cpuinfo").read() else "Haswell")
    err = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stderr
    return int([line for line in err.splitlines() if line.startswith("allocations:")][-1].split()[1])


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--gaplab", default=os.path.join(HERE, "..", ".build", "release", "gaplab"))
    args = ap.parse_args()
    library = os.path.join(tempfile.mkdtemp(), "malloc_count.so")
    compiler = next((c for c in ("cc", "clang", "gcc") if shutil.which(c)), None)
    if compiler is None:
        raise SystemExit("allocations.py needs a C compiler (cc, clang or gcc) to build malloc_count.c")
    subprocess.run([compiler, "-O2", "-shared", "-fPIC", os.path.join(HERE, "malloc_count.c"), "-o", library, "-ldl"], check=True)
    print("| threads | what a step covers | allocations after 2 steps | after 6 steps | per step |")
    print("|---|---|---|---|---|")
    for threads in (1, 2):
        for repeat in (True, False):
            two, six = count(args.gaplab, library, threads, 2, repeat), count(args.gaplab, library, threads, 6, repeat)
            what = "training step (--repeat-batch)" if repeat else "step and data hand-off"
            print(f"| {threads} | {what} | {two:,} | {six:,} | {(six - two) / 4:g} |")


if __name__ == "__main__":
    main()
