"""One pod of a StatefulSet: its volumes, its init containers and containers
as processes, its probes, and `kubectl exec`-like commands.

Volumes follow the kubelet: configMap and secret volumes are directories of
files with the manifest's modes, group fsGroup (secrets in memory, like the
kubelet's tmpfs), laid out as the kubelet's atomic writer lays them out (the
files in a `..<timestamp>` directory, `..data` a symlink to it, each key a
symlink through `..data`), so that an update swaps `..data` in one rename;
emptyDirs are fresh directories at every pod start (medium Memory in
/dev/shm) and survive container restarts; a volumeClaimTemplate is one
directory per pod that survives restarts of that pod, as a PersistentVolume
does (a tmpfs of a fixed size when the deployment gives `pv_size`).

With `limits`, each container runs in cgroups made from its
`resources.limits` (cgroups.py); `restart_container` restarts one container
as the kubelet does after a crash, a failed liveness probe or an OOM kill
(same pod, same volumes, no init containers)."""

from __future__ import annotations

import http.client
import itertools
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import time

from . import manifests
from .cgroups import Cgroup, parse_cpu, parse_memory
from .containers import Container, Context

POLL = 0.05
_volume_versions = itertools.count()


class PodError(RuntimeError):
    pass


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = pathlib.Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def descendants(pids: list[int]) -> list[int]:
    """pids and every live descendant of them."""
    children = _children_map()
    out, todo = [], list(pids)
    while todo:
        pid = todo.pop()
        if pid in out:
            continue
        out.append(pid)
        todo.extend(children.get(pid, []))
    return sorted(out)


class Pod:
    def __init__(self, deployment, sts: dict, name: str, index: int):
        self.deployment = deployment
        self.sts = sts
        self.name = name
        self.index = index
        self.namespace = sts["metadata"]["namespace"]
        template = sts["spec"]["template"]
        self.labels: dict = dict(template["metadata"].get("labels") or {})
        self.spec: dict = template["spec"]
        self.fqdn = manifests.pod_fqdn(sts, name)
        self.init_containers = [Container(c, self.spec, init=True) for c in self.spec.get("initContainers") or []]
        self.containers = [Container(c, self.spec) for c in self.spec["containers"]]
        self.processes: dict[str, subprocess.Popen] = {}
        self.restarts: dict[str, int] = {}  # container -> restarts in this pod incarnation
        self.generation = 0
        self.dir = deployment.disk / "pods" / name
        self.mem = deployment.mem / "pods" / name
        for d in (self.dir / "logs", self.dir / "mnt-root", self.dir / "mnt-scratch", self.mem / "specs"):
            d.mkdir(parents=True)
        self.claims = {}
        for claim in sts["spec"].get("volumeClaimTemplates") or []:
            # Kubernetes names the PVC <claim>-<pod>; it outlives the pod.
            path = deployment.disk / "pv" / f"{claim['metadata']['name']}-{name}"
            path.mkdir(parents=True)
            if deployment.pv_size is not None:
                deployment._mount_pv(path)
            self._own(path, 0o2777)
            self.claims[claim["metadata"]["name"]] = path
        self.netns, self.ip = deployment.network.add_pod(name)
        self.cgroups: dict[str, Cgroup] = {}
        if deployment.limits:
            for c in self.init_containers + self.containers:
                limits = (c.spec.get("resources") or {}).get("limits") or {}
                memory = parse_memory(str(limits["memory"])) if "memory" in limits else None
                cpu = parse_cpu(str(limits["cpu"])) if "cpu" in limits else None
                self.cgroups[c.name] = deployment._cgroup(f"{name}-{c.name}", memory, cpu)

    # -- helpers -----------------------------------------------------------

    def __repr__(self):
        return f"<Pod {self.name} {self.ip}>"

    @property
    def fs_group(self):
        return (self.spec.get("securityContext") or {}).get("fsGroup")

    def _own(self, path: pathlib.Path, mode: int):
        os.chown(path, 0, self.fs_group if self.fs_group is not None else 0)
        os.chmod(path, mode)

    def container(self, name: str | None = None) -> Container:
        """The named container, or the first one (kubectl's default)."""
        if name is None:
            return self.containers[0]
        for c in self.init_containers + self.containers:
            if c.name == name:
                return c
        raise KeyError(f"{self.name}: no container {name}")

    def _container_specs(self) -> list[dict]:
        return [c.spec for c in self.containers]

    def _context(self) -> Context:
        return Context(
            pod=self.name,
            namespace=self.namespace,
            pod_ip=self.ip,
            netns=self.netns,
            volumes=self._volumes,
            configmaps=self.deployment.configmaps,
            secrets=self.deployment.secrets,
            mnt_root=self.dir / "mnt-root",
            mnt_scratch=self.dir / "mnt-scratch",
            spec_dir=self.mem / "specs",
        )

    def _write_files(self, directory: pathlib.Path, data: dict[str, str], source: dict):
        """The kubelet's atomic writer: the files in a new `..<version>`
        directory, then `..data` switched to it by one rename, each key's
        top-level name a symlink through `..data`; the old version removed.
        A process that opens a key's path sees the old or the new files,
        never a mix."""
        if not directory.exists():
            directory.mkdir(parents=True)
            self._own(directory, 0o755)
        items = source.get("items") or [{"key": k, "path": k} for k in sorted(data)]
        version = directory / f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{next(_volume_versions)}"
        version.mkdir()
        self._own(version, 0o755)
        for item in items:
            if item["key"] not in data:
                shutil.rmtree(version)
                raise PodError(f"{self.name}: key {item['key']} missing from {source}")
            path = version / item["path"]
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                value = data[item["key"]]
                f.write(value if isinstance(value, bytes) else value.encode())
            self._own(path, item.get("mode", source.get("defaultMode", 0o644)))
        old = os.readlink(directory / "..data") if (directory / "..data").is_symlink() else None
        os.symlink(version.name, directory / "..data_tmp")
        os.rename(directory / "..data_tmp", directory / "..data")
        for top in sorted({pathlib.PurePath(item["path"]).parts[0] for item in items}):
            if not (directory / top).is_symlink():
                os.symlink(f"..data/{top}", directory / top)
        if old is not None:
            shutil.rmtree(directory / old)

    def refresh_secret(self, name: str):
        """What the kubelet does when Secret `name` changed: its volumes in
        this pod get the new values (atomically). Environment variables
        from it change only for containers started afterwards."""
        for v in self.spec.get("volumes") or []:
            if "secret" in v and v["secret"]["secretName"] == name:
                self._write_files(self._volumes[v["name"]], self.deployment.secrets[name], v["secret"])

    def _make_volumes(self):
        """Fresh volumes for a new pod incarnation; claims are kept."""
        disk = self.dir / f"volumes-{self.generation}"
        mem = self.mem / f"volumes-{self.generation}"
        volumes = {}
        for v in self.spec.get("volumes") or []:
            name = v["name"]
            if "configMap" in v:
                src = v["configMap"]
                volumes[name] = disk / name
                self._write_files(volumes[name], self.deployment.configmaps[src["name"]], src)
            elif "secret" in v:
                src = v["secret"]
                volumes[name] = mem / name  # the kubelet keeps Secret volumes in tmpfs
                self._write_files(volumes[name], self.deployment.secrets[src["secretName"]], src)
            elif "emptyDir" in v:
                medium = (v["emptyDir"] or {}).get("medium")
                volumes[name] = (mem if medium == "Memory" else disk) / name
                volumes[name].mkdir(parents=True)
                self._own(volumes[name], 0o2777)
            elif "persistentVolumeClaim" in v:
                raise NotImplementedError(f"{self.name}: volume {name}: a PVC outside volumeClaimTemplates")
            else:
                raise NotImplementedError(f"{self.name}: volume {name}: {sorted(v)}")
        for claim, path in self.claims.items():
            volumes[claim] = path
        self._volumes = volumes

    def _drop_old_volumes(self):
        for base in (self.dir, self.mem):
            for path in base.glob("volumes-*"):
                shutil.rmtree(path, ignore_errors=True)

    def _log(self, container: str):
        return open(self.dir / "logs" / f"{container}.log", "ab")

    def logs(self, container: str | None = None) -> str:
        path = self.dir / "logs" / f"{self.container(container).name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- lifecycle -----------------------------------------------------------

    def start(self):
        """Creates the pod: fresh volumes, the init containers in order (each
        must exit 0), then every container."""
        self.generation += 1
        self.restarts = {}
        self._drop_old_volumes()
        self._make_volumes()
        for c in self.init_containers:
            with self._log(c.name) as log:
                proc = self._spawn(c, stdout=log, stderr=subprocess.STDOUT, trace=self.deployment.trace_exec)
                try:
                    rc = proc.wait(timeout=120)
                finally:
                    self.deployment._reap(proc)
            if rc != 0:
                raise PodError(f"{self.name}: init container {c.name} exited {rc}:\n{self.logs(c.name)}")
        for c in self.containers:
            self._start_container(c)

    def _start_container(self, c: Container):
        with self._log(c.name) as log:
            self.processes[c.name] = self._spawn(c, stdout=log, stderr=subprocess.STDOUT, trace=self.deployment.trace_exec)

    def restart_container(self, container: str | None = None, sig=signal.SIGKILL):
        """Restarts one container as the kubelet does (restartPolicy Always,
        after a crash, an OOM kill or a failed liveness probe): `sig` to its
        main process if it still runs (SIGTERM: up to the grace period, then
        SIGKILL), then the same command again in the same pod, with the same
        volumes (emptyDirs kept), address and Secret files; the init
        containers do not run again. Returns how the old process ended
        (its exit status, negative for a signal)."""
        c = self.container(container)
        proc = self.processes.pop(c.name, None)
        status = None
        if proc is not None:
            if proc.poll() is None:
                self._signal(proc, sig)
                try:
                    proc.wait(timeout=self.spec.get("terminationGracePeriodSeconds", 30))
                except subprocess.TimeoutExpired:
                    pass
            self.deployment._reap(proc)
            status = proc.returncode
        self.restarts[c.name] = self.restarts.get(c.name, 0) + 1
        self._start_container(c)
        return status

    def _spawn(self, c: Container, argv=None, extra_env=None, trace=False, **popen_args) -> subprocess.Popen:
        trace_file = self.deployment._trace_file() if trace else None
        cgroup = self.cgroups.get(c.name)
        procs = cgroup.procs_files if cgroup is not None else None
        proc, launch, command = c.popen(self._context(), argv, extra_env, trace_file, procs, **popen_args)
        self.deployment._started(self, c.name, proc, launch, command)
        return proc

    # -- resources -----------------------------------------------------------

    def cgroup(self, container: str | None = None) -> Cgroup:
        """The cgroup of a container (Deployment(limits=True) only)."""
        name = self.container(container).name
        if name not in self.cgroups:
            raise KeyError(f"{self.name}: container {name} has no cgroup (Deployment(limits=True) makes them)")
        return self.cgroups[name]

    def oom_killed(self, container: str | None = None) -> bool:
        """The kubelet's `OOMKilled`: the container's main process is dead,
        killed by SIGKILL, and the OOM killer killed in its cgroup."""
        proc = self.processes.get(self.container(container).name)
        return (
            proc is not None
            and proc.poll() is not None
            and proc.returncode == -signal.SIGKILL
            and self.cgroup(container).oom_kills() > 0
        )

    # -- network ---------------------------------------------------------------

    def cut_network(self):
        """The pod's link down (`ip link set eth0 down` in its namespace):
        nothing in or out but its own loopback, processes keep running."""
        self.deployment.network.link(self.name, up=False)

    def restore_network(self):
        self.deployment.network.link(self.name, up=True)

    def running(self, container: str | None = None) -> bool:
        proc = self.processes.get(self.container(container).name)
        return proc is not None and proc.poll() is None

    def wait_ready(self, timeout: float = 30):
        """Polls every readiness probe until all pass (the probes' initial
        delays and periods are not waited for: they only pace the kubelet)."""
        deadline = time.monotonic() + timeout
        pending = [c.name for c in self.containers if c.spec.get("readinessProbe")]
        while pending:
            for name in list(pending):
                if not self.running(name):
                    raise PodError(f"{self.name}: container {name} exited:\n{self.logs(name)}")
                if self.probe("readiness", container=name) == 0:
                    pending.remove(name)
            if pending and time.monotonic() > deadline:
                raise PodError(f"{self.name}: not ready after {timeout}s: {pending}\n{self.logs(pending[0])}")
            if pending:
                time.sleep(POLL)

    def stop(self, grace: float | None = None, hooks: bool = True):
        """Deletes the pod as the kubelet does: each running container's
        preStop exec hook (when `hooks`), then SIGTERM to every container;
        SIGKILL once terminationGracePeriodSeconds (or `grace`), counted from
        the start of the hooks, are over."""
        if grace is None:
            grace = self.spec.get("terminationGracePeriodSeconds", 30)
        deadline = time.monotonic() + grace
        for c in self.containers:
            hook = ((c.spec.get("lifecycle") or {}).get("preStop")) if hooks and self.running(c.name) else None
            if hook is None:
                continue
            if "exec" not in hook:
                raise NotImplementedError(f"{self.name}: preStop {sorted(hook)}")
            r = self.exec(*hook["exec"]["command"], container=c.name, timeout=max(1.0, deadline - time.monotonic()))
            with self._log(c.name) as log:
                log.write(f"harness: preStop exited {r.returncode}\n{r.stdout}{r.stderr}".encode())
        live = [p for p in self.processes.values() if p.poll() is None]
        for p in live:
            self._signal(p, signal.SIGTERM)
        for p in live:
            try:
                p.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for p in self.processes.values():
            self.deployment._reap(p)
        self.processes.clear()

    @staticmethod
    def _signal(proc: subprocess.Popen, sig):
        try:
            os.kill(proc.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self, sig=signal.SIGKILL, container: str | None = None, wait: bool = True):
        """Sends `sig` to a container's main process (default: the first
        container). For SIGKILL, SIGTERM, SIGINT and SIGQUIT, waits until it
        exited (SIGTERM: up to terminationGracePeriodSeconds) and returns its
        exit status."""
        proc = self.processes[self.container(container).name]
        self._signal(proc, sig)
        if wait and sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
            return proc.wait(timeout=self.spec.get("terminationGracePeriodSeconds", 30))
        return None

    def restart(self, new_address: bool = True, ready_timeout: float = 30, away: float = 0):
        """Recreates the pod as the StatefulSet controller would: the old
        processes are stopped (if still running), the pod comes back with the
        same name and PersistentVolumes, fresh emptyDirs, a new address
        (unless new_address is False) under the same DNS names, runs its
        init containers again and starts every container. `away`: seconds
        between the old pod's end and the new one's start (what a cluster
        spends on scheduling, the image pull, attaching the volume)."""
        self.stop()
        time.sleep(away)
        if new_address:
            self.ip = self.deployment.network.readdress(self.name)
            self.deployment._write_hosts()
        self.start()
        self.wait_ready(ready_timeout)

    def pids(self) -> list[int]:
        """Live processes of the pod's containers and all their descendants."""
        return descendants([p.pid for p in self.processes.values() if p.poll() is None])

    # -- probes and exec -------------------------------------------------------

    def exec(self, *argv, container: str | None = None, env: dict | None = None, timeout: float = 10, trace=False):
        """Like `kubectl exec`: runs argv in the container's context. `env`
        travels in the environment only. Returns a CompletedProcess (text)."""
        c = self.container(container)
        proc = self._spawn(
            c,
            list(argv),
            env,
            trace=trace or self.deployment.trace_exec,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.deployment._reap(proc)
            out, err = proc.communicate()
            return subprocess.CompletedProcess(argv, -signal.SIGKILL, out.decode(errors="replace"), "timeout")
        finally:
            self.deployment._reap(proc)
        return subprocess.CompletedProcess(argv, proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"))

    def cli(self, *args, auth: bool | str = True, container: str | None = None, timeout: float = 10):
        """redis-cli in the pod against 127.0.0.1 and the container's `redis`
        port. auth=True sends the deployment's password, a string sends that
        one, False none; it travels in REDISCLI_AUTH, never as an argument.
        Returns (rc, stdout without the trailing newline); note that
        redis-cli exits 0 on error replies too."""
        c = self.container(container)
        port = c.ports().get("redis", 6379)
        password = self.deployment.password if auth is True else auth or None
        env = {"REDISCLI_AUTH": password} if password is not None else None
        r = self.exec("redis-cli", "-h", "127.0.0.1", "-p", str(port), *args, container=c.name, env=env, timeout=timeout)
        return r.returncode, r.stdout.rstrip("\n")

    def info(self, section: str = "replication") -> dict[str, str]:
        rc, out = self.cli("INFO", section)
        if rc != 0:
            raise PodError(f"{self.name}: INFO {section} failed: {out}")
        return dict(line.split(":", 1) for line in out.splitlines() if ":" in line and not line.startswith("#"))

    def probe(self, kind: str, container: str | None = None) -> int:
        """Runs the container's liveness/readiness/startup probe once, as the
        kubelet would; 0 when it passes. Default container: the first one
        that has such a probe."""
        key = f"{kind}Probe"
        if container is None:
            candidates = [c for c in self.containers if c.spec.get(key)]
            if not candidates:
                raise KeyError(f"{self.name}: no {kind} probe")
            c = candidates[0]
        else:
            c = self.container(container)
        probe = c.spec[key]
        timeout = probe.get("timeoutSeconds", 1)
        if "exec" in probe:
            return self.exec(*probe["exec"]["command"], container=c.name, timeout=timeout).returncode
        if "httpGet" in probe:
            get = probe["httpGet"]
            port = manifests.container_port(self._container_specs(), get["port"])
            try:
                status, _ = self.http_get(port, get.get("path", "/"), timeout=timeout)
            except OSError:
                return 1
            return 0 if 200 <= status < 400 else 1
        if "tcpSocket" in probe:
            port = manifests.container_port(self._container_specs(), probe["tcpSocket"]["port"])

            def connect():
                with socket.create_connection((self.ip, port), timeout=timeout):
                    return 0

            try:
                return self.deployment.network.run_in(self.name, connect)
            except OSError:
                return 1
        raise NotImplementedError(f"{self.name}: probe {sorted(probe)}")

    def http_get(self, port: int, path: str, timeout: float = 5) -> tuple[int, str]:
        """GET http://<pod ip>:port/path from inside the pod network, as the
        kubelet or Prometheus would."""

        def get():
            conn = http.client.HTTPConnection(self.ip, port, timeout=timeout)
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                return resp.status, resp.read().decode(errors="replace")
            finally:
                conn.close()

        return self.deployment.network.run_in(self.name, get)

    def metrics(self) -> str:
        """The exporter's /metrics (port `metrics` of the pod)."""
        port = manifests.container_port(self._container_specs(), "metrics")
        if port is None:
            raise KeyError(f"{self.name}: no container port named metrics")
        status, body = self.http_get(port, "/metrics")
        if status != 200:
            raise PodError(f"{self.name}: GET /metrics answered {status}")
        return body
