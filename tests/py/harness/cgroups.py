"""Container resource limits as cgroups, as the kubelet applies them.

`limits.memory` becomes the memory cgroup's hard limit (the kernel's OOM
killer kills inside the cgroup when it is reached, as for a container), and
`limits.cpu` a CFS quota per 100 ms period. Every process of the container
(its main process, what it forks, exec probes and `kubectl exec` commands)
runs in the container's cgroup: launcher.py writes itself into cgroup.procs
before it execs the container's command.

Both hierarchies work: cgroup v1 (a `memory` and a `cpu` controller mounted
under /sys/fs/cgroup; the cgroups are made under this process's own cgroup
of each controller, so whatever limits the test run also limits them) and
cgroup v2 (one unified tree; made under the root, the only cgroup that may
hold processes and delegate controllers at once). Names carry the harness
run's prefix; `Network`'s owner file lists them so that cleanup_stale()
removes those of a killed run."""

from __future__ import annotations

import os
import pathlib
import time

ROOT = pathlib.Path("/sys/fs/cgroup")
CFS_PERIOD_US = 100_000


def parse_memory(quantity: str) -> int:
    """A Kubernetes quantity ('2Gi', '64Mi', '1500M', '1073741824') in bytes."""
    units = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
    for suffix in sorted(units, key=len, reverse=True):
        if quantity.endswith(suffix):
            return int(float(quantity[: -len(suffix)]) * units[suffix])
    return int(float(quantity))


def parse_cpu(quantity: str) -> int:
    """A CPU quantity ('1000m', '0.5', '2') in millicores."""
    if quantity.endswith("m"):
        return int(quantity[:-1])
    return int(float(quantity) * 1000)


def version() -> int:
    """1 or 2: which hierarchy this machine mounts (v1 wins when its memory
    controller is mounted: a v2 tree beside it then has no memory controller)."""
    if (ROOT / "memory" / "memory.limit_in_bytes").exists():
        return 1
    if (ROOT / "cgroup.controllers").exists():
        return 2
    raise RuntimeError("no cgroup memory controller is mounted under /sys/fs/cgroup: container limits need one")


def _own_v1(controller: str) -> pathlib.Path:
    for line in pathlib.Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return ROOT / controller / path.lstrip("/")
    raise RuntimeError(f"this process is in no cgroup of controller {controller}")


class Cgroup:
    """The cgroup(s) of one container: memory and CPU limits, usage, peak, OOM kills."""

    def __init__(self, name: str, memory: int | None, cpu_millis: int | None):
        self.version = version()
        self.memory = memory
        self.cpu_millis = cpu_millis
        if self.version == 1:
            self.dirs = {"memory": _own_v1("memory") / name}
            if cpu_millis is not None:
                self.dirs["cpu"] = _own_v1("cpu") / name
        else:
            wanted = {"memory", "cpu"} if cpu_millis is not None else {"memory"}
            enabled = set((ROOT / "cgroup.subtree_control").read_text().split())
            for controller in sorted(wanted - enabled):
                (ROOT / "cgroup.subtree_control").write_text(f"+{controller}")
            self.dirs = {"unified": ROOT / name}
        for d in self.dirs.values():
            d.mkdir()
        try:
            self._limit()
        except BaseException:
            self.remove()
            raise

    def _limit(self):
        if self.version == 1:
            mem = self.dirs["memory"]
            if self.memory is not None:
                (mem / "memory.limit_in_bytes").write_text(str(self.memory))
            (mem / "memory.swappiness").write_text("0")
            if self.cpu_millis is not None:
                (self.dirs["cpu"] / "cpu.cfs_period_us").write_text(str(CFS_PERIOD_US))
                (self.dirs["cpu"] / "cpu.cfs_quota_us").write_text(str(self.cpu_millis * CFS_PERIOD_US // 1000))
        else:
            d = self.dirs["unified"]
            if self.memory is not None:
                (d / "memory.max").write_text(str(self.memory))
                if (d / "memory.swap.max").exists():
                    (d / "memory.swap.max").write_text("0")
            if self.cpu_millis is not None:
                (d / "cpu.max").write_text(f"{self.cpu_millis * CFS_PERIOD_US // 1000} {CFS_PERIOD_US}")

    @property
    def procs_files(self) -> list[str]:
        """What launcher.py writes its pid into."""
        return [str(d / "cgroup.procs") for d in self.dirs.values()]

    def _mem_dir(self) -> pathlib.Path:
        return self.dirs["memory" if self.version == 1 else "unified"]

    def usage(self) -> int:
        """Memory charged now (RSS, page cache, kernel memory), bytes."""
        name = "memory.usage_in_bytes" if self.version == 1 else "memory.current"
        return int((self._mem_dir() / name).read_text())

    def peak(self) -> int:
        """Highest memory charge since creation or the last reset_peak(), bytes."""
        name = "memory.max_usage_in_bytes" if self.version == 1 else "memory.peak"
        return int((self._mem_dir() / name).read_text())

    def reset_peak(self):
        name = "memory.max_usage_in_bytes" if self.version == 1 else "memory.peak"
        (self._mem_dir() / name).write_text("0")

    def stat(self) -> dict[str, int]:
        """What the charge is made of, bytes: `anon` (process memory, what
        the OOM killer frees), `file` (page cache, reclaimable once clean),
        `dirty` (page cache not yet written back)."""
        raw = dict(line.split() for line in (self._mem_dir() / "memory.stat").read_text().splitlines())
        if self.version == 1:
            return {"anon": int(raw["rss"]) + int(raw.get("shmem", 0)), "file": int(raw["cache"]), "dirty": int(raw["dirty"]) + int(raw["writeback"])}
        return {"anon": int(raw["anon"]) + int(raw.get("shmem", 0)), "file": int(raw["file"]), "dirty": int(raw["file_dirty"]) + int(raw["file_writeback"])}

    def oom_kills(self) -> int:
        """How many processes the kernel's OOM killer killed in this cgroup."""
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        for line in (self._mem_dir() / name).read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def pids(self) -> list[int]:
        out = set()
        for d in self.dirs.values():
            try:
                out.update(int(p) for p in (d / "cgroup.procs").read_text().split())
            except FileNotFoundError:
                pass
        return sorted(out)

    def remove(self):
        """rmdir, once the processes are gone (killed first if still there)."""
        remove_dirs(list(self.dirs.values()))


def remove_dirs(dirs: list[pathlib.Path]):
    for d in dirs:
        deadline = time.monotonic() + 10
        while d.exists():
            for pid in (d / "cgroup.procs").read_text().split() if (d / "cgroup.procs").exists() else []:
                try:
                    os.kill(int(pid), 9)
                except ProcessLookupError:
                    pass
            try:
                d.rmdir()
            except FileNotFoundError:
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
