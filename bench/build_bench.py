#!/usr/bin/env python3
"""Benchmark of `redis-gen build` on a profile: median wall time and peak
memory (max RSS) of the whole process, over repeated runs. Four cases:

  unchanged  out/ already holds this build (the everyday rebuild: nothing
             is written)
  changed    one file of out/ differs before each run (a whole new tree is
             written and swapped in; unchanged files are hard-linked)
  fresh      out/ does not exist before each run
  stdout     `build --stdout`: no disk at all

Usage: bench/build_bench.py [PROFILE] [--runs N] [--case CASE ...] [--tmp DIR] [--bin BIN]
Build the release binary first (cargo build-static); --bin measures
another one (say, a build of main, to compare)."""

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


def measure(argv, before):
    """Runs argv once after `before()`; returns (wall s, CPU s, max RSS KiB)."""
    before()
    wall, cpu = timed(argv)
    before()
    return wall, cpu, peak_rss_kib(argv)


CASES = ("unchanged", "changed", "fresh", "stdout")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", nargs="?", default=str(ROOT / "profiles" / "homelab.toml"))
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--case", action="append", choices=CASES, help="default: all four")
    parser.add_argument("--tmp", help="directory to build in (default: the system's temporary directory)")
    parser.add_argument("--bin", default=str(BIN), help=f"the redis-gen binary (default: {BIN.relative_to(ROOT)})")
    args = parser.parse_args()
    binary = args.bin
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="redis-gen-bench-", dir=args.tmp))
    out = scratch / "out"

    def nothing():
        pass

    def damage():
        (out / "README.md").write_text("changed\n")

    def remove():
        shutil.rmtree(out, ignore_errors=True)

    try:
        for case in args.case or CASES:
            argv = [binary, "build", args.profile]
            argv += ["--stdout"] if case == "stdout" else ["-o", str(out)]
            before = {"unchanged": nothing, "changed": damage, "fresh": remove, "stdout": nothing}[case]
            remove()
            subprocess.run([binary, "build", args.profile, "-o", str(out)], check=True, capture_output=True)
            for _ in range(10):  # warm the page cache
                measure(argv, before)
            walls, cpus, rss = [], [], []
            for _ in range(args.runs):
                w, c, r = measure(argv, before)
                walls.append(w)
                cpus.append(c)
                rss.append(r)
            walls.sort()
            p95 = walls[int(len(walls) * 0.95) - 1]
            print(f"redis-gen build {pathlib.Path(args.profile).name}, {case}: {args.runs} runs")
            print(f"  wall time: median {statistics.median(walls) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms, min {walls[0] * 1000:.2f} ms")
            print(f"  CPU time (user+sys): median {statistics.median(cpus) * 1000:.2f} ms")
            print(f"  peak memory (max RSS): median {statistics.median(rss) / 1024:.2f} MiB, max {max(rss) / 1024:.2f} MiB")
    finally:
        shutil.rmtree(scratch)


if __name__ == "__main__":
    main()
