"""A generated out/ directory, running: every pod of every StatefulSet, on a
private pod network, with the Secret holding a test password.

    with Deployment("out", password="...") as d:
        d.wait_synced()
        rc, out = d.pods["redis-shared-master-0"].cli("PING")

Everything it starts (processes, network namespaces, /etc/netns entries,
state directories) is removed when the `with` block ends, also on errors."""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from . import images, manifests
from .network import Network, cleanup_stale
from .pod import POLL, Pod, PodError

# Secret volumes, memory-medium emptyDirs and launch specs: memory only.
MEMORY_ROOT = pathlib.Path("/dev/shm") if pathlib.Path("/dev/shm").is_dir() else None


class Deployment:
    def __init__(
        self,
        out_dir,
        password: str | None = None,
        secrets: dict[str, dict[str, str]] | None = None,
        trace_exec: bool = False,
        ready_timeout: float = 30,
        keep_state: bool | None = None,
        only: list[str] | None = None,
        dns: bool = False,
        limits: bool = False,
        pv_size: str | None = None,
    ):
        """out_dir: a directory written by `redis-gen build`. password: the
        value of every key of every Secret the manifests' SealedSecrets
        declare (or give `secrets` = {name: {key: value}}). trace_exec: run
        init containers, containers, probes and exec commands under `strace
        -f -e execve` so that exec_trace() lists every program they started
        (a traced container's process is strace, which passes SIGTERM on).
        keep_state: keep the disk state directory (logs, data) after the
        run; default from REDIS_GEN_HARNESS_KEEP=1. only: names of the
        StatefulSets and Deployments to start (default: all). dns: run a
        cluster DNS server for the pods (resolv.conf names it) that answers
        from the same table as /etc/hosts, for programs that resolve names
        themselves at run time (HAProxy's resolvers). limits: run each
        container in cgroups with its manifest's memory and CPU limits
        (cgroups.py; Pod.cgroup() reads usage, peak and OOM kills).
        pv_size: every PersistentVolume is a tmpfs of this size ('64M'),
        a disk that can fill up."""
        self.out_dir = pathlib.Path(out_dir)
        self.manifests = manifests.Manifests.load(self.out_dir)
        self.password = password
        self._explicit_secrets = secrets or {}
        self.trace_exec = trace_exec
        self.ready_timeout = ready_timeout
        self.only = only
        self.dns = dns
        self.limits = limits
        self.pv_size = pv_size
        self._cgroups: list = []
        self._mounts: list[pathlib.Path] = []
        self.keep_state = os.environ.get("REDIS_GEN_HARNESS_KEEP") == "1" if keep_state is None else keep_state
        self.pods: dict[str, Pod] = {}
        self.launched: list[dict] = []  # every process the harness started
        self._groups: list[subprocess.Popen] = []
        self._trace_files: list[pathlib.Path] = []
        self.network = None
        self.disk = self.mem = None
        self.notes: list[str] = []

    # -- context manager -------------------------------------------------------

    def __enter__(self) -> "Deployment":
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _start(self):
        if os.geteuid() != 0:
            raise PermissionError("the runtime harness needs root (network and mount namespaces)")
        cleanup_stale()
        statefulsets = [s for s in self.manifests.workloads() if self.only is None or s["metadata"]["name"] in self.only]
        if not statefulsets:
            raise ValueError(f"{self.out_dir}: no StatefulSet or Deployment")
        used = {c["image"] for s in statefulsets for c in self._all_containers(s)}
        self.notes = images.notes(used) + self._service_notes(statefulsets)

        self.disk = pathlib.Path(tempfile.mkdtemp(prefix="redis-gen-harness-"))
        self.mem = pathlib.Path(tempfile.mkdtemp(prefix="redis-gen-harness-", dir=MEMORY_ROOT))
        (self.mem / "trace").mkdir()
        self.configmaps = {}
        self.secrets = {}
        namespaces = {s["metadata"]["namespace"] for s in statefulsets}
        for cm in self.manifests.of_kind("ConfigMap"):
            if cm["metadata"].get("namespace") in namespaces:
                self.configmaps[cm["metadata"]["name"]] = dict(cm.get("data") or {})
        for sts in statefulsets:
            for v in sts["spec"]["template"]["spec"].get("volumes") or []:
                if "secret" in v:
                    self._secret(v["secret"]["secretName"], sts["metadata"]["namespace"], v["secret"])

        self.network = Network(dns=self.dns)
        for sts in statefulsets:
            for i, name in enumerate(manifests.pod_names(sts)):
                self.pods[name] = Pod(self, sts, name, i)
        self._write_hosts()
        # podManagementPolicy Parallel (and OrderedReady would give the same
        # result here: every pod only needs its own init containers).
        for pod in self.pods.values():
            pod.start()
        for pod in self.pods.values():
            pod.wait_ready(self.ready_timeout)

    @staticmethod
    def _all_containers(sts):
        spec = sts["spec"]["template"]["spec"]
        return (spec.get("initContainers") or []) + spec["containers"]

    def _secret(self, name, namespace, source):
        if name in self.secrets:
            return
        if name in self._explicit_secrets:
            self.secrets[name] = dict(self._explicit_secrets[name])
            return
        keys = self.manifests.secret_keys(name, namespace) or [i["key"] for i in source.get("items") or []]
        if self.password is None or not keys:
            raise ValueError(f"Secret {namespace}/{name}: give password= or secrets={{{name!r}: ...}}")
        self.secrets[name] = {k: self.password for k in keys}

    def _service_notes(self, statefulsets):
        notes = []
        for ns in sorted({s["metadata"]["namespace"] for s in statefulsets}):
            for svc in self.manifests.services(ns):
                for p in svc["spec"].get("ports") or []:
                    target = p.get("targetPort", p["port"])
                    pods = self._selected(svc, statefulsets)
                    containers = pods[0]["spec"]["template"]["spec"]["containers"] if pods else []
                    if pods and manifests.container_port(containers, target) != p["port"]:
                        notes.append(
                            f"Service {svc['metadata']['name']}: port {p['port']} -> {target} is not "
                            "reachable by name here (no kube-proxy); use the pod port"
                        )
        return notes

    @staticmethod
    def _selected(svc, statefulsets):
        selector = svc["spec"].get("selector") or {}
        return [s for s in statefulsets if manifests.selects(selector, s["spec"]["template"]["metadata"]["labels"])]

    def _write_hosts(self):
        """/etc/hosts of every pod: localhost, each pod's DNS name, and each
        Service name -> the addresses of the pods it selects (what a
        headless Service's DNS answers; a ClusterIP Service's VIP is
        approximated by its endpoints, there is no kube-proxy)."""
        lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
        for pod in self.pods.values():
            lines.append(f"{pod.ip}\t{pod.fqdn} {pod.name}" if pod.fqdn else f"{pod.ip}\t{pod.name}")
        namespaces = sorted({p.namespace for p in self.pods.values()})
        for ns in namespaces:
            for svc in self.manifests.services(ns):
                name = svc["metadata"]["name"]
                selector = svc["spec"].get("selector") or {}
                aliases = f"{name}.{ns}.svc.{manifests.CLUSTER_DOMAIN} {name}.{ns}.svc {name}.{ns} {name}"
                for pod in self.pods.values():
                    if pod.namespace == ns and manifests.selects(selector, pod.labels):
                        lines.append(f"{pod.ip}\t{aliases}")
        self.network.write_hosts("\n".join(lines) + "\n")

    # -- what the harness makes on the host ---------------------------------------

    def _cgroup(self, name: str, memory: int | None, cpu_millis: int | None):
        from .cgroups import Cgroup

        cgroup = Cgroup(f"{self.network.prefix}-{name}", memory, cpu_millis)
        self._cgroups.append(cgroup)
        for d in cgroup.dirs.values():
            self.network.own("cgroup", d)
        return cgroup

    def _mount_pv(self, path: pathlib.Path):
        self.network.own("mount", path)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.pv_size},mode=2777", "tmpfs", str(path)], check=True)
        self._mounts.append(path)

    # -- Kubernetes operations ---------------------------------------------------------

    def update_secret(self, name: str, data: dict[str, str]):
        """The Secret `name` gets new data (a rotation, a sealed-secrets
        controller writing a new value): every running pod's volumes of it
        change as the kubelet changes them (Pod.refresh_secret); containers
        started afterwards see the new values in their environment too."""
        self.secrets[name] = dict(data)
        for pod in self.pods.values():
            if pod.processes:
                pod.refresh_secret(name)

    def power_cut(self):
        """Every container of every pod SIGKILLed at once (a node losing
        power, a single-node cluster rebooting): the pods are gone, their
        PersistentVolumes stay. start_pods() brings them back."""
        procs = [p for pod in self.pods.values() for p in pod.processes.values()]
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pod in self.pods.values():
            for proc in pod.processes.values():
                self._reap(proc)
            pod.processes.clear()

    def start_pods(self, order: list[str], gap: float = 0.0, ready_timeout: float | None = None):
        """Recreates the named pods (each stopped first if it runs), in this
        order, `gap` seconds apart: new addresses, fresh emptyDirs, init
        containers, same PVs. Then waits until every one of them is ready."""
        pods = [self.pods[name] for name in order]
        for pod in pods:
            pod.stop()
            pod.ip = self.network.readdress(pod.name)
        self._write_hosts()
        for i, pod in enumerate(pods):
            if i and gap:
                time.sleep(gap)
            pod.start()
        for pod in pods:
            pod.wait_ready(self.ready_timeout if ready_timeout is None else ready_timeout)

    # -- process bookkeeping ----------------------------------------------------

    def _started(self, pod, container, proc, launch, command):
        self._groups.append(proc)
        self.launched.append(
            {"pod": pod.name, "container": container, "pid": proc.pid, "launch": launch, "command": command, "at": time.monotonic()}
        )

    def _reap(self, proc: subprocess.Popen):
        """SIGKILL to the process group of proc (its session: the container's
        main process and everything it forked), then wait for it."""
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def _trace_file(self) -> pathlib.Path:
        path = self.mem / "trace" / f"{len(self._trace_files)}.strace"
        self._trace_files.append(path)
        return path

    def exec_trace(self) -> list[list[bytes]]:
        """Every argv that traced processes passed to execve (raw bytes)."""
        argvs = []
        for path in self._trace_files:
            if not path.exists():
                continue
            for line in path.read_text().splitlines():
                m = re.search(r'execve\("[^"]*", \[(.*?)\](?:, |\.\.\.)', line)
                if m:
                    argvs.append([bytes.fromhex(s.replace("\\x", "")) for s in re.findall(r'"((?:\\x[0-9a-f]{2})*)"', m.group(1))])
        return argvs

    def pids(self) -> list[int]:
        """Every live process the harness started, with its descendants."""
        from .pod import descendants

        return descendants([p.pid for p in self._groups if p.poll() is None])

    # -- queries -----------------------------------------------------------------

    def by_role(self, component: str) -> list[Pod]:
        """Pods whose app.kubernetes.io/component label is `component`."""
        return [p for p in self.pods.values() if p.labels.get("app.kubernetes.io/component") == component]

    def scrape_targets(self) -> list[dict]:
        """What Prometheus scrapes by the manifests' ServiceMonitors, as
        file_sd target groups: for each Service a ServiceMonitor selects (by
        labels, in its namespaces) and each endpoint port, the running pods
        the Service selects that have that container port, labelled as
        prometheus-operator labels them (job = the Service, namespace,
        service, pod, endpoint, and the podTargetLabels with Prometheus'
        spelling). Addresses are the pods' current ones."""
        groups = []
        for sm in self.manifests.of_kind("ServiceMonitor"):
            spec = sm["spec"]
            wanted = spec["selector"].get("matchLabels") or {}
            namespaces = spec.get("namespaceSelector", {}).get("matchNames") or [sm["metadata"]["namespace"]]
            for ns in namespaces:
                for svc in self.manifests.services(ns):
                    if not manifests.selects(wanted, svc["metadata"].get("labels") or {}):
                        continue
                    selector = svc["spec"].get("selector") or {}
                    for endpoint in spec["endpoints"]:
                        (svc_port,) = [p for p in svc["spec"]["ports"] if p.get("name") == endpoint["port"]]
                        for pod in self.pods.values():
                            if pod.namespace != ns or not manifests.selects(selector, pod.labels):
                                continue
                            target = svc_port.get("targetPort", svc_port["port"])
                            port = manifests.container_port(pod.spec["containers"], target)
                            if port is None:
                                continue
                            labels = {
                                "job": svc["metadata"]["name"],
                                "namespace": ns,
                                "service": svc["metadata"]["name"],
                                "pod": pod.name,
                                "endpoint": endpoint["port"],
                            }
                            for key in spec.get("podTargetLabels") or []:
                                if key in pod.labels:
                                    labels[re.sub(r"[^A-Za-z0-9_]", "_", key)] = pod.labels[key]
                            groups.append({"targets": [f"{pod.ip}:{port}"], "labels": labels})
        return groups

    def wait_synced(self, timeout: float = 30, pods: list[Pod] | None = None):
        """Waits until every replica's link to its primary is up, no sync is
        in progress, and its offset equals the primary's. pods: the Redis
        pods (default: every pod)."""
        deadline = time.monotonic() + timeout
        pods = list(self.pods.values()) if pods is None else pods
        while True:
            infos = {pod.name: pod.info("replication") for pod in pods}
            primaries = [i for i in infos.values() if i.get("role") == "master"]
            replicas = {n: i for n, i in infos.items() if i.get("role") == "slave"}
            offset = primaries[0].get("master_repl_offset") if len(primaries) == 1 else None
            lagging = [
                n
                for n, i in replicas.items()
                if i.get("master_link_status") != "up"
                or i.get("master_sync_in_progress") != "0"
                or i.get("slave_repl_offset") != offset
            ]
            if offset is not None and not lagging:
                return
            if time.monotonic() > deadline:
                raise PodError(f"replication not in sync after {timeout}s: {lagging or 'no single primary'}: {infos}")
            time.sleep(POLL)

    # -- teardown ------------------------------------------------------------------

    def close(self):
        errors = []
        for pod in self.pods.values():
            try:
                pod.stop(grace=10, hooks=False)
            except Exception as e:  # keep tearing down
                errors.append(f"{pod.name}: {e}")
        for proc in self._groups:
            self._reap(proc)
        for cgroup in self._cgroups:
            try:
                cgroup.remove()
            except OSError as e:
                errors.append(f"cgroup {cgroup.dirs}: {e}")
        for path in self._mounts:
            r = subprocess.run(["umount", str(path)], capture_output=True, text=True)
            if r.returncode != 0:
                errors.append(f"umount {path}: {r.stderr.strip()}")
        if self.network is not None:
            try:
                self.network.close()
            except Exception as e:
                errors.append(str(e))
        if self.mem is not None:
            shutil.rmtree(self.mem, ignore_errors=True)
        if self.disk is not None:
            if self.keep_state:
                print(f"harness: state kept in {self.disk}", file=sys.stderr)
            else:
                shutil.rmtree(self.disk, ignore_errors=True)
        if errors:
            raise RuntimeError("harness teardown: " + "; ".join(errors))
