#!/usr/bin/env python3
"""Fleet benchmark: N generated profiles compiled by `redis-gen build DIR`.

For N in 10, 100 and 1000 (or those given with --sizes), writes N distinct
profiles into a temporary directory (under --tmp, default the system's), then
runs, --runs times each:
  validate  `redis-gen validate DIR`: compile only, nothing written
  fresh     `redis-gen build DIR -o NEW`: compile and write a new directory
  rebuild   `redis-gen build DIR -o OUT` over an up-to-date OUT (the CI case)
  check     `redis-gen check DIR -o OUT`
and prints the median wall time, the time per profile, CPU time (user+sys)
and the peak RSS (see bench/measure.py). Target: 1,000 profiles
in under a second, with time growing linearly.
Usage: bench/fleet_bench.py [--bin PATH] [--runs 5] [--sizes 10,100,1000] [--tmp DIR]
"""

import argparse
import os
import pathlib
import shutil
import statistics
import subprocess
import tempfile
import time

import measure

ROOT = pathlib.Path(__file__).resolve().parents[1]


def profile(i: int) -> str:
    # Every profile its own release, namespace, Secret and address: no collisions.
    return (
        f'release_name = "app{i}"\n'
        f'namespace = "app{i}"\n'
        f'secret_name = "app{i}-redis"\n'
        f'replica_namespaces = ["app{i}-web"]\n'
        f'loadbalancer_ip = "10.{i // 250}.{i % 250}.10"\n'
        'loadbalancer_source_ranges = ["10.0.0.0/8"]\n'
        f"replica_count = {i % 3}\n"
        f'master_memory_limit = "{256 + (i % 8) * 128}Mi"\n'
    )


def timed(cmd):
    """Runs cmd; returns (wall seconds, CPU seconds, peak RSS in KiB)."""
    wall, cpu = measure.timed(cmd)
    return wall, cpu, measure.peak_rss_kib(cmd)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(ROOT / "target" / "x86_64-unknown-linux-gnu" / "release" / "redis-gen"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sizes", default="10,100,1000")
    ap.add_argument("--tmp", default=None, help="where to write (e.g. /dev/shm for tmpfs)")
    a = ap.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")
    print(f"{'profiles':>8} {'command':>8} {'median s':>9} {'ms/profile':>10} {'CPU s':>6} {'peak RSS MiB':>12}")
    with tempfile.TemporaryDirectory(prefix="fleet-bench-", dir=a.tmp) as tmp:
        tmp = pathlib.Path(tmp)
        for n in map(int, a.sizes.split(",")):
            src = tmp / f"profiles-{n}"
            src.mkdir()
            for i in range(n):
                (src / f"app{i:04d}.toml").write_text(profile(i))
            out = tmp / f"out-{n}"
            fresh = iter(range(a.runs))
            for name, cmd in (
                ("validate", lambda: [a.bin, "validate", src]),
                ("fresh", lambda: [a.bin, "build", src, "-o", tmp / f"fresh-{n}-{next(fresh)}"]),
                ("rebuild", lambda: [a.bin, "build", src, "-o", out]),
                ("check", lambda: [a.bin, "check", src, "-o", out]),
            ):
                if name == "rebuild":
                    timed(cmd())  # the first build of OUT is not a rebuild
                runs = [timed(cmd()) for _ in range(a.runs)]
                med = statistics.median(r[0] for r in runs)
                cpu = statistics.median(r[1] for r in runs)
                rss = max(r[2] for r in runs)
                print(f"{n:>8} {name:>8} {med:>9.3f} {med * 1000 / n:>10.2f} {cpu:>6.2f} {rss / 1024:>12.1f}")
    print(f"load average {os.getloadavg()[0]:.2f} at end (a shared machine: other jobs inflate wall times)")


if __name__ == "__main__":
    main()
