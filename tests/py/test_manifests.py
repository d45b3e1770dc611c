"""The core promises about the generated manifests, checked with real tools:
strict Kubernetes schemas (1.33 and 1.37), the CRD schemas, kustomize,
checkov, and the seed's security and naming promises."""

import base64
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import pytest
import yaml

from conftest import OUT, PROFILES, run
from k8s import crd_errors, crd_schemas, kubernetes_validate, load_objects

HOMELAB = PROFILES / "homelab.toml"
DIGEST = "sha256:" + "0123456789abcdef" * 4


def builtin_files(out_dir):
    return sorted(
        {str(p) for p, o in load_objects(out_dir) if o["apiVersion"] in ("v1", "apps/v1", "policy/v1", "networking.k8s.io/v1")}
    )


@pytest.mark.parametrize("version", ["1.33", "1.37"])
def test_builtin_objects_pass_strict_schema(version):
    files = builtin_files(OUT)
    assert len(files) >= 10
    rc, output = kubernetes_validate(files, version)
    assert rc == 0, output


def test_strict_schema_validation_can_fail(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {portz: []}\n")
    rc, output = kubernetes_validate([bad], "1.33")
    assert rc != 0, output


def test_custom_resources_pass_their_crds():
    schemas = crd_schemas()
    custom = [(p, o) for p, o in load_objects(OUT) if (o["apiVersion"], o["kind"]) in schemas]
    kinds = {o["kind"] for _, o in custom}
    assert {"SealedSecret", "ServiceMonitor"} <= kinds
    for path, obj in custom:
        assert crd_errors(obj, schemas) == [], path


def test_crd_validation_rejects_undeclared_fields():
    objects = dict((o["kind"], o) for _, o in load_objects(OUT))
    monitor = objects["ServiceMonitor"]
    monitor["spec"]["endpoints"][0]["scrapeEvery"] = "30s"
    assert any("scrapeEvery" in e for e in crd_errors(monitor))


def test_kustomize_builds_every_file():
    if shutil.which("kubectl") is None:
        pytest.fail("kubectl is not installed: `kubectl kustomize out/` cannot be checked")
    proc = subprocess.run(["kubectl", "kustomize", str(OUT)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    rendered = [d for d in yaml.safe_load_all(proc.stdout) if d]
    assert len(rendered) == len(load_objects(OUT))


def checkov(directory):
    exe = pathlib.Path(sys.executable).with_name("checkov")
    env = dict(os.environ, BC_SKIP_MAPPING="TRUE", CHECKOV_RUN_SCA_PACKAGE_SCAN_V2="false", LOG_LEVEL="ERROR")
    proc = subprocess.run(
        [str(exe), "-d", str(directory), "--framework", "kubernetes", "--skip-download", "-o", "json", "--quiet"],
        capture_output=True,
        text=True,
        env=env,
    )
    report = json.loads(proc.stdout) if proc.stdout.strip() else {"results": {"failed_checks": []}}
    if isinstance(report, list):
        report = next(r for r in report if r.get("check_type") == "kubernetes")
    return report, proc


@pytest.fixture(scope="module")
def checkov_tagged():
    return checkov(OUT)


def test_checkov_fails_only_digest_pinning_with_tags(checkov_tagged):
    report, proc = checkov_tagged
    failed = sorted({c["check_id"] for c in report["results"]["failed_checks"]})
    assert failed == ["CKV_K8S_43"], proc.stdout[-3000:] + proc.stderr[-3000:]
    assert report["summary"]["passed"] > 100


def test_checkov_passes_everything_with_digests(tmp_path):
    text = HOMELAB.read_text()
    text = text.replace('redis_image       = "redis:8.2"', f'redis_image       = "redis:8.2@{DIGEST}"')
    text += f'exporter_image = "oliver006/redis_exporter:v1.88.0@{DIGEST}"\n'
    profile = tmp_path / "pinned.toml"
    profile.write_text(text)
    out = tmp_path / "out"
    run("build", profile, "-o", out)
    report, proc = checkov(out)
    assert report["results"]["failed_checks"] == [], [c["check_id"] for c in report["results"]["failed_checks"]]
    assert report["summary"]["passed"] > 100


def objects_by_name(out_dir):
    return {(o["kind"], o["metadata"]["name"], o["metadata"].get("namespace")): o for _, o in load_objects(out_dir)}


def test_seed_names_and_services():
    objs = objects_by_name(OUT)
    for kind, name in [
        ("StatefulSet", "redis-shared-master"),
        ("StatefulSet", "redis-shared-replicas"),
        ("Service", "redis-shared-headless"),
        ("Service", "redis-shared-master"),
        ("Service", "redis-shared-replicas"),
        ("Service", "redis-shared-external"),
        ("Service", "redis-shared-metrics"),
    ]:
        assert (kind, name, "redis") in objs, (kind, name)
    for ns in ["redis", "beersystem", "other-app"]:
        assert ("SealedSecret", "redis-credentials", ns) in objs
    external = objs[("Service", "redis-shared-external", "redis")]
    assert external["spec"]["type"] == "LoadBalancer"
    assert external["metadata"]["annotations"]["metallb.universe.tf/loadBalancerIPs"] == "192.168.4.203"
    assert external["spec"]["loadBalancerSourceRanges"] == ["192.168.4.0/24"]
    assert external["spec"]["externalTrafficPolicy"] == "Local"
    assert "loadBalancerIP" not in external["spec"]


def pods(out_dir):
    return [o["spec"]["template"] for _, o in load_objects(out_dir) if o["kind"] == "StatefulSet"]


def test_pods_meet_restricted_pod_security():
    for pod in pods(OUT):
        spec = pod["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert spec["automountServiceAccountToken"] is False
        for c in spec["containers"] + spec["initContainers"]:
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, c["name"]
            assert sc["capabilities"]["drop"] == ["ALL"]
            assert sc["readOnlyRootFilesystem"] is True
            assert sc["runAsUser"] >= 10000
            assert c["resources"]["limits"] and c["resources"]["requests"]


def test_namespace_enforces_restricted():
    ns = objects_by_name(OUT)[("Namespace", "redis", None)]
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_password_comes_only_from_the_secret_file():
    for pod in pods(OUT):
        spec = pod["spec"]
        for c in spec["containers"] + spec["initContainers"]:
            for env in c.get("env", []):
                assert "valueFrom" not in env, (c["name"], env)
            text = json.dumps(c)
            assert "requirepass" not in text and "-a " not in text
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert volumes["credentials"]["secret"]["secretName"] == "redis-credentials"
        assert volumes["run"]["emptyDir"]["medium"] == "Memory"


def test_network_policy_admits_only_declared_sources():
    policy = objects_by_name(OUT)[("NetworkPolicy", "redis-shared", "redis")]
    redis_rule, metrics_rule = policy["spec"]["ingress"]
    namespaces = sorted(
        p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for p in redis_rule["from"] if "namespaceSelector" in p
    )
    assert namespaces == ["beersystem", "other-app", "redis"]
    assert [p["ipBlock"]["cidr"] for p in redis_rule["from"] if "ipBlock" in p] == ["192.168.4.0/24"]
    assert redis_rule["ports"] == [{"port": 6379, "protocol": "TCP"}]
    assert metrics_rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    assert metrics_rule["ports"] == [{"port": 9121, "protocol": "TCP"}]
    assert sorted(policy["spec"]["policyTypes"]) == ["Egress", "Ingress"]


def test_config_change_rolls_the_pods(build):
    base = build(HOMELAB)
    changed = build(HOMELAB.read_text() + 'maxmemory_policy = "allkeys-lru"\n')

    def checksum(out_dir):
        return {p["metadata"]["annotations"]["checksum/config"] for p in pods(out_dir)}

    assert len(checksum(base)) == 1 and checksum(base) != checksum(changed)


def test_disruption_budget_never_noop_nor_blocking(build):
    pdb = objects_by_name(OUT)[("PodDisruptionBudget", "redis-shared", "redis")]
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    single = build('replica_count = 0\n\n')
    assert not any(o["kind"] == "PodDisruptionBudget" for _, o in load_objects(single))


def test_exporter_skips_config_when_config_is_disabled(build):
    def exporter_env(out_dir):
        for pod in pods(out_dir):
            (metrics,) = [c for c in pod["spec"]["containers"] if c["name"] == "metrics"]
            yield {e["name"]: e.get("value") for e in metrics["env"]}

    assert all(env.get("REDIS_EXPORTER_CONFIG_COMMAND") == "-" for env in exporter_env(OUT))
    allowed = build('disabled_commands = ["FLUSHALL"]\n\n')
    assert all("REDIS_EXPORTER_CONFIG_COMMAND" not in env for env in exporter_env(allowed))
