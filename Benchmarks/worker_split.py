#!/usr/bin/env python3
"""How a sweep of small runs should use the cores: several single-threaded runs side by side, or one run at a
time with all threads?

Runs the same sweep (the quickstart experiment, shortened by the overrides below: 3 variants x 2 seeds) with
`gaplab run --workers W --threads T` for each split of the machine's cores, each into a fresh store, alternating
the splits --reps times, and prints the median wall time (min-max) per split. `gaplab run`'s default is
workers = cores / threads with one thread per run.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SWEEP = ["train.epochs=2", "data.train_size=4096", "seed=0,1", "eval.pictures=false"]
# --smoke: a sweep of seconds, to check that the benchmark runs (its figures mean nothing).
SMOKE = ["train.epochs=1", "data.train_size=256", "data.val_size=64", "data.test_size=64", "train.batch_size=64",
         "seed=0", "eval.pictures=false", "eval.linear_probe=false"]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--gaplab", default=os.path.join(HERE, "..", ".build", "release", "gaplab"))
    ap.add_argument("--experiment", default=os.path.join(HERE, "..", "Experiments", "quickstart.json"))
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--smoke", action="store_true", help="a tiny sweep, only to check that the benchmark runs")
    args = ap.parse_args()
    sweep = SMOKE if args.smoke else SWEEP
    cores = os.cpu_count() or 1
    splits = sorted({(cores // t, t) for t in range(1, cores + 1) if cores % t == 0}, key=lambda s: -s[0])
    seconds = {s: [] for s in splits}
    for _ in range(args.reps):
        for workers, threads in splits:
            folder = tempfile.mkdtemp(prefix="gaplab-split-")
            try:
                start = time.monotonic()
                subprocess.run([args.gaplab, "run", args.experiment, *sweep, "--workers", str(workers),
                                "--threads", str(threads), "--store", os.path.join(folder, "store.sqlite")],
                               check=True, capture_output=True)
                seconds[(workers, threads)].append(time.monotonic() - start)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
    print(f"Sweep: {os.path.basename(args.experiment)} with {' '.join(sweep)} ({'1 run' if args.smoke else '6 runs'}), {cores} cores, "
          f"median of {args.reps} alternating repetitions (min-max), fresh store each time.\n")
    print("| workers x threads | wall time s | runs per hour |")
    print("|---|---|---|")
    for split in splits:
        xs = seconds[split]
        median = statistics.median(xs)
        print(f"| {split[0]} x {split[1]} | {median:.0f} ({min(xs):.0f}-{max(xs):.0f}) | {6 * 3600 / median:.0f} |")


if __name__ == "__main__":
    main()
