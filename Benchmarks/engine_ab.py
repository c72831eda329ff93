#!/usr/bin/env python3
"""Two builds of GapLab's engine, alternated: `gaplab dev bench` of BEFORE then AFTER at each thread count, the
round repeated --reps times, each run in a fresh process. Prints each build's median training samples/s and
inference pairs/s with the spread (min-max), and the AFTER / BEFORE ratio within each round, which cancels most
of a shared machine's drift. For judging a change to the engine: build the old commit in a worktree
(`git worktree add ../before OLD && (cd ../before && swift build -c release)`), then
`python3 Benchmarks/engine_ab.py --before ../before/.build/release/gaplab --after .build/release/gaplab`."""

import argparse
import json
import statistics
import subprocess


def bench_command(binary):
    # Older builds had the benchmark at the top level (`gaplab bench`), newer ones under `gaplab dev`.
    probe = subprocess.run([binary, "dev", "bench", "--help"], capture_output=True, text=True)
    return [binary, "dev", "bench"] if "gaplab dev bench" in probe.stdout else [binary, "bench"]


def run(command, threads, steps):
    out = subprocess.run(command + ["--threads", str(threads), "--steps", str(steps), "--format", "json"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def spread(values, fmt):
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, help="the gaplab binary of the old code")
    parser.add_argument("--after", required=True, help="the gaplab binary of the new code")
    parser.add_argument("--threads", default="1,2", help="thread counts, comma-separated (default 1,2)")
    parser.add_argument("--reps", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--steps", type=int, default=20, help="timed training steps per run (default 20)")
    args = parser.parse_args()
    counts = [int(t) for t in args.threads.split(",")]
    commands = {"before": bench_command(args.before), "after": bench_command(args.after)}
    results = {(name, t): [] for name in commands for t in counts}
    for _ in range(args.reps):
        for t in counts:
            for name, command in commands.items():
                results[(name, t)].append(run(command, t, args.steps))

    first = results[("before", counts[0])][0]
    print(f"{first.get('cpu', '?')}; {first.get('blas', '?')}; {args.reps} rounds, {args.steps} timed steps a run, "
          "median (min-max)")
    print("| threads | build | train samples/s | inference pairs/s |")
    print("|---|---|---|---|")
    for t in counts:
        for name in commands:
            rows = results[(name, t)]
            print(f"| {t} | {name} | {spread([r['train_samples_per_s'] for r in rows], '{:.1f}')} | "
                  f"{spread([r['inference_pairs_per_s'] for r in rows], '{:.0f}')} |")
    for t in counts:
        for key, label in (("train_samples_per_s", "training"), ("inference_pairs_per_s", "inference")):
            ratios = [a[key] / b[key] for a, b in zip(results[("after", t)], results[("before", t)])]
            faster = sum(r > 1 for r in ratios)
            print(f"{t} thread(s), {label}: after / before within rounds {spread(ratios, '{:.3f}')}, "
                  f"after faster in {faster} of {len(ratios)}")


if __name__ == "__main__":
    main()
