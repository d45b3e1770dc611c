"""A container of a pod template -> the process that runs it.

`Container` resolves what Kubernetes resolves before it starts a process:
command and args (or the image's entrypoint), $(VAR) expansion, the
environment (value, secretKeyRef, configMapKeyRef, fieldRef), the effective
securityContext (container over pod, plus fsGroup), the working directory and
the volume mounts. `Container.popen` starts it, or any other command in its
context (an exec probe, `kubectl exec`), through launcher.py inside the pod's
namespaces. Nothing here knows about Redis."""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import pathlib
import shutil
import subprocess
import sys

from . import images
from .manifests import expand

LAUNCHER = pathlib.Path(__file__).with_name("launcher.py")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

_spec_ids = itertools.count()


@dataclasses.dataclass
class Context:
    """What a container needs from its pod when it starts."""

    pod: str
    namespace: str
    pod_ip: str
    netns: str
    volumes: dict[str, pathlib.Path]  # volume name -> host directory
    configmaps: dict[str, dict[str, str]]
    secrets: dict[str, dict[str, str]]
    mnt_root: pathlib.Path  # empty dirs the launcher mounts its tmpfs on
    mnt_scratch: pathlib.Path
    spec_dir: pathlib.Path  # memory-backed: an env value may come from a Secret


@dataclasses.dataclass
class Container:
    spec: dict
    pod_spec: dict
    init: bool = False

    @property
    def name(self) -> str:
        return self.spec["name"]

    @property
    def image(self) -> images.Image:
        return images.lookup(self.spec["image"])

    def ports(self) -> dict[str, int]:
        return {p.get("name", str(p["containerPort"])): int(p["containerPort"]) for p in self.spec.get("ports") or []}

    def security(self) -> dict:
        pod_sc = self.pod_spec.get("securityContext") or {}
        sc = self.spec.get("securityContext") or {}
        uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
        gid = sc.get("runAsGroup", pod_sc.get("runAsGroup", uid))
        groups = list(pod_sc.get("supplementalGroups") or [])
        if "fsGroup" in pod_sc:
            groups.append(pod_sc["fsGroup"])
        if sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) and not uid:
            raise ValueError(f"container {self.name}: runAsNonRoot without a non-zero runAsUser")
        return {
            "user": None if uid is None else {"uid": uid, "gid": gid, "groups": sorted(set(groups))},
            "no_new_privs": sc.get("allowPrivilegeEscalation") is False,
            "drop_all_caps": "ALL" in ((sc.get("capabilities") or {}).get("drop") or []),
            "read_only_root": bool(sc.get("readOnlyRootFilesystem")),
        }

    def environment(self, ctx: Context) -> dict[str, str]:
        env = {"PATH": DEFAULT_PATH, "HOSTNAME": ctx.pod, "HOME": "/"}
        for var in self.spec.get("env") or []:
            if "value" in var:
                env[var["name"]] = expand(str(var["value"]), env)
            elif "valueFrom" in var:
                env[var["name"]] = self._value_from(var["valueFrom"], ctx)
            else:
                env[var["name"]] = ""
        if self.spec.get("envFrom"):
            raise NotImplementedError(f"container {self.name}: envFrom")
        return env

    def _value_from(self, source: dict, ctx: Context) -> str:
        if "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            return ctx.secrets[ref["name"]][ref["key"]]
        if "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            return ctx.configmaps[ref["name"]][ref["key"]]
        if "fieldRef" in source:
            field = source["fieldRef"]["fieldPath"]
            values = {"metadata.name": ctx.pod, "metadata.namespace": ctx.namespace, "status.podIP": ctx.pod_ip}
            if field not in values:
                raise NotImplementedError(f"container {self.name}: fieldRef {field}")
            return values[field]
        raise NotImplementedError(f"container {self.name}: valueFrom {sorted(source)}")

    def argv(self, env: dict[str, str]) -> list[str]:
        """command + args, or the image's entrypoint + args, $(VAR)-expanded."""
        command = self.spec.get("command")
        args = self.spec.get("args") or []
        if command is None:
            if self.image.entrypoint is None:
                raise NotImplementedError(
                    f"container {self.name}: image {self.spec['image']} has no local entrypoint; set `command`"
                )
            command = list(self.image.entrypoint)
        return [expand(str(a), env) for a in [*command, *args]]

    def mounts(self, ctx: Context) -> list[dict]:
        out = []
        for m in self.spec.get("volumeMounts") or []:
            source = ctx.volumes[m["name"]]
            if m.get("subPath"):
                source = source / m["subPath"]
            out.append({"source": str(source), "target": m["mountPath"], "readonly": bool(m.get("readOnly"))})
        return out

    def workdir(self) -> str:
        return self.spec.get("workingDir") or self.image.workdir

    def popen(
        self,
        ctx: Context,
        argv: list[str] | None = None,
        extra_env: dict[str, str] | None = None,
        trace: pathlib.Path | None = None,
        cgroups: list[str] | None = None,
        **popen_args,
    ) -> tuple[subprocess.Popen, list[str], list[str]]:
        """Starts the container's own command (argv None) or `argv` in its
        context. `extra_env` reaches the process through the environment
        only (never a file or an argument); `cgroups`: cgroup.procs files
        the process joins before it execs. Returns the process, the argument
        vector the harness ran and the command it becomes in the container."""
        env = self.environment(ctx)
        command = self.argv(env) if argv is None else list(argv)
        spec = {
            "root": str(ctx.mnt_root),
            "scratch": str(ctx.mnt_scratch),
            "hostname": ctx.pod,
            "mounts": self.mounts(ctx),
            "workdir": self.workdir(),
            "env": env,
            "pass_env": sorted(extra_env or {}),
            "argv": command,
            # Opened here: `ip netns exec` mounts a fresh /sys, without the
            # cgroup file systems, before the launcher runs.
            "cgroup_fds": [os.open(procs, os.O_WRONLY) for procs in cgroups or []],
            **self.security(),
        }
        path = ctx.spec_dir / f"{self.name}-{next(_spec_ids)}.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(spec, f)
        launch = ["ip", "netns", "exec", ctx.netns, "unshare", "--mount", "--uts", "--propagation", "private", "--"]
        launch += [sys.executable, "-I", "-S", str(LAUNCHER), str(path)]
        if trace is not None:
            if shutil.which("strace") is None:
                raise FileNotFoundError("trace_exec needs strace (apt-get install strace)")
            # --seccomp-bpf: only execve stops the tracee, so a traced
            # redis-server runs at full speed; strace passes SIGTERM on.
            launch = ["strace", "-f", "--seccomp-bpf", "-qq", "-xx", "-s", "65536", "-e", "trace=execve", "-o", str(trace), *launch]
        proc_env = {"PATH": os.environ.get("PATH", DEFAULT_PATH), **(extra_env or {})}
        try:
            proc = subprocess.Popen(launch, env=proc_env, start_new_session=True, pass_fds=spec["cgroup_fds"], **popen_args)
        finally:
            for fd in spec["cgroup_fds"]:
                os.close(fd)
        return proc, launch, command
