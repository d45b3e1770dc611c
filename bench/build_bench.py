#!/usr/bin/env python3
"""Benchmark of `redis-gen build` on a profile: median wall time and peak
memory (max RSS) of the whole process, over repeated runs into a scratch
directory. Usage: bench/build_bench.py [PROFILE] [--runs N] [--stdout]

Build the release binary first (cargo build --release)."""

import argparse
import os
import pathlib
import shutil
import statistics
import subprocess
import tempfile
import time

from measure import peak_rss_kib, timed

ROOT = pathlib.Path(__file__).resolve().parents[1]
BIN = ROOT / "target" / "x86_64-unknown-linux-gnu" / "release" / "redis-gen"


def measure(argv):
    """Runs argv once; returns (wall seconds, CPU seconds, max RSS in KiB)."""
    wall, cpu = timed(argv)
    return wall, cpu, peak_rss_kib(argv)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", nargs="?", default=str(ROOT / "profiles" / "homelab.toml"))
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--stdout", action="store_true", help="measure `build --stdout` (no disk writes)")
    args = parser.parse_args()
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="redis-gen-bench-"))
    try:
        argv = [str(BIN), "build", args.profile]
        argv += ["--stdout"] if args.stdout else ["-o", str(scratch / "out")]
        for _ in range(10):  # warm the page cache
            measure(argv)
        walls, cpus, rss = [], [], []
        for _ in range(args.runs):
            w, c, r = measure(argv)
            walls.append(w)
            cpus.append(c)
            rss.append(r)
        walls.sort()
        p95 = walls[int(len(walls) * 0.95) - 1]
        print(f"redis-gen build {'--stdout ' if args.stdout else ''}{pathlib.Path(args.profile).name}: {args.runs} runs")
        print(f"  wall time: median {statistics.median(walls) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms, min {walls[0] * 1000:.2f} ms")
        print(f"  CPU time (user+sys): median {statistics.median(cpus) * 1000:.2f} ms")
        print(f"  peak memory (max RSS): median {statistics.median(rss) / 1024:.2f} MiB, max {max(rss) / 1024:.2f} MiB")
    finally:
        shutil.rmtree(scratch)


if __name__ == "__main__":
    main()
