"""Property: every profile the compiler accepts produces output that passes
the schema checks of the core issue. A small deterministic generator (fixed
seed) draws profiles from the space of plausible values of every key, some
of them invalid on purpose; for each profile `redis-gen build` either fails
with exit 1 and a diagnostic (never a panic), or its output is validated:

- built-in kinds with `kubernetes-validate --strict` for Kubernetes 1.33 and
  1.37, all files of all builds in one call per version;
- custom resources (SealedSecret, ServiceMonitor) against the CRDs of
  conftest.CRDS (the helpers of k8s.py), every undeclared field an error (an API
  server would prune it silently).

A canary object with an undeclared field proves each validator is strict.
"""

import json
import random

import pytest

from conftest import run
from k8s import crd_errors, crd_schemas, kubernetes_validate, load_objects

SEED = 5
COUNT = 40
BUILTIN_VERSIONS = ("1.33.0", "1.37.0")
CUSTOM_GROUPS = ("bitnami.com", "monitoring.coreos.com")

HEX = "0123456789abcdef"


def _string(s):
    return json.dumps(s)  # a JSON string of ASCII is a TOML basic string


def _table(d):
    return "{ " + ", ".join(f"{_string(k)} = {_string(v)}" for k, v in d.items()) + " }"


def generate(rng):
    """One profile (TOML text): each key set with probability 0.6."""
    namespace = rng.choice(["redis", "cache-system", "r" * 63, "data"])
    lb = rng.choice(
        [
            ("192.168.4.203", ["192.168.4.0/24"]),
            ("10.1.2.3", ["10.0.0.0/8", "192.168.0.0/16"]),
            ("fd00::5", ["fd00::/64"]),
            ("10.9.9.9", ["192.168.4.0/24"]),  # outside: refused
        ]
    )
    metrics = rng.random() < 0.7
    choices = {
        "release_name": lambda: rng.choice(["redis-shared", "cache", "r", "a" * 43, "sessions-v2", "x" * 44]),
        "namespace": lambda: namespace,
        "cluster_domain": lambda: rng.choice(["cluster.local", "k8s.example.org"]),
        "labels": lambda: rng.choice([{}, {"team": "platform"}, {"env": "prod", "example.com/owner": "ops_1"}]),
        "replica_namespaces": lambda: rng.sample(["beersystem", "other-app", "a", "b-1", "web"], rng.randint(0, 5)),
        "enable_loadbalancer": lambda: rng.random() < 0.7,
        "loadbalancer_ip": lambda: lb[0],
        "loadbalancer_source_ranges": lambda: lb[1],
        "port": lambda: rng.choice([6379, 6380, 1024, 65535, 7000]),
        "secret_name": lambda: rng.choice(["redis-credentials", "redis.auth", "app-secret"]),
        "replica_count": lambda: rng.choice([0, 1, 1, 2, 3, 20]),
        "master_cpu_limit": lambda: rng.choice(["100m", "1", "2", "1500m"]),
        "master_memory_limit": lambda: rng.choice(["256Mi", "2Gi", "1G", "512Mi"]),
        "master_cpu_request": lambda: rng.choice(["50m", "250m", "1"]),
        "master_memory_request": lambda: rng.choice(["128Mi", "256Mi", "1Gi"]),
        "replica_cpu_limit": lambda: rng.choice(["200m", "1"]),
        "replica_memory_limit": lambda: rng.choice(["512Mi", "2Gi", "4Gi"]),
        "replica_cpu_request": lambda: rng.choice(["50m", "100m"]),
        "replica_memory_request": lambda: rng.choice(["256Mi", "512Mi"]),
        "maxmemory": lambda: rng.choice(["auto", "0", "100Mi", "200M"]),
        "maxmemory_policy": lambda: rng.choice(["noeviction", "allkeys-lru", "volatile-ttl", "allkeys-lfu"]),
        "appendfsync": lambda: rng.choice(["everysec", "always", "no"]),
        "disabled_commands": lambda: rng.sample(
            ["FLUSHDB", "FLUSHALL", "CONFIG", "SHUTDOWN", "KEYS", "DEBUG", "MONITOR"], rng.randint(0, 7)
        ),
        "redis_image": lambda: rng.choice(
            [
                "redis:8.2",
                "redis:7.4@sha256:" + "".join(rng.choice(HEX) for _ in range(64)),
                "registry.example.com:5000/lib/redis:8.2",
            ]
        ),
        "exporter_image": lambda: rng.choice(["oliver006/redis_exporter:v1.88.0", "ghcr.io/o/redis_exporter:v1"]),
        "storage_size": lambda: rng.choice(["1Gi", "10Gi", "500Mi"]),
        "storage_class": lambda: rng.choice(["local-path", "fast.ssd", "standard"]),
        "termination_grace_period_seconds": lambda: rng.choice([10, 60, 3600]),
        "enable_metrics": lambda: metrics,
        "enable_service_monitor": lambda: metrics and rng.random() < 0.7,
        "service_monitor_interval": lambda: rng.choice(["30s", "1m", "15s", "1m30s"]),
        "service_monitor_labels": lambda: rng.choice([{}, {"release": "kube-prometheus-stack"}]),
        "monitoring_namespace": lambda: rng.choice(["monitoring", "observability"]),
        "exporter_cpu_request": lambda: "10m",
        "exporter_memory_limit": lambda: rng.choice(["64Mi", "128Mi"]),
        "enable_alerts": lambda: rng.random() < 0.8,
        "prometheus_rule_labels": lambda: rng.choice([{}, {"role": "alert-rules"}]),
        "alert_memory_percent": lambda: rng.choice([50, 90, 100]),
        "alert_replication_lag": lambda: rng.choice(["1Mi", "10Mi"]),
        "alert_restart_window": lambda: rng.choice(["15m", "1h"]),
        "enable_dashboard": lambda: rng.random() < 0.8,
        "dashboard_namespace": lambda: rng.choice(["grafana", "monitoring"]),
    }
    lines = []
    for key, draw in choices.items():
        # The LoadBalancer address and its ranges are drawn as a pair.
        together = key == "loadbalancer_source_ranges" and lines and lines[-1].startswith("loadbalancer_ip")
        if together or (key != "loadbalancer_source_ranges" and rng.random() < 0.6):
            value = draw()
            if isinstance(value, bool):
                lines.append(f"{key} = {'true' if value else 'false'}")
            elif isinstance(value, int):
                lines.append(f"{key} = {value}")
            elif isinstance(value, str):
                lines.append(f"{key} = {_string(value)}")
            elif isinstance(value, list):
                lines.append(f"{key} = [{', '.join(_string(v) for v in value)}]")
            else:
                lines.append(f"{key} = {_table(value)}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def generated(tmp_path_factory, binary):
    """Builds every generated profile; returns (accepted out dirs, refused count)."""
    root = tmp_path_factory.mktemp("property")
    rng = random.Random(SEED)
    accepted, refused = [], 0
    for i in range(COUNT):
        text = generate(rng)
        profile = root / f"p{i:02d}.toml"
        profile.write_text(text)
        out = root / f"out{i:02d}"
        r = run("build", profile, "-o", out, check=False)
        assert "panicked" not in r.stderr, f"{profile}:\n{text}\n{r.stderr}"
        if r.returncode == 0:
            accepted.append(out)
        else:
            assert r.returncode == 1, f"{profile}: exit {r.returncode}\n{r.stderr}"
            assert f"{profile}:" in r.stderr and "error" in r.stderr, r.stderr
            assert not out.exists(), "a refused build wrote its output"
            refused += 1
    return root, accepted, refused


def test_the_generator_explores_both_sides(generated):
    _, accepted, refused = generated
    assert len(accepted) >= COUNT // 3, f"only {len(accepted)} of {COUNT} profiles accepted"
    assert refused >= 3, "the generator never drew an invalid profile"


@pytest.mark.parametrize("version", BUILTIN_VERSIONS)
def test_every_accepted_profile_passes_strict_kubernetes_validation(generated, version, tmp_path):
    _, accepted, _ = generated
    files = sorted(
        {f for out in accepted for f, obj in load_objects(out) if obj["apiVersion"].split("/")[0] not in CUSTOM_GROUPS}
    )
    assert len(files) >= 10 * len(accepted)
    # Canary: an undeclared field must fail, or the check proves nothing.
    canary = tmp_path / "canary.yaml"
    canary.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  surprise: 1\ndata: {}\n")
    assert kubernetes_validate([canary], version)[0] != 0, "kubernetes-validate is not strict"
    code, output = kubernetes_validate(files, version)
    assert code == 0, f"Kubernetes {version}:\n{output}"


def test_every_custom_resource_passes_its_crd_strictly(generated):
    _, accepted, _ = generated
    schemas = crd_schemas()
    canary = {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": {"name": "c"},
        "spec": {"encryptedData": {"k": "v"}, "undeclared": True},
    }
    assert crd_errors(canary, schemas), "the CRD check is not strict"
    errors, seen = [], set()
    for out in accepted:
        for f, obj in load_objects(out):
            if obj["apiVersion"].split("/")[0] in CUSTOM_GROUPS:
                seen.add(obj["kind"])
                errors += [f"{f}: {e}" for e in crd_errors(obj, schemas)]
    assert not errors, "\n".join(errors)
    assert {"SealedSecret", "ServiceMonitor", "PrometheusRule"} <= seen, seen
