#!/usr/bin/env python3
"""Benchmark: the generated primary against a stock redis-server.

Starts the primary of a generated out/ directory through the runtime harness
(tests/py/harness: its init container, its redis.conf with AOF everysec,
snapshots, renamed commands, password, as uid 10001) and, in a network
namespace of its own beside it, Debian's redis-server with no configuration
file at all (every default). Then runs redis-benchmark SET and GET against
each, on the loopback of the target's own namespace, alternating the targets
for several rounds, and prints ops/s, p95 latency, and the ratio
generated/stock (medians over the rounds).

redis-benchmark 7.0 has no REDISCLI_AUTH: the password of this throwaway
deployment is passed with -a, on the benchmark's command line only. The
tests never do that.

Usage (as root, after `cargo build-static`):
    .venv/bin/python bench/redis_bench.py [--out out] [--requests 200000]
        [--clients 50] [--rounds 3] [--with-replicas]
"""

import argparse
import csv
import io
import os
import pathlib
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "py"))

from harness import Deployment  # noqa: E402
from harness.manifests import Manifests  # noqa: E402

TESTS = ("SET", "GET")
SEED_OPS, SEED_P95_MS = 10_000, 10.0  # the seed's target
GOAL_RATIO, GOAL_P95_MS = 0.9, 1.0  # issue 3's goal on loopback


def benchmark(netns, port, args, password=None) -> dict[str, tuple[float, float]]:
    """{test: (ops/s, p95 ms)} of one redis-benchmark run inside netns."""
    cmd = ["ip", "netns", "exec", netns, "redis-benchmark", "-h", "127.0.0.1", "-p", str(port)]
    cmd += ["-t", ",".join(TESTS).lower(), "-n", str(args.requests), "-c", str(args.clients)]
    cmd += ["-r", "100000", "-d", str(args.size), "--csv"]
    if password is not None:
        cmd += ["-a", password]  # benchmark only, see the module doc
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=600).stdout
    results = {}
    for row in csv.DictReader(io.StringIO(out)):
        results[row["test"]] = (float(row["rps"]), float(row["p95_latency_ms"]))
    missing = set(TESTS) - set(results)
    if missing:
        raise RuntimeError(f"redis-benchmark gave no result for {missing}: {out}")
    return results


def start_stock(d, workdir):
    """redis-server without a configuration file, in a namespace beside the pods."""
    netns, _ = d.network.add_pod("stock-redis")
    proc = subprocess.Popen(
        ["ip", "netns", "exec", netns, "redis-server"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while True:
        ping = subprocess.run(["ip", "netns", "exec", netns, "redis-cli", "PING"], capture_output=True, text=True)
        if ping.stdout.strip() == "PONG":
            return netns, proc
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the stock redis-server did not start")
        time.sleep(0.05)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "out"), help="generated directory (default: out/)")
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--size", type=int, default=3, help="value size in bytes (redis-benchmark -d)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--with-replicas", action="store_true", help="also start the replicas (the primary feeds them)")
    args = parser.parse_args()

    password = "bench-" + secrets.token_urlsafe(24)
    out = pathlib.Path(args.out)
    masters = [
        s["metadata"]["name"]
        for s in Manifests.load(out).statefulsets()
        if s["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component") == "master"
    ]
    only = None if args.with_replicas else masters
    runs = {"generated": [], "stock": []}
    with Deployment(out, password=password, only=only) as d, tempfile.TemporaryDirectory() as stock_dir:
        (primary,) = d.by_role("master")
        if args.with_replicas:
            d.wait_synced()
        port = primary.container().ports()["redis"]
        stock_netns, stock = start_stock(d, stock_dir)
        try:
            print(f"redis-benchmark: {args.requests} requests, {args.clients} clients, {args.size}-byte values, "
                  f"random keys, {args.rounds} rounds, {os.cpu_count()} CPUs (shared machine)")
            print(f"generated: {primary.name} ({'with' if args.with_replicas else 'without'} replicas)"
                  f"; stock: redis-server with no configuration file")
            for i in range(args.rounds):
                runs["generated"].append(benchmark(primary.netns, port, args, password))
                runs["stock"].append(benchmark(stock_netns, 6379, args))
                print(f"  round {i + 1}: " + "  ".join(
                    f"{t} gen {runs['generated'][-1][t][0]:,.0f}/s stock {runs['stock'][-1][t][0]:,.0f}/s" for t in TESTS
                ))
        finally:
            os.killpg(stock.pid, signal.SIGKILL)
            stock.wait()

    print()
    print(f"{'test':5} {'target':10} {'ops/s':>10} {'p95 ms':>7}   (range over rounds: ops/s; p95 ms)")
    verdict = []
    for t in TESTS:
        med = {}
        for target in ("generated", "stock"):
            ops = statistics.median(r[t][0] for r in runs[target])
            p95 = statistics.median(r[t][1] for r in runs[target])
            med[target] = (ops, p95)
            all_ops = [r[t][0] for r in runs[target]]
            all_p95 = [r[t][1] for r in runs[target]]
            print(f"{t:5} {target:10} {ops:10,.0f} {p95:7.3f}   ({min(all_ops):,.0f}-{max(all_ops):,.0f}; "
                  f"{min(all_p95):.3f}-{max(all_p95):.3f})")
        ratio = med["generated"][0] / med["stock"][0]
        print(f"{t:5} {'ratio':10} {ratio:10.2f}   generated/stock")
        gen_ops, gen_p95 = med["generated"]
        verdict.append(f"{t}: seed target >= {SEED_OPS:,} ops/s and p95 < {SEED_P95_MS:g} ms: "
                       f"{'met' if gen_ops >= SEED_OPS and gen_p95 < SEED_P95_MS else 'NOT met'}; "
                       f"goal ratio >= {GOAL_RATIO} and p95 < {GOAL_P95_MS:g} ms: "
                       f"{'met' if ratio >= GOAL_RATIO and gen_p95 < GOAL_P95_MS else 'NOT met'}")
    print()
    print("\n".join(verdict))


if __name__ == "__main__":
    main()
