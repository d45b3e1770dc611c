"""Mode sentinel works: automatic failover with the generated manifests.

A build of tests/profiles/sentinel.toml (3 Redis pods, 3 Sentinels, 2 HAProxy
pods, default failover settings, CONFIG disabled for the application) runs
through the runtime harness (docs/runtime.md) with Debian's redis-server,
redis-sentinel (redis-server --sentinel) and haproxy, each pod in its own
network namespace, names from the harness's cluster DNS. The tests share one
deployment and run in file order: first the read-only checks, then one
failover with its rejoin, then five failovers in a row. Clients reach the
primary the way an application does: through `<release>-master`, i.e. the
HAProxy pods. Needs root (see docs/runtime.md). Issue 7."""

import base64
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import threading
import time
import urllib.parse
import urllib.request

import pytest
import yaml

from conftest import BIN, ROOT, poll, run, say
from harness import Deployment
from k8s import crd_errors, crd_schemas
from test_monitoring import (
    PROMETHEUS_SERIES,
    alerts,
    dashboard,
    dashboard_queries,
    exposition_names,
    grafana_to_promql,
    read_allowlist,
    rule_spec,
    used_metrics,
    write_rules,
)

PROFILE = ROOT / "tests" / "profiles" / "sentinel.toml"
RELEASE = "ha"
MASTER_SET = RELEASE
SENTINEL_PORT = 26379
DISABLED = ["FLUSHDB", "FLUSHALL", "CONFIG", "SHUTDOWN", "KEYS"]
COMMAND_ARGS = {
    "CONFIG": ["CONFIG", "GET", "maxmemory"],
    "SHUTDOWN": ["SHUTDOWN", "NOSAVE"],
    "KEYS": ["KEYS", "*"],
    "FLUSHDB": ["FLUSHDB"],
    "FLUSHALL": ["FLUSHALL"],
}
# The target, with the default down-after (5 s) and failover timeout.
TARGET_SECONDS = 10.0

# Distinct passwords, with characters that need quoting in every format the
# scripts write (redis.conf, sentinel.conf, JSON, RESP through HAProxy).
APP = "app " + secrets.token_urlsafe(12) + " '\"$x\\"
INTERNAL = {
    "sentinel-password": "sen-" + secrets.token_urlsafe(16) + " #",
    "replication-password": "rep-" + secrets.token_urlsafe(16) + '"',
    "exporter-password": "exp-" + secrets.token_urlsafe(16) + "\\",
}

# kill -> first successful write through the proxy, seconds, every failover.
MEASURED: list[float] = []


# -- a small RESP client, run inside a pod's network namespace ------------------------


class Resp:
    """One connection speaking RESP2. Opened from a thread that joined a pod's
    network namespace (the socket stays in it)."""

    def __init__(self, d, from_pod: str, ip: str, port: int, timeout: float = 2.0):
        self.sock = d.network.run_in(from_pod, lambda: socket.create_connection((ip, port), timeout=timeout))
        self.sock.settimeout(timeout)
        self.buf = b""

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the server")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n: int) -> bytes:
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the server")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2 :]
        return data

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RespError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n).decode(errors="replace")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise ConnectionError(f"unexpected reply {line!r}")

    def call(self, *args):
        parts = [f"*{len(args)}\r\n".encode()]
        for a in args:
            b = a.encode() if isinstance(a, str) else bytes(a)
            parts.append(b"$%d\r\n%s\r\n" % (len(b), b))
        self.sock.sendall(b"".join(parts))
        return self._reply()


class RespError(str):
    pass


# -- the deployment ------------------------------------------------------------------


@pytest.fixture(scope="module")
def ha(tmp_path_factory, request):
    out = tmp_path_factory.mktemp("sentinel") / "out"
    run("build", PROFILE, "-o", out)
    secrets_ = {"redis-credentials": {"redis-password": APP}, f"{RELEASE}-internal": dict(INTERNAL)}
    with Deployment(out, secrets=secrets_, dns=True, ready_timeout=60) as d:
        say(request, [f"sentinel harness: {n}" for n in d.notes if n.startswith("haproxy")])
        wait_healthy(d)
        yield d
    if MEASURED:
        # A figure for docs/sentinel.md, not a pass/fail criterion beyond the 10 s target.
        say(
            request,
            [
                f"sentinel: kill -> first write through HAProxy over {len(MEASURED)} failovers: "
                f"min {min(MEASURED):.2f} s, median {statistics.median(MEASURED):.2f} s, max {max(MEASURED):.2f} s"
                f" ({', '.join(f'{t:.2f}' for t in MEASURED)})"
            ],
        )


def nodes(d):
    return d.by_role("node")


def sentinels(d):
    return d.by_role("sentinel")


def proxy_ip(d) -> str:
    """An address of the `<release>-master` Service: a HAProxy pod (the
    harness has no kube-proxy; a Service name resolves to its endpoints)."""
    (pod, *_) = d.by_role("proxy")
    return pod.ip


def client_pod(d) -> str:
    """Where the test's client connections come from: a Sentinel pod (never killed)."""
    return sentinels(d)[0].name


def through_proxy(d, *args, timeout=2.0):
    with Resp(d, client_pod(d), proxy_ip(d), 6379, timeout) as c:
        assert c.call("AUTH", APP) == "OK"
        return c.call(*args)


def sentinel_cli(pod, *args, auth=APP, user=None, stderr=False):
    argv = ["redis-cli", "--no-auth-warning", "-p", str(SENTINEL_PORT)]
    if user:
        argv += ["--user", user]
    env = {"REDISCLI_AUTH": auth} if auth is not None else None
    r = pod.exec(*argv, *args, container="sentinel", env=env)
    return (r.stderr + r.stdout).strip() if stderr else r.stdout.strip()


def primary_by_sentinels(d) -> set[str]:
    return {sentinel_cli(s, "SENTINEL", "get-master-addr-by-name", MASTER_SET).split("\n")[0] for s in sentinels(d)}


def info(pod) -> dict[str, str]:
    rc, text = pod.cli("INFO", "replication", auth=APP)
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line and not line.startswith("#"))


def roles(d) -> dict[str, dict]:
    return {p.name: info(p) for p in nodes(d) if p.running("redis")}


def healthy(d):
    """Exactly one primary; every other running pod its replica, link up;
    every Sentinel names that primary and knows every replica as reachable
    (flags exactly `slave`); HAProxy routes to it. Returns the primary pod
    or None."""
    r = roles(d)
    masters = [n for n, i in r.items() if i.get("role") == "master"]
    if len(masters) != 1 or len(r) != len(nodes(d)):
        return None
    primary = d.pods[masters[0]]
    for name, info in r.items():
        if name != primary.name and (info.get("master_host") != primary.fqdn or info.get("master_link_status") != "up"):
            return None
    if primary_by_sentinels(d) != {primary.fqdn}:
        return None
    for s in sentinels(d):
        text = sentinel_cli(s, "SENTINEL", "replicas", MASTER_SET)
        entries = parse_sentinel_list(text)
        ok = {e["name"]: e["flags"] for e in entries}
        want = {f"{p.fqdn}:6379" for p in nodes(d) if p is not primary}
        if {k for k, v in ok.items() if v == "slave"} != want:
            return None
    try:
        if "role:master" not in through_proxy(d, "INFO", "replication"):
            return None
    except (OSError, ConnectionError):
        return None
    return primary


def parse_sentinel_list(text: str) -> list[dict]:
    """redis-cli's raw output of SENTINEL replicas: entries start at `name`."""
    entries, lines = [], text.split("\n")
    i = 0
    while i + 1 < len(lines):
        if lines[i] == "name":
            entries.append({})
        if entries:
            entries[-1][lines[i]] = lines[i + 1]
        i += 2
    return entries


def wait_healthy(d, timeout=90):
    primary = poll(lambda: healthy(d), timeout, interval=0.5)
    if not primary:
        known = {
            s.name: {e["name"]: e["flags"] for e in parse_sentinel_list(sentinel_cli(s, "SENTINEL", "replicas", MASTER_SET))}
            for s in sentinels(d)
        }
        summary = {n: (i.get("role"), i.get("master_host"), i.get("master_link_status")) for n, i in roles(d).items()}
        raise AssertionError(
            f"not healthy after {timeout}s: roles {summary}, sentinels name {primary_by_sentinels(d)}, know replicas {known}"
        )
    return primary


def fail_over(d, primary):
    """SIGKILL the primary's redis-server; returns (seconds from the kill to
    the first write through HAProxy that succeeded, new primary pod)."""
    key = "after-kill-" + secrets.token_hex(4)
    start = time.monotonic()
    primary.kill(signal.SIGKILL, container="redis")
    deadline = start + 60
    while True:
        try:
            if through_proxy(d, "SET", key, "1", timeout=1.0) == "OK":
                elapsed = time.monotonic() - start
                break
        except (OSError, ConnectionError):
            pass
        assert time.monotonic() < deadline, "no write through HAProxy succeeded within 60 s of the kill"
        time.sleep(0.02)
    MEASURED.append(elapsed)
    new = [n for n, i in roles(d).items() if i.get("role") == "master"]
    assert len(new) == 1 and new[0] != primary.name, roles(d)
    return elapsed, d.pods[new[0]]


# -- read-only checks ---------------------------------------------------------------


def test_topology_one_primary_two_replicas_three_sentinels(ha):
    primary = healthy(ha)
    assert primary is not None and primary.name == f"{RELEASE}-node-0"
    assert len(nodes(ha)) == 3 and len(sentinels(ha)) == 3 and len(ha.by_role("proxy")) == 2
    # Replicas announce their stable DNS names, never an address.
    for e in parse_sentinel_list(sentinel_cli(sentinels(ha)[0], "SENTINEL", "replicas", MASTER_SET)):
        assert e["ip"].endswith(f".{RELEASE}-headless.{RELEASE}-test.svc.cluster.local"), e
    # Sentinels announce theirs too.
    for e in parse_sentinel_list(sentinel_cli(sentinels(ha)[0], "SENTINEL", "sentinels", MASTER_SET)):
        assert e["ip"].endswith(f".{RELEASE}-sentinel-headless.{RELEASE}-test.svc.cluster.local"), e


def test_writes_through_the_master_service_reach_the_replicas(ha):
    key = "w-" + secrets.token_hex(4)
    with Resp(ha, client_pod(ha), proxy_ip(ha), 6379) as c:
        assert c.call("AUTH", APP) == "OK"
        assert c.call("SET", key, "v") == "OK"
        assert c.call("WAIT", "2", "5000") == 2
    for p in nodes(ha):
        assert p.cli("GET", key, auth=APP) == (0, "v")


def test_application_user_is_refused_each_disabled_command(ha):
    for p in nodes(ha):
        before = "d-" + secrets.token_hex(4)
        if info(p).get("role") == "master":
            p.cli("SET", before, "1", auth=APP)
        for cmd in DISABLED:
            rc, out = p.cli(*COMMAND_ARGS[cmd], auth=APP)
            assert out.startswith("NOPERM"), (p.name, cmd, out)
        # The rules hold: the application cannot change them, nor the topology.
        for args in (["ACL", "SETUSER", "default", "+@all"], ["REPLICAOF", "NO", "ONE"], ["FAILOVER"]):
            assert p.cli(*args, auth=APP)[1].startswith("NOPERM"), (p.name, args)
        assert p.cli("PING", auth=APP) == (0, "PONG")
    # Commands not disabled work.
    assert through_proxy(ha, "DBSIZE") >= 1


def test_internal_users_get_only_what_they_need(ha):
    p = nodes(ha)[0]

    def as_user(user, password, *args):
        r = p.exec("redis-cli", "--no-auth-warning", "--user", user, "-p", "6379", *args, container="redis",
                   env={"REDISCLI_AUTH": password})
        return r.stdout.strip()

    assert as_user("replication", INTERNAL["replication-password"], "PING") == "PONG"
    assert as_user("replication", INTERNAL["replication-password"], "GET", "x").startswith("NOPERM")
    assert as_user("exporter", INTERNAL["exporter-password"], "INFO", "server").startswith("# Server")
    assert as_user("exporter", INTERNAL["exporter-password"], "SET", "x", "1").startswith("NOPERM")
    assert as_user("exporter", INTERNAL["exporter-password"], "CONFIG", "GET", "masterauth").startswith("NOPERM")
    assert as_user("sentinel", INTERNAL["sentinel-password"], "GET", "x").startswith("NOPERM")
    assert as_user("sentinel", INTERNAL["sentinel-password"], "FLUSHALL").startswith("NOPERM")
    assert as_user("sentinel", INTERNAL["sentinel-password"], "ROLE").startswith(("master", "slave"))
    # Someone else's password does not open a user.
    assert as_user("sentinel", APP, "PING").startswith("NOAUTH")  # after "AUTH failed: WRONGPASS"


def test_sentinel_refuses_clients_without_the_password(ha):
    for s in sentinels(ha):
        assert sentinel_cli(s, "PING", auth=None).startswith("NOAUTH"), s.name
        assert "WRONGPASS" in sentinel_cli(s, "PING", auth="wrong", stderr=True), s.name
        assert sentinel_cli(s, "PING") == "PONG"
        # The application password reads where the primary is, nothing more.
        assert sentinel_cli(s, "SENTINEL", "get-master-addr-by-name", MASTER_SET).startswith(f"{RELEASE}-node-")
        for args in (["SENTINEL", "FAILOVER", MASTER_SET], ["SENTINEL", "SET", MASTER_SET, "quorum", "1"],
                     ["SENTINEL", "RESET", "*"]):
            assert sentinel_cli(s, *args).startswith("NOPERM"), (s.name, args)


def test_exporter_scrapes_with_its_own_user(ha):
    for p in nodes(ha):
        body = poll(lambda: p.metrics() if "redis_up 1" in p.metrics() else None, 15)
        assert body and "redis_up 1" in body, p.name


def test_no_password_on_any_command_line(ha):
    passwords = [APP.encode(), *(v.encode() for v in INTERNAL.values())]
    for pid in ha.pids():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        assert not any(pw in cmdline for pw in passwords), pid


# -- metrics of the Sentinels -------------------------------------------------------

SAMPLE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? (\S+)$")
LABEL = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')


def samples(text: str) -> list[tuple[str, dict, float]]:
    """(name, labels, value) of every sample of a /metrics text."""
    out = []
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if m and not line.startswith("#"):
            out.append((m.group(1), dict(LABEL.findall(m.group(2) or "")), float(m.group(3))))
    return out


def values(text: str, name: str, **labels) -> list[float]:
    return [v for n, ls, v in samples(text) if n == name and all(ls.get(k) == w for k, w in labels.items())]


def test_sentinel_exporters_report_what_the_sentinels_see(ha):
    primary = wait_healthy(ha)
    address = f"{primary.fqdn}:6379"
    master = {"master_name": MASTER_SET, "master_address": address}

    def settled(s):
        text = s.metrics()
        ok = values(text, "redis_sentinel_master_ok_sentinels", **master) == [3.0]
        return text if ok and values(text, "redis_sentinel_master_ok_slaves", **master) == [2.0] else None

    for s in sentinels(ha):
        text = poll(lambda: settled(s), 20, interval=0.5)
        assert text, f"{s.name}: {[x for x in samples(s.metrics()) if x[0].startswith('redis_sentinel')]}"
        assert values(text, "redis_up") == [1.0], s.name
        assert values(text, "redis_instance_info", redis_mode="sentinel") == [1.0], s.name
        assert values(text, "redis_sentinel_masters") == [1.0], s.name
        assert values(text, "redis_sentinel_master_status", **master, master_status="ok") == [1.0], s.name
        # Itself and its two peers; both replicas, by their DNS names.
        assert values(text, "redis_sentinel_master_sentinels", **master) == [3.0], s.name
        assert values(text, "redis_sentinel_master_slaves", **master) == [2.0], s.name
        assert values(text, "redis_sentinel_master_ckquorum_status", master_name=MASTER_SET) == [1.0], s.name
        assert values(text, "redis_sentinel_tilt") == [0.0], s.name
    # The Redis pods' exporters report their roles: one master, two replicas.
    roles = {}
    for p in nodes(ha):
        ((_, labels, _),) = [x for x in samples(p.metrics()) if x[0] == "redis_instance_info"]
        roles[p.name] = labels["role"]
    assert roles == {p.name: "master" if p is primary else "slave" for p in nodes(ha)}


def test_the_exporter_user_of_the_sentinels_only_reads(ha):
    exporter = {"auth": INTERNAL["exporter-password"], "user": "exporter"}
    for s in sentinels(ha):
        assert sentinel_cli(s, "INFO", "sentinel", **exporter).startswith("# Sentinel"), s.name
        assert MASTER_SET in sentinel_cli(s, "SENTINEL", "masters", **exporter), s.name
        for args in (["SENTINEL", "FAILOVER", MASTER_SET], ["SENTINEL", "SET", MASTER_SET, "quorum", "1"],
                     ["SENTINEL", "RESET", "*"], ["ACL", "LIST"], ["SENTINEL", "CONFIG", "GET", "*"]):
            assert sentinel_cli(s, *args, **exporter).startswith("NOPERM"), (s.name, args)
        # Its password opens no other user.
        assert "WRONGPASS" in sentinel_cli(s, "PING", auth=INTERNAL["exporter-password"], stderr=True), s.name


def test_every_metric_of_the_sentinel_alerts_and_dashboard_is_in_a_real_scrape(ha):
    scraped = {p.name: exposition_names(p.metrics()) for p in nodes(ha) + sentinels(ha)}
    exported = set().union(*scraped.values())
    used = used_metrics(ha.out_dir)
    allowed = read_allowlist()
    unknown = {n: w for n, w in used.items() if n not in exported and n not in allowed and n not in PROMETHEUS_SERIES}
    assert unknown == {}, "metrics neither in a real scrape nor in tests/metrics-allowlist.txt"
    # The Sentinels' own series come from the Sentinels' exporters, really.
    sentinel_names = {n for n in used if n.startswith("redis_sentinel_")}
    assert len(sentinel_names) >= 3
    for s in sentinels(ha):
        assert sentinel_names <= scraped[s.name], (s.name, sentinel_names - scraped[s.name])


class PrometheusInPod:
    """Prometheus (Debian's) in a pod's network namespace, scraping every
    second the targets the ServiceMonitor selects (file_sd, rewritten when a
    pod gets a new address), with the release's alert rules loaded."""

    def __init__(self, d, pod, rules, tmp):
        self.d, self.pod, self.tmp = d, pod, tmp
        self.port = 9090
        write_rules(rules, tmp)
        self.write_targets()
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(tmp / "rules.yaml")],
            # The targets' own `job` label (the Service) wins over job_name.
            "scrape_configs": [{"job_name": "service-monitor", "file_sd_configs": [{"files": [str(tmp / "targets.json")]}]}],
        }
        (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.log = open(tmp / "prometheus.log", "wb")
        self.proc = d.network.popen_in(
            pod,
            ["prometheus", f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def write_targets(self):
        self.targets = self.d.scrape_targets()
        tmp_file = self.tmp / "targets.json.new"
        tmp_file.write_text(json.dumps(self.targets))
        tmp_file.rename(self.tmp / "targets.json")

    def query(self, expr):
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})

        def get():
            with opener.open(url, timeout=10) as r:
                return json.loads(r.read())

        body = self.d.network.run_in(self.pod, get)
        assert body["status"] == "success", body
        return body["data"]["result"]

    def wait(self, what, fn, timeout=60):
        def attempt():
            try:
                return fn()
            except OSError:
                return None

        value = poll(attempt, timeout, interval=0.5)
        log = (self.tmp / "prometheus.log").read_text(errors="replace")[-2000:]
        assert value, f"timed out waiting for {what}; prometheus log: {log}"
        return value

    def close(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def by_pod(result):
    return {s["metric"]["pod"]: float(s["value"][1]) for s in result}


def test_a_real_prometheus_scraping_by_the_service_monitor_evaluates_the_sentinel_alerts(ha, tmp_path):
    primary = wait_healthy(ha)
    spec = rule_spec(ha.out_dir)
    exprs = {r["alert"]: r["expr"] for r in alerts(spec)}
    prom = PrometheusInPod(ha, client_pod(ha), spec, tmp_path)
    try:
        # The ServiceMonitor selects every Redis pod and every Sentinel, no proxy.
        jobs = {t["labels"]["pod"]: (t["labels"]["job"], t["labels"]["app_kubernetes_io_component"]) for t in prom.targets}
        assert jobs == {
            **{p.name: (f"{RELEASE}-metrics", "node") for p in nodes(ha)},
            **{s.name: (f"{RELEASE}-sentinel-metrics", "sentinel") for s in sentinels(ha)},
        }
        prom.wait("6 targets up", lambda: len(prom.query("up == 1")) == 6)
        prom.wait("10 scrapes", lambda: (r := prom.query("min(count_over_time(redis_up[1m]))")) and float(r[0]["value"][1]) >= 10)
        # Traffic between scrapes, so that the rates over the window rise.
        for i in range(20):
            through_proxy(ha, "SET", f"m:{i}", "v")
            through_proxy(ha, "GET", f"m:{i}")
            through_proxy(ha, "GET", f"missing:{i}")
        time.sleep(3)

        # Healthy: no alert expression is true; what the alerts count is right.
        firing = {a: prom.query(e) for a, e in exprs.items()}
        assert {a: v for a, v in firing.items() if v} == {}, "alert expressions true on a healthy deployment"
        (primaries,) = prom.query(exprs["RedisNotOnePrimary"].rsplit(" != ", 1)[0])
        assert primaries["value"][1] == "1"
        assert list(by_pod(prom.query(f'redis_instance_info{{job="{RELEASE}-metrics",role="master"}}'))) == [primary.name]
        (answering,) = prom.query(exprs["RedisSentinelsMissing"].rsplit(" < ", 1)[0])
        assert answering["value"][1] == "3"
        assert by_pod(prom.query("redis_sentinel_master_ok_sentinels")) == {s.name: 3.0 for s in sentinels(ha)}
        assert by_pod(prom.query("redis_sentinel_master_ok_slaves")) == {s.name: 2.0 for s in sentinels(ha)}
        status = prom.query("redis_sentinel_master_status")
        assert {(s["metric"]["master_address"], s["metric"]["master_status"], s["value"][1]) for s in status} == {
            (f"{primary.fqdn}:6379", "ok", "1")
        }
        # Every panel of the dashboard has data.
        empty = [w for w, e in dashboard_queries(dashboard(ha.out_dir)) if not prom.query(grafana_to_promql(e, "1m"))]
        assert empty == [], "panel queries without data on a healthy deployment"

        # One Sentinel down (its exporter keeps running): that pod is named,
        # two of three answer, its peers see it down; the quorum holds.
        victim = sentinels(ha)[-1]
        victim.kill(signal.SIGKILL, container="sentinel")
        down = prom.wait("RedisSentinelDown", lambda: prom.query(exprs["RedisSentinelDown"]))
        assert list(by_pod(down)) == [victim.name]
        (answering,) = prom.query(exprs["RedisSentinelsMissing"])
        assert answering["value"][1] == "2"
        peers = {s.name: 2.0 for s in sentinels(ha) if s is not victim}
        prom.wait("peers see it down", lambda: by_pod(prom.query("redis_sentinel_master_ok_sentinels")) == peers)
        assert prom.query(exprs["RedisSentinelQuorumLost"]) == []
        assert prom.query(exprs["RedisSentinelPeersMissing"]) == []
        assert prom.query(exprs["RedisNotOnePrimary"]) == []

        # Recreated (new address): scraped again, every Sentinel sees 3 again.
        victim.restart()
        prom.write_targets()
        everyone = {s.name: 3.0 for s in sentinels(ha)}
        prom.wait("the Sentinel back", lambda: by_pod(prom.query("redis_sentinel_master_ok_sentinels")) == everyone)
        prom.wait("RedisSentinelDown clear", lambda: prom.query(exprs["RedisSentinelDown"]) == [])
    finally:
        prom.close()
    assert wait_healthy(ha) is primary


# -- failover -------------------------------------------------------------------------


def test_failover_with_config_disabled_then_rejoin_as_replica(ha):
    primary = wait_healthy(ha)
    assert primary.cli("CONFIG", "GET", "maxmemory", auth=APP)[1].startswith("NOPERM")
    elapsed, new = fail_over(ha, primary)
    assert elapsed <= TARGET_SECONDS, f"kill -> first write took {elapsed:.2f} s"
    assert poll(lambda: primary_by_sentinels(ha) == {new.fqdn}, 15), primary_by_sentinels(ha)
    # Sentinel's CONFIG REWRITE went through on the promoted pod (Redis
    # marks what it rewrote), although the application may not run CONFIG.
    conf = new.exec("cat", "/run/redis/redis.conf", container="redis").stdout
    assert "# Generated by CONFIG REWRITE" in conf, "no CONFIG REWRITE on the promoted pod"
    assert new.cli("CONFIG", "GET", "maxmemory", auth=APP)[1].startswith("NOPERM")
    # The killed pod comes back (new address, same name) as a replica of the
    # new primary, never as a second primary.
    old_ip = primary.ip
    primary.restart()
    assert primary.ip != old_ip
    now = info(primary)
    assert now["role"] == "slave" and now["master_host"] == new.fqdn, now
    assert wait_healthy(ha) is new


def test_five_failovers_in_a_row_lose_no_write_acknowledged_by_a_replica(ha):
    acknowledged: list[str] = []
    stop = threading.Event()
    errors: list[str] = []

    def writer():
        i = 0
        while not stop.is_set():
            key = f"acked-{i:06d}"
            try:
                with Resp(ha, client_pod(ha), proxy_ip(ha), 6379, timeout=2.0) as c:
                    assert c.call("AUTH", APP) == "OK"
                    while not stop.is_set():
                        key = f"acked-{i:06d}"
                        if c.call("SET", key, str(i)) != "OK":
                            break
                        acks = c.call("WAIT", "1", "1000")
                        if isinstance(acks, int) and acks >= 1:
                            acknowledged.append(key)
                        i += 1
            except (OSError, ConnectionError, AssertionError) as e:
                errors.append(type(e).__name__)
                i += 1
                time.sleep(0.02)

    primary = wait_healthy(ha)
    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        for round_ in range(5):
            time.sleep(1)
            elapsed, new = fail_over(ha, primary)
            assert elapsed <= TARGET_SECONDS, f"round {round_}: kill -> first write took {elapsed:.2f} s"
            assert poll(lambda: primary_by_sentinels(ha) == {new.fqdn}, 15), primary_by_sentinels(ha)
            primary.restart()
            assert info(primary)["role"] == "slave"
            assert wait_healthy(ha) is new, f"round {round_}"
            primary = new
    finally:
        stop.set()
        thread.join(10)
    final = wait_healthy(ha)
    assert final is not None
    assert len(acknowledged) > 100, (len(acknowledged), errors[:5])
    # Every acknowledged write is on the primary and on every replica.
    for p in nodes(ha):
        missing = []
        with Resp(ha, client_pod(ha), p.ip, 6379, timeout=10) as c:
            assert c.call("AUTH", APP) == "OK"
            for start in range(0, len(acknowledged), 1000):
                batch = acknowledged[start : start + 1000]
                values = c.call("MGET", *batch)
                missing += [k for k, v in zip(batch, values) if v != str(int(k.split("-")[1]))]
        assert not missing, (p.name, len(missing), missing[:5])


# -- sealing the internal passwords ------------------------------------------------------


def test_seal_generates_and_seals_the_internal_passwords_without_churn(tmp_path):
    from kubesealpy import SealedSecret, Unsealer

    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:4096", "-nodes", "-keyout", "key.pem", "-out", "cert.pem",
         "-subj", "/CN=sealed-secret/O=sealed-secret", "-days", "30"],
        cwd=tmp_path, check=True, capture_output=True,
    )  # fmt: skip
    unsealer = Unsealer.from_private_key_file(tmp_path / "key.pem")
    profile = tmp_path / "sentinel.toml"
    shutil.copy(PROFILE, profile)

    def redis_gen(*args, input=None):
        p = subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True, input=input, cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        return p

    def internal_values(out):
        doc = yaml.safe_load((out / f"sealedsecret-{RELEASE}-internal.yaml").read_text())
        assert crd_errors(doc, crd_schemas()) == []
        assert "redis-gen.io/placeholder" not in (doc["metadata"].get("annotations") or {})
        secret = unsealer.unseal(SealedSecret.model_validate(doc))
        return {k: base64.b64decode(v).decode() for k, v in secret.data.items()}, doc["spec"]["encryptedData"]

    redis_gen("seal", "--cert", "cert.pem", "sentinel.toml")
    sealed = (tmp_path / "sentinel.sealed.yaml").read_bytes()
    built = redis_gen("build", "sentinel.toml", "-o", "out")
    assert "placeholder" not in built.stderr, built.stderr
    values, ciphertexts = internal_values(tmp_path / "out")
    assert sorted(values) == sorted(INTERNAL)
    assert len(set(values.values())) == 3 and all(len(v) == 40 for v in values.values())
    # Only the Redis namespace gets the internal Secret.
    assert not list((tmp_path / "out").glob(f"sealedsecret-{RELEASE}-internal.*.yaml"))
    # No plaintext internal password in any file written.
    for f in [tmp_path / "sentinel.sealed.yaml", *(tmp_path / "out").iterdir()]:
        assert not any(v.encode() in f.read_bytes() for v in values.values()), f

    # Sealing again changes no byte; --rotate makes new internal passwords too.
    redis_gen("seal", "--cert", "cert.pem", "sentinel.toml")
    assert (tmp_path / "sentinel.sealed.yaml").read_bytes() == sealed
    redis_gen("seal", "--cert", "cert.pem", "--rotate", "sentinel.toml")
    redis_gen("build", "sentinel.toml", "-o", "out2")
    rotated, _ = internal_values(tmp_path / "out2")
    assert all(rotated[k] != values[k] for k in values)
