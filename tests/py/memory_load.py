"""The memory budget under load (issue 15 point 1), shared by
tests/py/test_faults.py and bench/memory_budget.py.

With a Deployment(limits=True) of a replication-mode out/: fill the primary
to a fraction of maxmemory with 1 KB values (pipelined SETs), then overwrite random keys at a fixed rate
(SET, pipelined every 10 ms, from the primary's network namespace) while the
forks a primary and its replicas really make happen one after the other: an
AOF rewrite, a replica's full resync (the replica pod recreated: its
offset is far behind the backlog, so the primary forks for a full sync and
the replica rewrites its AOF after loading), and a BGSAVE (what a
disk-backed sync or an operator's backup does). Each phase reports the peak
memory of every Redis container's cgroup, the copy-on-write Redis measured
in its child, and the OOM kills."""

from __future__ import annotations

import dataclasses
import os
import random
import socket
import threading
import time

VALUE_SIZE = 1000


def info(pod, section) -> dict[str, str]:
    rc, out = pod.cli("INFO", section, timeout=30)
    return dict(line.split(":", 1) for line in out.splitlines() if ":" in line and not line.startswith("#"))


def _values(n: int) -> list[bytes]:
    # Random bytes as hex: what RDB compression cannot shrink, like real data.
    return [os.urandom(VALUE_SIZE // 2).hex().encode() for _ in range(n)]


def _set(key: bytes, value: bytes) -> bytes:
    return b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, len(value), value)


def _connect(d, pod, password: str):
    port = pod.container().ports()["redis"]
    sock = d.network.run_in(pod.name, lambda: socket.create_connection((pod.ip, port), timeout=30))
    pw = password.encode()
    sock.sendall(b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n" % (len(pw), pw))
    assert sock.recv(64).startswith(b"+OK"), "AUTH failed"
    return sock


def _replies(sock, buf: bytes, n: int, tally) -> bytes:
    """Reads n one-line replies (SET answers +OK or -ERROR...); tally(line) each."""
    while n:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
        *lines, buf = buf.split(b"\r\n")
        for line in lines:
            n -= 1
            tally(line)
    return buf


def fill(d, pod, password: str, fraction: float, batch: int = 1000) -> int:
    """Keys k0..kN-1 of VALUE_SIZE bytes until used_memory >= fraction *
    maxmemory (pipelined, as fast as Redis takes them); returns N."""
    maxmemory = int(info(pod, "memory")["maxmemory"])
    values = _values(256)
    errors = []
    sock = _connect(d, pod, password)
    n, buf = 0, b""
    try:
        while int(info(pod, "memory")["used_memory"]) < fraction * maxmemory:
            for _ in range(4):
                sock.sendall(b"".join(_set(b"k%d" % i, values[i % 256]) for i in range(n, n + batch)))
                buf = _replies(sock, buf, batch, lambda line: line.startswith(b"+") or errors.append(line))
                n += batch
            if errors:
                raise RuntimeError(f"filling stopped at {n} keys: {errors[0]!r}")
    finally:
        sock.close()
    return n


class Writer:
    """SETs of random existing keys at `rate` per second on one connection,
    pipelined every 10 ms; counts OK and error replies (by kind)."""

    def __init__(self, d, pod, password: str, keys: int, rate: int):
        self.d, self.pod, self.password, self.keys, self.rate = d, pod, password, keys, rate
        self.ok = 0
        self.errors: dict[str, int] = {}
        self._stop = threading.Event()
        self._values = _values(256)
        self._rng = random.Random(15)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self.started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(30)
        self.seconds = time.monotonic() - self.started

    def _tally(self, line: bytes):
        if line.startswith(b"+"):
            self.ok += 1
        else:
            kind = line[1:].split(b" ", 1)[0].decode(errors="replace")
            self.errors[kind] = self.errors.get(kind, 0) + 1

    def _run(self):
        per_tick = max(1, self.rate // 100)
        while not self._stop.is_set():
            try:
                sock = _connect(self.d, self.pod, self.password)
            except (OSError, AssertionError):
                self.errors["connect"] = self.errors.get("connect", 0) + 1
                time.sleep(0.2)
                continue
            buf = b""
            tick = time.monotonic()
            try:
                while not self._stop.is_set():
                    keys = (b"k%d" % self._rng.randrange(self.keys) for _ in range(per_tick))
                    sock.sendall(b"".join(_set(k, self._rng.choice(self._values)) for k in keys))
                    buf = _replies(sock, buf, per_tick, self._tally)
                    tick += 0.01
                    time.sleep(max(0.0, tick - time.monotonic()))
            except (OSError, ConnectionError):
                self.errors["connection"] = self.errors.get("connection", 0) + 1
            finally:
                sock.close()


@dataclasses.dataclass
class Phase:
    name: str
    seconds: float
    peaks: dict[str, int]  # pod -> peak charge of its redis container's cgroup (page cache included)
    anon: dict[str, int]  # pod -> peak process memory (anonymous) in that cgroup, sampled every 20 ms
    cow: dict[str, int]  # pod -> copy-on-write Redis measured in its child
    oom_kills: dict[str, int]


class Sampler:
    """Highest anonymous memory of each pod's redis cgroup, every 20 ms."""

    def __init__(self, pods):
        self.pods = pods
        self.anon = {p.name: 0 for p in pods}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            for p in self.pods:
                try:
                    self.anon[p.name] = max(self.anon[p.name], p.cgroup("redis").stat()["anon"])
                except OSError:
                    pass
            time.sleep(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)


def _wait(what, fn, timeout):
    deadline = time.monotonic() + timeout
    while not fn():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.2)


def _idle(pod) -> bool:
    p = info(pod, "persistence")
    return p["rdb_bgsave_in_progress"] == "0" and p["aof_rewrite_in_progress"] == "0" and p["aof_rewrite_scheduled"] == "0"


def _phase(name, pods, action):
    for pod in pods:
        pod.cgroup("redis").reset_peak()
    start = time.monotonic()
    with Sampler(pods) as sampler:
        action()
    seconds = time.monotonic() - start
    cow = {}
    for pod in pods:
        if pod.running("redis"):
            p = info(pod, "persistence")
            cow[pod.name] = max(int(p["rdb_last_cow_size"]), int(p["aof_last_cow_size"]))
    return Phase(
        name,
        seconds,
        {p.name: p.cgroup("redis").peak() for p in pods},
        sampler.anon,
        cow,
        {p.name: p.cgroup("redis").oom_kills() for p in pods},
    )


def forks_under_load(d, primary, replicas, timeout: float = 600) -> list[Phase]:
    """The three phases, one after the other (writes must be running)."""
    pods = [primary, *replicas]

    def rewrite():
        assert "started" in primary.cli("BGREWRITEAOF")[1] or not _idle(primary)
        _wait("AOF rewrite", lambda: not primary.running("redis") or _idle(primary), timeout)

    def resync():
        replica = replicas[0]
        replica.restart(ready_timeout=timeout)
        _wait(
            "full resync",
            lambda: not primary.running("redis")
            or not replica.running("redis")
            or (info(replica, "replication").get("master_link_status") == "up" and _idle(replica) and _idle(primary)),
            timeout,
        )

    def bgsave():
        assert "started" in primary.cli("BGSAVE")[1]
        _wait("BGSAVE", lambda: not primary.running("redis") or _idle(primary), timeout)

    phases = []
    for name, action in (("AOF rewrite", rewrite), ("replica full resync", resync), ("BGSAVE", bgsave)):
        _wait("no fork running", lambda: all(_idle(p) for p in pods if p.running("redis")), timeout)
        phases.append(_phase(name, pods, action))
        if not all(p.running("redis") for p in pods):
            break
    return phases
