"""redis-gen's bundles on a real control plane (tests/py/cluster.py): the API server accepts every
object, the controllers make Pods that Pod Security `restricted` admits, Services select the right
Pods, and re-applying the same out/ changes nothing. Each test has a cluster of its own."""

import json
import time
import pathlib

import pytest
import yaml

from cluster import Cluster
from conftest import CRDS, OUT, PROFILES, ROOT, run

# The homelab build, and every profile under tests/ that builds.
BUNDLES = [PROFILES / "homelab.toml", *sorted((ROOT / "tests" / "profiles").glob("*.toml"))]


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path / "cluster")
    try:
        c.start()
        yield c
    finally:
        c.stop()


@pytest.fixture(params=BUNDLES, ids=lambda p: p.stem)
def bundle(request, tmp_path) -> pathlib.Path:
    if request.param == PROFILES / "homelab.toml":
        return OUT
    out = tmp_path / "out"
    run("build", request.param, "-o", out)
    return out


def objects(out: pathlib.Path):
    return [doc for f in sorted(out.glob("*.yaml")) if f.name != "kustomization.yaml"
            for doc in yaml.safe_load_all(f.read_text()) if doc]


def foreign_namespaces(out: pathlib.Path):
    """Namespaces the bundle puts objects in but does not create: the applications' own."""
    objs = objects(out)
    own = {o["metadata"]["name"] for o in objs if o["kind"] == "Namespace"}
    return sorted({o["metadata"]["namespace"] for o in objs if "namespace" in o["metadata"]} - own)


def install_crds(c: Cluster):
    c.kubectl("apply", "--server-side", "-f", CRDS)
    c.kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd", "--all")


def prepare(c: Cluster, out: pathlib.Path):
    install_crds(c)
    for ns in foreign_namespaces(out):
        c.kubectl("create", "namespace", ns)


def no_warning(result):
    assert "warning" not in result.stderr.lower(), result.stderr


def test_crds_install(cluster):
    install_crds(cluster)
    names = {c["metadata"]["name"] for c in cluster.get("crd")["items"]}
    assert {"sealedsecrets.bitnami.com", "servicemonitors.monitoring.coreos.com",
            "prometheusrules.monitoring.coreos.com"} <= names


@pytest.mark.parametrize("mode", [["--server-side"], []], ids=["server-side", "client-side"])
def test_every_object_is_accepted(cluster, bundle, mode):
    prepare(cluster, bundle)
    applied = cluster.kubectl("apply", "-k", bundle, *mode, "--validate=strict")
    no_warning(applied)
    lines = [line for line in applied.stdout.splitlines() if line.strip()]
    assert len(lines) == len(objects(bundle)), applied.stdout


def test_first_apply_needs_the_application_namespaces(cluster):
    """The applications own their namespaces (README: "Before the first apply"): redis-gen does
    not create them, and the API server names the one that is missing."""
    install_crds(cluster)
    first = cluster.kubectl("apply", "-k", OUT, "--server-side", check=False)
    assert first.returncode != 0
    assert 'namespaces "beersystem" not found' in first.stderr, first.stderr
    for ns in foreign_namespaces(OUT):
        cluster.kubectl("create", "namespace", ns)
    cluster.kubectl("apply", "-k", OUT, "--server-side")


def resource_versions(c: Cluster, out: pathlib.Path):
    versions = {}
    for o in objects(out):
        ns = ["-n", o["metadata"]["namespace"]] if "namespace" in o["metadata"] else []
        kind = f'{o["kind"]}.{o["apiVersion"].split("/")[0]}' if "/" in o["apiVersion"] else o["kind"]
        got = c.get(kind, o["metadata"]["name"], *ns)
        versions[(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"])] = got["metadata"][
            "resourceVersion"]
    return versions


# Quantities in forms the API server rewrites (it stores 1.5 as 1500m, 1024Mi as 1Gi, ...).
QUANTITIES = """
master_cpu_request = "0.25"
master_cpu_limit = "1.5"
master_memory_request = "1024Mi"
master_memory_limit = "2048Mi"
replica_cpu_limit = "2000m"
storage_size = "0.5Gi"
"""


def differences(path, written, live):
    """Every field of `written` whose value the cluster holds otherwise."""
    if isinstance(written, dict):
        if not isinstance(live, dict):
            return [(path, written, live)]
        return [d for k, v in written.items() for d in differences(f"{path}.{k}", v, live.get(k))]
    if isinstance(written, list):
        if not isinstance(live, list) or len(live) != len(written):
            return [(path, written, live)]
        return [d for i, (x, y) in enumerate(zip(written, live)) for d in differences(f"{path}[{i}]", x, y)]
    return [] if written == live else [(path, written, live)]


def live_objects(c: Cluster, out: pathlib.Path):
    listed = json.loads(c.kubectl("get", "-k", out, "-o", "json").stdout)["items"]
    return {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in listed}


def test_reapply_is_a_no_op(cluster, bundle):
    reapply_changes_nothing(cluster, bundle)


def test_reapply_is_a_no_op_with_quantities_the_server_rewrites(cluster, tmp_path):
    profile = tmp_path / "quantities.toml"
    profile.write_text(QUANTITIES)
    out = tmp_path / "out-quantities"
    run("build", profile, "-o", out)
    reapply_changes_nothing(cluster, out)


def reapply_changes_nothing(cluster, bundle):
    prepare(cluster, bundle)
    cluster.kubectl("apply", "-k", bundle, "--server-side")
    # What redis-gen writes is what the server stores after its defaulting, field by field
    # (canonical quantities, the claim templates' defaults, no zero initial delays).
    stored = live_objects(cluster, bundle)
    for o in objects(bundle):
        key = (o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"])
        assert differences("", o, stored[key]) == [], key
    before = resource_versions(cluster, bundle)
    cluster.kubectl("apply", "-k", bundle, "--server-side")
    assert resource_versions(cluster, bundle) == before

    # Client-side, on a fresh copy of the release (kubectl apply wants objects it created).
    cluster.kubectl("delete", "-k", bundle, "--wait=true")
    cluster.kubectl("apply", "-k", bundle)  # records the last-applied annotation
    before = resource_versions(cluster, bundle)
    again = cluster.kubectl("apply", "-k", bundle)
    assert resource_versions(cluster, bundle) == before, "a second client-side apply changed objects"
    # kubectl always sends a PodDisruptionBudget's selector (its patch strategy is `replace`)
    # and so reports it "configured" though the server changes nothing (resourceVersions above).
    changed = [line for line in again.stdout.splitlines() if line.strip() and not line.endswith(" unchanged")
               and not line.startswith("poddisruptionbudget.policy/")]
    assert changed == [], again.stdout
    diff = cluster.kubectl("diff", "-k", bundle, check=False)
    assert diff.returncode == 0 and diff.stdout == "", diff.stdout + diff.stderr


def node_and_volumes(c: Cluster, out: pathlib.Path):
    """A Node without a kubelet (status set by hand) and a volume for every claim the
    StatefulSets will make, so the scheduler has somewhere to put the Pods."""
    c.kubectl("apply", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-0", "labels": {
            "kubernetes.io/hostname": "node-0", "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}}}))
    status = {"status": {
        "capacity": {"cpu": "16", "memory": "64Gi", "pods": "110"},
        "allocatable": {"cpu": "16", "memory": "64Gi", "pods": "110"},
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "by hand"}],
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}]}}
    c.kubectl("patch", "node", "node-0", "--subresource=status", "--type=merge", "-p", json.dumps(status))
    classes = set()
    pvs = 0
    for o in objects(out):
        if o["kind"] != "StatefulSet":
            continue
        for t in o["spec"].get("volumeClaimTemplates", []):
            classes.add(t["spec"].get("storageClassName"))
            for _ in range(o["spec"]["replicas"]):
                c.kubectl("apply", "-f", "-", input=json.dumps({
                    "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": f"pv-{pvs}"},
                    "spec": {"capacity": {"storage": "100Gi"}, "accessModes": ["ReadWriteOnce"],
                             "storageClassName": t["spec"].get("storageClassName", ""),
                             "hostPath": {"path": f"/nonexistent/pv-{pvs}"}}}))
                pvs += 1
    for sc in classes - {None, ""}:
        c.kubectl("apply", "-f", "-", input=json.dumps({
            "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": sc},
            "provisioner": "kubernetes.io/no-provisioner", "volumeBindingMode": "Immediate"}))


def wait_for(predicate, what, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def test_controllers_make_admitted_pods_that_services_select(cluster, bundle):
    prepare(cluster, bundle)
    node_and_volumes(cluster, bundle)
    cluster.kubectl("apply", "-k", bundle, "--server-side")
    workloads = [o for o in objects(bundle) if o["kind"] in ("StatefulSet", "Deployment")]
    want = sum(o["spec"]["replicas"] for o in workloads)
    namespace = {o["metadata"]["namespace"] for o in workloads}.pop()

    def scheduled():
        pods = cluster.get("pods", "-n", namespace)["items"]
        return pods if len(pods) == want and all(p["spec"].get("nodeName") for p in pods) else None

    pods = wait_for(scheduled, f"{want} scheduled pods in {namespace}")
    events = cluster.get("events", "-n", namespace)["items"]
    assert [e for e in events if e["reason"] == "FailedCreate"] == []

    # Enforcement is on: a pod without the securityContext `restricted` asks for is refused here.
    control = cluster.kubectl("run", "control", "-n", namespace, "--image=redis:8.2", "--restart=Never",
                              check=False)
    assert control.returncode != 0 and 'violates PodSecurity "restricted' in control.stderr, control.stderr

    ips = {}
    for i, p in enumerate(pods):
        ip = f"10.244.0.{i + 10}"
        ips[p["metadata"]["name"]] = ip
        cluster.kubectl("patch", "pod", p["metadata"]["name"], "-n", namespace, "--subresource=status",
                        "--type=merge", "-p", json.dumps({"status": {
                            "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                            "conditions": [{"type": t, "status": "True"} for t in
                                           ("PodScheduled", "Initialized", "ContainersReady", "Ready")]}}))

    for svc in (o for o in objects(bundle) if o["kind"] == "Service" and o["spec"].get("selector")):
        name, sel = svc["metadata"]["name"], svc["spec"]["selector"]
        selected = {p["metadata"]["name"] for p in pods
                    if all(p["metadata"]["labels"].get(k) == v for k, v in sel.items())}
        assert selected, f"Service {name} selects no Pod"
        by_pod = {p["metadata"]["name"]: p for p in pods}

        def slices():
            items = cluster.get("endpointslices", "-n", namespace,
                                "-l", f"kubernetes.io/service-name={name}")["items"]
            got = {e["targetRef"]["name"] for s in items for e in (s.get("endpoints") or [])
                   if e["conditions"].get("ready")}
            return items if got == selected else None

        items = wait_for(slices, f"EndpointSlices of {name} = {sorted(selected)}")
        for port in svc["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            if isinstance(target, str):  # a named port resolves to the container's number
                numbers = {c["containerPort"] for p in selected for c0 in by_pod[p]["spec"]["containers"]
                           for c in c0.get("ports", []) if c.get("name") == target}
                assert len(numbers) == 1, (name, target, numbers)
                target = numbers.pop()
            got = {sp["port"] for s in items for sp in (s.get("ports") or []) if sp.get("name") == port.get("name")}
            assert got == {target}, (name, port, got)
