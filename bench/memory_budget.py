#!/usr/bin/env python3
"""Benchmark: does the memory budget hold? (issue 15 point 1)

Runs a replication-mode out/ through the runtime harness with the
manifests' memory and CPU limits as cgroups, fills the primary to a
fraction of its maxmemory, overwrites random keys at a fixed rate, and
makes the forks happen (AOF rewrite, a replica's full resync, BGSAVE: see
tests/py/memory_load.py). Prints, per phase, the peak cgroup memory of each
Redis container against its limit, the copy-on-write Redis measured, and
the OOM kills; then the writes/s reached and the error replies.

Usage (as root, after `cargo build --release`):
    .venv/bin/python bench/memory_budget.py [--out out] [--fill 0.95]
        [--rate 10000]
"""

import argparse
import pathlib
import secrets
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "py"))

from harness import Deployment  # noqa: E402
from memory_load import VALUE_SIZE, Writer, fill, forks_under_load, info  # noqa: E402

MiB = 1 << 20


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "out"))
    ap.add_argument("--fill", type=float, default=0.95, help="dataset as a fraction of maxmemory")
    ap.add_argument("--rate", type=int, default=10_000, help="SET/s during the forks")
    args = ap.parse_args()
    password = "bench-" + secrets.token_urlsafe(16)
    with Deployment(args.out, password=password, limits=True, ready_timeout=120) as d:
        (primary,) = d.by_role("master")
        replicas = d.by_role("replica")
        d.wait_synced()
        t = time.monotonic()
        keys = fill(d, primary, password, args.fill)
        d.wait_synced(timeout=600)
        mem = info(primary, "memory")
        limit = primary.cgroup("redis").memory
        print(
            f"dataset: {keys} keys of {VALUE_SIZE} B in {time.monotonic() - t:.0f} s; used_memory {int(mem['used_memory']) / MiB:.0f} MiB"
            f" = {int(mem['used_memory']) / int(mem['maxmemory']):.0%} of maxmemory {int(mem['maxmemory']) / MiB:.0f} MiB,"
            f" rss {int(mem['used_memory_rss']) / MiB:.0f} MiB; container limit {limit / MiB:.0f} MiB"
        )
        with Writer(d, primary, password, keys, args.rate) as w:
            time.sleep(3)
            phases = forks_under_load(d, primary, replicas)
        print(f"writes: {w.ok / w.seconds:.0f} SET/s acknowledged over {w.seconds:.0f} s; error replies {w.errors}")
        for ph in phases:
            for pod, peak in ph.peaks.items():
                lim = d.pods[pod].cgroup("redis").memory
                print(
                    f"{ph.name:20} {pod:28} peak {peak / MiB:5.0f} MiB, process memory {ph.anon[pod] / MiB:5.0f} MiB"
                    f" = {ph.anon[pod] / lim:4.0%} of the limit;"
                    f" CoW {ph.cow.get(pod, 0) / MiB:5.0f} MiB; OOM kills {ph.oom_kills[pod]}; {ph.seconds:.0f} s"
                )
        killed = {p: n for ph in phases for p, n in ph.oom_kills.items() if n}
        print("OOM killed: " + (", ".join(killed) if killed else "none"))


if __name__ == "__main__":
    main()
