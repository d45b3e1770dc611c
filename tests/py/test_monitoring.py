"""Alerts and dashboard: the PrometheusRule and the Grafana dashboard
ConfigMap that come with the metrics.

What is proved here, with real programs:
- every rule group passes `promtool check rules`, and the unit tests in
  tests/promtool/ (`promtool test rules`) fire every alert from synthetic
  series and keep it silent on healthy ones; mutants of the rules fail them;
- the PrometheusRule passes the CRD schema strictly (undeclared fields are
  errors, as an API server would prune them);
- the dashboard JSON parses, every panel query is valid PromQL (promtool),
  and names only metrics that a real redis_exporter scrape shows, or that
  tests/metrics-allowlist.txt lists with the exporter source that defines
  them;
- a real Prometheus scraping a real primary and replica, labelled as the
  ServiceMonitor labels them, returns data for every panel query, and the
  alert expressions are empty while healthy and find the right pod once the
  replica's Redis is stopped.

The scrape comes from `scrape_exporter()`: the committed out/ run by the
runtime harness (tests/py/harness). The real-Prometheus test runs its own
loopback primary and replica (`loopback_redis()`), configured as the pods
are, since Prometheus must reach the exporters from the host's loopback.
"""

import contextlib
import json
import os
import pathlib
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

import pytest
import yaml

from conftest import OUT, PROFILES, ROOT, run
from k8s import crd_errors

HOMELAB = PROFILES / "homelab.toml"
SENTINEL = ROOT / "tests" / "profiles" / "sentinel.toml"
RULE_FILE = "prometheusrule-redis-shared.yaml"
DASHBOARD_FILE = "configmap-redis-shared-redis-dashboard.monitoring.yaml"
PROMTOOL_TESTS = ROOT / "tests" / "promtool"
ALLOWLIST = ROOT / "tests" / "metrics-allowlist.txt"
MASTER_POD = "redis-shared-master-0"
REPLICA_POD = "redis-shared-replicas-0"
# Series Prometheus itself adds to every target, not the exporter.
PROMETHEUS_SERIES = {"up"}


def load(path):
    return yaml.safe_load(pathlib.Path(path).read_text())


def rule_spec(out):
    """The rule groups of the one PrometheusRule of a build."""
    (path,) = out.glob("prometheusrule-*.yaml")
    return load(path)["spec"]


def alerts(spec):
    return [r for g in spec["groups"] for r in g["rules"]]


def dashboard(out):
    """The dashboard JSON of the one dashboard ConfigMap of a build."""
    (path,) = out.glob("configmap-*-dashboard.*.yaml")
    (text,) = load(path)["data"].values()
    return json.loads(text)


def panels(dash):
    return [p for p in dash["panels"] if p["type"] != "row"]


def dashboard_queries(dash):
    """(where, PromQL) of every panel target and of the pod variable."""
    out = [(f"panel {p['title']!r}", t["expr"]) for p in panels(dash) for t in p["targets"]]
    for v in dash["templating"]["list"]:
        if v["type"] == "query":
            m = re.fullmatch(r"label_values\((.*), *(\w+)\)", v["query"])
            assert m, v["query"]
            out.append((f"variable {v['name']!r}", m.group(1)))
    return out


def grafana_to_promql(expr, rate_interval="5m"):
    """A panel query with Grafana's variables replaced, so Prometheus can run it."""
    return expr.replace("$__rate_interval", rate_interval).replace('=~"$pod"', '=~".*"')


# --- metric names in PromQL -------------------------------------------------

KEYWORDS = {"and", "or", "unless", "bool", "offset", "atan2"}
# Aggregations may take `by (...)` before their parenthesis: `max by (pod) (x)`.
AGGREGATIONS = {
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
    "bottomk", "topk", "quantile", "limitk", "limit_ratio",
}
LABEL_LISTS = {"by", "without", "on", "ignoring", "group_left", "group_right"}


def metric_names(expr):
    """Metric names a PromQL expression selects. A small scanner: strings,
    label matchers {...}, ranges [...] and label lists after by/on/... are
    skipped; an identifier followed by '(' is a function, as is an
    aggregation; keywords and numbers are not names. Everything else is a
    metric name."""
    names, i, n = set(), 0, len(expr)

    def skip_to(close, i):
        while i < n and expr[i] != close:
            if expr[i] in "\"'`":
                i = skip_string(i)
            else:
                i += 1
        return i + 1

    def skip_string(i):
        quote, i = expr[i], i + 1
        while expr[i] != quote:
            i += 2 if expr[i] == "\\" else 1
        return i + 1

    while i < n:
        c = expr[i]
        if c in "\"'`":
            i = skip_string(i)
        elif c == "{":
            i = skip_to("}", i)
        elif c == "[":
            i = skip_to("]", i)
        elif c.isdigit() or (c == "." and i + 1 < n and expr[i + 1].isdigit()):
            m = re.compile(r"[0-9.eE+xXa-fA-F]+[a-z]*").match(expr, i)
            i = m.end()
        elif c.isalpha() or c in "_:":
            m = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*").match(expr, i)
            word, i = m.group(), m.end()
            j = i
            while j < n and expr[j].isspace():
                j += 1
            followed_by_paren = j < n and expr[j] == "("
            if word in LABEL_LISTS:
                if followed_by_paren:
                    i = skip_to(")", j)
            elif word in KEYWORDS or word in AGGREGATIONS or followed_by_paren:
                pass
            else:
                names.add(word)
        else:
            i += 1
    return names


def test_metric_name_scanner():
    expr = (
        'max by (job, namespace) (redis_master_repl_offset{job="a",x=~"b}c"}) - on (job, namespace) '
        'group_right redis_slave_repl_offset{job="a"} > 1e6 and rate(redis_x_total[5m] offset 1h) '
        "or sum without (pod) (topk(10, foo:bar)) > bool 0.5"
    )
    assert metric_names(expr) == {"redis_master_repl_offset", "redis_slave_repl_offset", "redis_x_total", "foo:bar"}
    assert metric_names("time() - redis_rdb_last_save_timestamp_seconds{a=\"$pod\"}") == {
        "redis_rdb_last_save_timestamp_seconds"
    }


# --- the metrics the exporter really exports --------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_cmd(port, password, *args):
    """Sends commands over RESP (AUTH first); returns the last reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        f = s.makefile("rb")

        def call(*parts):
            payload = b"*%d\r\n" % len(parts)
            for p in parts:
                p = p if isinstance(p, bytes) else str(p).encode()
                payload += b"$%d\r\n%s\r\n" % (len(p), p)
            s.sendall(payload)
            return read()

        def read():
            line = f.readline()
            kind, rest = line[:1], line[1:-2]
            if kind in (b"+", b":"):
                return rest.decode()
            if kind == b"-":
                raise RuntimeError(rest.decode())
            if kind == b"$":
                size = int(rest)
                return None if size < 0 else f.read(size + 2)[:-2].decode()
            if kind == b"*":
                return [read() for _ in range(int(rest))]
            raise RuntimeError(f"unexpected reply {line!r}")

        call("AUTH", password)
        return call(*args)


def info(port, password, section):
    text = redis_cmd(port, password, "INFO", section)
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def wait_for(what, check, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
            if value:
                return value
        except (OSError, RuntimeError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def http_get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read().decode()


class Processes:
    """Started processes, all stopped (and reaped) on exit, also on failure."""

    def __init__(self):
        self.procs = {}

    def start(self, name, args, log_dir, env=None):
        log = open(log_dir / f"{name}.log", "wb")
        self.procs[name] = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        log.close()
        return self.procs[name]

    def stop(self, name):
        p = self.procs.pop(name)
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def stop_all(self):
        for name in list(self.procs):
            self.stop(name)


@contextlib.contextmanager
def loopback_redis():
    """A primary and a replica redis-server on 127.0.0.1, each with a
    prometheus-redis-exporter, configured as the pods are: a password (in
    files, never on a command line), CONFIG renamed away (the exporter told
    to skip it), AOF on, a maxmemory. Replication is in sync and some
    traffic has run. Yields {pod: (redis port, exporter address)}, the
    password, and the processes (to stop one)."""
    password = secrets.token_hex(16)
    procs = Processes()
    with tempfile.TemporaryDirectory(prefix="redis-gen-monitoring-") as tmp:
        tmp = pathlib.Path(tmp)
        try:
            ports = {MASTER_POD: free_port(), REPLICA_POD: free_port()}
            exporters = {}
            for pod, port in ports.items():
                data = tmp / pod
                data.mkdir()
                conf = [
                    f"port {port}",
                    "bind 127.0.0.1",
                    f"dir {data}",
                    "appendonly yes",
                    "maxmemory 64mb",
                    'rename-command CONFIG ""',
                    f'requirepass "{password}"',
                    f'masterauth "{password}"',
                ]
                if pod == REPLICA_POD:
                    conf.append(f"replicaof 127.0.0.1 {ports[MASTER_POD]}")
                conf_file = tmp / f"{pod}.conf"
                conf_file.write_text("\n".join(conf) + "\n")
                conf_file.chmod(0o600)
                procs.start(f"redis-{pod}", ["redis-server", str(conf_file)], tmp)
                wait_for(f"redis {pod}", lambda: redis_cmd(port, password, "PING") == "PONG")

                pw_file = tmp / f"{pod}-passwords.json"
                pw_file.write_text(json.dumps({f"redis://127.0.0.1:{port}": password}))
                pw_file.chmod(0o600)
                listen = f"127.0.0.1:{free_port()}"
                env = dict(os.environ, REDIS_EXPORTER_CONFIG_COMMAND="-")
                procs.start(
                    f"exporter-{pod}",
                    [
                        "prometheus-redis-exporter",
                        f"-redis.addr=redis://127.0.0.1:{port}",
                        f"-redis.password-file={pw_file}",
                        f"-web.listen-address={listen}",
                    ],
                    tmp,
                    env,
                )
                wait_for(f"exporter {pod}", lambda: "redis_up 1" in http_get(f"http://{listen}/metrics"))
                exporters[pod] = (port, listen)

            primary, replica = ports[MASTER_POD], ports[REPLICA_POD]
            wait_for("replica link", lambda: info(replica, password, "replication")["master_link_status"] == "up")
            # Traffic: writes (some with a TTL), hits and misses.
            for i in range(50):
                redis_cmd(primary, password, "SET", f"key:{i}", "x" * 100)
                redis_cmd(primary, password, "SET", f"ttl:{i}", "y", "EX", 3600)
                redis_cmd(primary, password, "GET", f"key:{i}")
                redis_cmd(primary, password, "GET", f"missing:{i}")
            wait_for(
                "replica in sync",
                lambda: info(replica, password, "replication")["slave_repl_offset"]
                == info(primary, password, "replication")["master_repl_offset"],
            )
            yield exporters, password, procs
        finally:
            procs.stop_all()


def scrape_exporter():
    """{pod: /metrics text} of the exporters of the committed out/ (the
    homelab profile: a primary and a replica), run by the runtime harness as
    the manifests say (CONFIG disabled, password from the file init.sh
    writes), in sync, after writes with and without a TTL, a hit and a miss."""
    from harness import Deployment

    with Deployment(OUT, password="mon-" + secrets.token_urlsafe(24)) as d:
        d.wait_synced()
        master = d.pods[MASTER_POD]
        for args in (("SET", "key:1", "x"), ("SET", "ttl:1", "y", "EX", "3600"), ("GET", "key:1"), ("GET", "nokey")):
            rc, out = master.cli(*args)
            assert rc == 0 and not out.startswith("ERR"), (args, out)
        d.wait_synced()
        return {pod: d.pods[pod].metrics() for pod in (MASTER_POD, REPLICA_POD)}


def exposition_names(text):
    names = set()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            names.add(re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line).group())
    return names


def read_allowlist():
    """{metric: exporter source file} from tests/metrics-allowlist.txt."""
    entries = {}
    for n, line in enumerate(ALLOWLIST.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        assert len(fields) == 2, f"{ALLOWLIST.name}:{n}: expected `metric exporter/<file>.go`"
        name, source = fields
        assert re.fullmatch(r"redis_[a-z0-9_]+", name), f"{ALLOWLIST.name}:{n}: {name}"
        assert re.fullmatch(r"exporter/[a-z_]+\.go", source), f"{ALLOWLIST.name}:{n}: {source}"
        entries[name] = source
    return entries


@pytest.fixture(scope="module")
def scraped():
    texts = scrape_exporter()
    return {pod: exposition_names(t) for pod, t in texts.items()}


def build_once(tmp_path_factory, profile):
    out = tmp_path_factory.mktemp(profile.stem) / "out"
    run("build", profile, "-o", out)
    return out


@pytest.fixture(scope="module")
def homelab(tmp_path_factory):
    return build_once(tmp_path_factory, HOMELAB)


def used_metrics(out):
    """{metric: [where it is used]} over the rules and the dashboard."""
    used = {}
    for r in alerts(rule_spec(out)):
        for name in metric_names(r["expr"]):
            used.setdefault(name, []).append(f"alert {r['alert']}")
    for where, expr in dashboard_queries(dashboard(out)):
        for name in metric_names(expr):
            used.setdefault(name, []).append(where)
    return used


# --- the golden output ------------------------------------------------------


def test_out_holds_a_fresh_build_of_the_monitoring_objects(homelab):
    for name in (RULE_FILE, DASHBOARD_FILE):
        assert (OUT / name).read_bytes() == (homelab / name).read_bytes(), f"out/{name} is stale: rebuild out/"
    assert f"- {RULE_FILE}" in (homelab / "kustomization.yaml").read_text()
    assert f"- {DASHBOARD_FILE}" in (homelab / "kustomization.yaml").read_text()


# --- the PrometheusRule -----------------------------------------------------


def promtool(*args, cwd=None):
    return subprocess.run(["promtool", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def write_rules(spec, directory, name="rules.yaml"):
    path = directory / name
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


PROFILE_VARIANTS = {
    "homelab": None,
    "no-replicas": "replica_count = 0\n",
    "sentinel": SENTINEL,
    "tuned": (
        'release_name = "cache"\nnamespace = "apps"\nreplica_count = 3\nmaxmemory = "0"\n'
        'alert_replication_lag = "64Mi"\nalert_memory_percent = 80\nalert_restarts = 5\n'
        'alert_restart_window = "3h"\nalert_down_for = "0"\nservice_monitor_interval = "15s"\n'
        'maxmemory_policy = "allkeys-lru"\nprometheus_rule_labels = { release = "kps" }\n'
    ),
}


def variant_out(build, homelab, name):
    text = PROFILE_VARIANTS[name]
    if text is None:
        return homelab
    # A profile's text, or a profile file.
    return build(text, name=f"{name}.toml") if isinstance(text, str) else build(text)


@pytest.mark.parametrize("variant", PROFILE_VARIANTS)
def test_every_rule_group_passes_promtool_check(build, homelab, tmp_path, variant):
    out = variant_out(build, homelab, variant)
    rule_file = next(out.glob("prometheusrule-*.yaml"))
    path = write_rules(load(rule_file)["spec"], tmp_path)
    r = promtool("check", "rules", path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout


# The promtool unit tests of each mode: (tests file, the rules file it loads).
UNIT_TESTS = {
    "replication": ("redis-alerts.test.yaml", "rules.yaml"),
    "sentinel": ("sentinel-alerts.test.yaml", "sentinel-rules.yaml"),
}


def test_every_promtool_test_file_belongs_to_a_mode():
    assert sorted(p.name for p in PROMTOOL_TESTS.glob("*.test.yaml")) == sorted(t for t, _ in UNIT_TESTS.values())
    for tests, rules in UNIT_TESTS.values():
        assert load(PROMTOOL_TESTS / tests)["rule_files"] == [rules]


def run_unit_tests(spec, tmp_path, mode="replication"):
    tests, rules = UNIT_TESTS[mode]
    write_rules(spec, tmp_path, rules)
    shutil.copy(PROMTOOL_TESTS / tests, tmp_path / tests)
    return promtool("test", "rules", tests, cwd=tmp_path)


def unit_test_checks(mode):
    """(alerts some case fires, alerts some case keeps silent) in a mode's tests."""
    fired, silent = set(), set()
    for case in load(PROMTOOL_TESTS / UNIT_TESTS[mode][0])["tests"]:
        for check in case.get("alert_rule_test", []):
            (fired if check.get("exp_alerts") else silent).add(check["alertname"])
    return fired, silent


def test_promtool_unit_tests_fire_and_silence_every_alert(homelab, tmp_path):
    r = run_unit_tests(rule_spec(homelab), tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr


def test_unit_tests_cover_every_alert_both_ways(homelab):
    fired, silent = unit_test_checks("replication")
    names = {r["alert"] for r in alerts(rule_spec(homelab))}
    assert names - fired == set(), "alerts no unit test fires"
    assert names - silent == set(), "alerts no unit test keeps silent"
    assert fired | silent <= names, "unit tests name alerts that do not exist"


MUTANTS = {
    "replica count taken from every pod, not only the primary": (
        "RedisReplicasMissing",
        lambda e: e.replace(',app_kubernetes_io_component="master"', ""),
    ),
    "restarts counted per series, not per pod": (
        "RedisRestartingFrequently",
        lambda e: re.sub(r"resets\(\(max by \(job, namespace, pod\) \((.*?)\)\)(\[.*?\])\)", r"resets(\1\2)", e),
    ),
    "memory ratio without the maxmemory > 0 guard": ("RedisMemoryNearMax", lambda e: e.replace(" > 0)", ")")),
    "lag as replica minus primary": (
        "RedisReplicationLagging",
        lambda e: "(redis_slave_repl_offset{job=\"redis-shared-metrics\",namespace=\"redis\"} - on (job, namespace) group_left "
        'max by (job, namespace) (redis_master_repl_offset{job="redis-shared-metrics",namespace="redis",'
        'app_kubernetes_io_component="master"})) > 10485760',
    ),
    "absent() without the job matcher": ("RedisMetricsAbsent", lambda e: e.replace('job="redis-shared-metrics",', "")),
    "a longer for: than the tests expect": ("RedisDown", None),
}


@pytest.mark.parametrize("mutant", MUTANTS)
def test_unit_tests_catch_a_broken_rule(homelab, tmp_path, mutant):
    alert, change = MUTANTS[mutant]
    spec = rule_spec(homelab)
    (rule,) = [r for r in alerts(spec) if r["alert"] == alert]
    if change is None:
        rule["for"] = "10m"
    else:
        mutated = change(rule["expr"])
        assert mutated != rule["expr"], "the mutant changes nothing"
        rule["expr"] = mutated
    r = run_unit_tests(spec, tmp_path)
    assert r.returncode != 0, f"promtool test rules passed with {mutant}"
    assert f"alertname: {alert}" in r.stdout + r.stderr, r.stdout + r.stderr


# --- mode sentinel ------------------------------------------------------------


@pytest.fixture(scope="module")
def sentinel_out(tmp_path_factory):
    return build_once(tmp_path_factory, SENTINEL)


def by_reported_role(rule):
    """Alerts of mode sentinel that are new or changed: the .sentinel group,
    and those that find the primary by the role its exporter reports."""
    return "redis_instance_info" in rule["expr"] or rule["group"].endswith(".sentinel")


def sentinel_alerts(spec):
    return [dict(r, group=g["name"]) for g in spec["groups"] for r in g["rules"]]


def test_sentinel_promtool_unit_tests_fire_and_silence_its_alerts(sentinel_out, tmp_path):
    r = run_unit_tests(rule_spec(sentinel_out), tmp_path, "sentinel")
    assert r.returncode == 0, r.stdout + r.stderr


def test_sentinel_unit_tests_cover_every_new_or_changed_alert_both_ways(sentinel_out):
    rules = sentinel_alerts(rule_spec(sentinel_out))
    wanted = {r["alert"] for r in rules if by_reported_role(r)}
    assert {"RedisReplicasMissing", "RedisReplicationLagging", "RedisNotOnePrimary", "RedisSentinelDown"} <= wanted
    fired, silent = unit_test_checks("sentinel")
    assert wanted - fired == set(), "sentinel-mode alerts no unit test fires"
    assert wanted - silent == set(), "sentinel-mode alerts no unit test keeps silent"
    assert fired | silent <= wanted, "unit tests name alerts that are not new or changed in mode sentinel"
    # No sentinel-mode query selects the primary by a pod label.
    for r in rules:
        assert 'app_kubernetes_io_component="master"' not in r["expr"], r["alert"]


SENTINEL_MUTANTS = {
    "the primary by any pod, not by its reported role": (
        "RedisReplicasMissing",
        lambda e: re.sub(r"\(([^()]*) and on \(job, namespace, instance\) [^()]*\)", r"\1", e),
    ),
    "the lag against any pod's offset, not the primary's": (
        "RedisReplicationLagging",
        lambda e: re.sub(r"\(([^()]*) and on \(job, namespace, instance\) [^()]*\)", r"\1", e),
    ),
    "no primary at all not counted as 0": ("RedisNotOnePrimary", lambda e: re.sub(r" or count by .*\* 0\)", ")", e)),
    "Sentinels not scraped at all not counted as 0": ("RedisSentinelQuorumLost", lambda e: re.sub(r" or absent\(.*\) - 1", "", e)),
    "the primary at the window's start counted as a change": ("RedisPrimaryChangingFrequently", lambda e: e.replace(" - 1 >=", " >=")),
    "master_status compared with the wrong value": ("RedisSentinelPrimaryNotOk", lambda e: e.replace("== 0", "< 0")),
    "the quorum taken as the Sentinel count": ("RedisSentinelPeersMissing", lambda e: e.replace("< 2", "< 3")),
}


@pytest.mark.parametrize("mutant", SENTINEL_MUTANTS)
def test_sentinel_unit_tests_catch_a_broken_rule(sentinel_out, tmp_path, mutant):
    alert, change = SENTINEL_MUTANTS[mutant]
    spec = rule_spec(sentinel_out)
    (rule,) = [r for r in alerts(spec) if r["alert"] == alert]
    mutated = change(rule["expr"])
    assert mutated != rule["expr"], "the mutant changes nothing"
    rule["expr"] = mutated
    r = run_unit_tests(spec, tmp_path, "sentinel")
    assert r.returncode != 0, f"promtool test rules passed with {mutant}"
    assert f"alertname: {alert}" in r.stdout + r.stderr, r.stdout + r.stderr


def test_sentinel_dashboard_queries_are_valid_promql_and_scoped_to_the_release(sentinel_out, tmp_path):
    dash = dashboard(sentinel_out)
    queries = dashboard_queries(dash)
    titles = {p["title"] for p in panels(dash)}
    assert {"Primaries", "Sentinels answering", "Primary as each Sentinel sees it", "Sentinel", "Primary pod"} <= titles
    for where, expr in queries:
        assert 'job="ha-metrics",namespace="ha-test"' in expr or 'job="ha-sentinel-metrics",namespace="ha-test"' in expr, where
        assert "app_kubernetes_io_component" not in expr, where
    rules = [{"record": f"dashboard:query_{i}", "expr": grafana_to_promql(e)} for i, (_, e) in enumerate(queries)]
    path = tmp_path / "dashboard-queries.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    r = promtool("check", "rules", path)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("variant", PROFILE_VARIANTS)
def test_prometheus_rule_passes_the_crd_schema_strictly(build, homelab, variant):
    out = variant_out(build, homelab, variant)
    rule = load(next(out.glob("prometheusrule-*.yaml")))
    assert rule["apiVersion"] == "monitoring.coreos.com/v1" and rule["metadata"]["namespace"]
    assert crd_errors(rule) == []


def test_the_strict_schema_refuses_an_undeclared_rule_field(homelab):
    rule = load(homelab / RULE_FILE)
    rule["spec"]["groups"][0]["rules"][0]["severity"] = "critical"
    assert any("severity" in e for e in crd_errors(rule))


def test_each_alert_names_the_instance_and_has_a_severity(homelab):
    for r in alerts(rule_spec(homelab)):
        assert r["labels"]["severity"] in ("critical", "warning"), r["alert"]
        assert set(r["annotations"]) == {"summary", "description"}, r["alert"]
        description = r["annotations"]["description"]
        # Alerts about one pod name it; the ones about the whole release
        # (absent, count) name the release and namespace.
        if "absent(" in r["expr"] or "count by" in r["expr"]:
            assert "redis-shared" in description and "namespace" in description, r["alert"]
        else:
            assert "{{ $labels.pod }}" in description, r["alert"]


def test_profile_keys_turn_the_objects_off(build):
    out = build("enable_alerts = false\nenable_dashboard = false\n", name="off.toml")
    assert not list(out.glob("prometheusrule-*")) and not list(out.glob("configmap-*dashboard*"))
    out = build("enable_metrics = false\nenable_service_monitor = false\n", name="nometrics.toml")
    assert not list(out.glob("prometheusrule-*")) and not list(out.glob("configmap-*dashboard*"))
    out = build(
        'dashboard_namespace = "grafana"\ndashboard_label = "example.com/dashboard"\ndashboard_label_value = "redis"\n',
        name="grafana.toml",
    )
    cm = load(out / "configmap-redis-shared-redis-dashboard.grafana.yaml")
    assert cm["metadata"]["namespace"] == "grafana"
    assert cm["metadata"]["labels"]["example.com/dashboard"] == "redis"


def test_asking_for_alerts_without_metrics_is_refused_with_the_key(tmp_path):
    profile = tmp_path / "bad.toml"
    profile.write_text("enable_metrics = false\nenable_service_monitor = false\nenable_alerts = true\n")
    r = run("build", profile, "-o", tmp_path / "out", check=False)
    assert r.returncode != 0
    assert "bad.toml:3:17: `enable_alerts`: needs enable_metrics = true" in r.stderr


# --- the dashboard ----------------------------------------------------------


def test_dashboard_config_map_is_labelled_for_the_grafana_sidecar(homelab):
    cm = load(homelab / DASHBOARD_FILE)
    assert cm["metadata"]["namespace"] == "monitoring"
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    (key,) = cm["data"]
    assert key.endswith(".json")


def test_dashboard_json_is_a_grafana_dashboard(homelab):
    dash = dashboard(homelab)
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,40}", dash["uid"])
    assert dash["title"] and dash["schemaVersion"] >= 36
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    assert variables["pod"]["includeAll"] and variables["pod"]["allValue"] == ".*"
    titles = {p["title"] for p in panels(dash)}
    for wanted in (
        "Redis",
        "Commands per second",
        "Average latency by command",
        "Memory used against maxmemory",
        "Clients",
        "Hit ratio",
        "Keys",
        "Expired and evicted keys per second",
        "Replication offsets",
        "Replication lag",
        "Last RDB save",
        "Last AOF write",
    ):
        assert wanted in titles
    for p in panels(dash):
        assert p["targets"], p["title"]
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        for t in p["targets"]:
            assert t["datasource"]["uid"] == "${datasource}"
            assert 'job="redis-shared-metrics",namespace="redis",pod=~"$pod"' in t["expr"], t["expr"]
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))


def test_every_dashboard_query_is_valid_promql(homelab, tmp_path):
    queries = dashboard_queries(dashboard(homelab))
    rules = [{"record": f"dashboard:query_{i}", "expr": grafana_to_promql(e)} for i, (_, e) in enumerate(queries)]
    path = tmp_path / "dashboard-queries.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    r = promtool("check", "rules", path)
    assert r.returncode == 0, r.stdout + r.stderr


# --- real metric names ------------------------------------------------------


def test_allowlist_entries_name_their_exporter_source():
    entries = read_allowlist()
    for name, source in entries.items():
        assert name not in PROMETHEUS_SERIES
        assert source.startswith("exporter/")


def test_every_metric_in_rules_and_dashboard_is_exported(homelab, scraped):
    exported = set().union(*scraped.values())
    allowed = read_allowlist()
    unknown = {
        name: where
        for name, where in used_metrics(homelab).items()
        if name not in exported and name not in allowed and name not in PROMETHEUS_SERIES
    }
    assert unknown == {}, "metrics neither in a real scrape nor in tests/metrics-allowlist.txt"
    # The allow-list is only for what the Debian exporter lacks.
    assert set(allowed) & exported == set(), "allow-listed metrics that the scrape has: remove them"


def test_replication_metrics_appear_for_both_roles(scraped):
    assert {"redis_master_repl_offset", "redis_connected_slaves", "redis_connected_slave_lag_seconds"} <= scraped[
        MASTER_POD
    ]
    assert {"redis_slave_repl_offset", "redis_master_link_up"} <= scraped[REPLICA_POD]
    # The seed's names do not exist.
    for pod_names in scraped.values():
        assert "redis_uptime_seconds" not in pod_names and "redis_replication_lag_seconds" not in pod_names
        assert "redis_uptime_in_seconds" in pod_names


def test_the_scanner_would_catch_a_made_up_metric(homelab, scraped):
    exported = set().union(*scraped.values())
    assert "redis_replication_lag_seconds" not in exported
    assert metric_names('redis_replication_lag_seconds{job="x"} > 1') - exported == {"redis_replication_lag_seconds"}


# --- a real Prometheus ------------------------------------------------------


@contextlib.contextmanager
def prometheus(exporters, rules_spec, tmp):
    """Prometheus on loopback scraping the exporters every second, with the
    labels the ServiceMonitor would give them, and the alert rules loaded."""
    rules = write_rules(rules_spec, tmp)
    targets = []
    for pod, (_, addr) in exporters.items():
        component = "master" if pod == MASTER_POD else "replica"
        targets.append(
            {
                "targets": [addr],
                "labels": {
                    "namespace": "redis",
                    "service": "redis-shared-metrics",
                    "pod": pod,
                    "app_kubernetes_io_component": component,
                },
            }
        )
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules)],
        "scrape_configs": [{"job_name": "redis-shared-metrics", "static_configs": targets}],
    }
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    listen = f"127.0.0.1:{free_port()}"
    procs = Processes()
    try:
        procs.start(
            "prometheus",
            [
                "prometheus",
                f"--config.file={tmp / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp / 'tsdb'}",
                f"--web.listen-address={listen}",
            ],
            tmp,
        )

        def query(expr):
            url = f"http://{listen}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
            body = json.loads(http_get(url))
            assert body["status"] == "success", body
            return body["data"]["result"]

        wait_for("prometheus", lambda: len(query("up == 1")) == 2)
        yield query
    finally:
        procs.stop_all()


def test_a_real_prometheus_runs_every_query_against_a_real_primary_and_replica(homelab, tmp_path):
    spec = rule_spec(homelab)
    with loopback_redis() as (exporters, password, procs):
        with prometheus(exporters, spec, tmp_path) as query:
            # A few scrapes, then traffic between them, so that every rate
            # over the window sees an increase.
            wait_for(
                "3 scrapes",
                lambda: all(float(s["value"][1]) >= 3 for s in query("count_over_time(redis_up[1m])") or [{"value": [0, "0"]}]),
            )
            primary = exporters[MASTER_POD][0]
            for i in range(20):
                redis_cmd(primary, password, "GET", f"key:{i}")
                redis_cmd(primary, password, "SET", f"new:{i}", "z")
            time.sleep(3)

            empty = []
            for where, expr in dashboard_queries(dashboard(homelab)):
                if not query(grafana_to_promql(expr, "1m")):
                    empty.append(where)
            assert empty == [], "panel queries without data on a healthy deployment"

            (lag_panel,) = [p for p in panels(dashboard(homelab)) if p["title"] == "Replication lag"]
            lag = query(grafana_to_promql(lag_panel["targets"][0]["expr"]))
            assert [s["metric"]["pod"] for s in lag] == [REPLICA_POD]
            ratio = query('redis_memory_used_bytes{job="redis-shared-metrics"} / (redis_memory_max_bytes{job="redis-shared-metrics"} > 0)')
            assert sorted(s["metric"]["pod"] for s in ratio) == [MASTER_POD, REPLICA_POD]
            assert all(0 < float(s["value"][1]) < 1 for s in ratio)

            firing = {r["alert"]: query(r["expr"]) for r in alerts(spec)}
            assert {a: v for a, v in firing.items() if v} == {}, "alert expressions true on a healthy deployment"

            # Stop the replica's Redis (its exporter keeps running).
            procs.stop(f"redis-{REPLICA_POD}")
            exprs = {r["alert"]: r["expr"] for r in alerts(spec)}
            down = wait_for("RedisDown", lambda: query(exprs["RedisDown"]))
            assert [s["metric"]["pod"] for s in down] == [REPLICA_POD]
            missing = wait_for("RedisReplicasMissing", lambda: query(exprs["RedisReplicasMissing"]))
            assert [(s["metric"]["pod"], s["value"][1]) for s in missing] == [(MASTER_POD, "0")]
            assert query(exprs["RedisExporterDown"]) == []
