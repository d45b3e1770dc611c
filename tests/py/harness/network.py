"""The pod network: one Linux network namespace per pod, joined by veth pairs
to a bridge that lives in a namespace of its own (the "switch"). Nothing is
added to the host's network namespace, so the pods can only reach each other
and their own loopback; every address is one of these test hosts.

Names carry a random prefix (`rg<8 hex>`), so parallel test runs never
collide. Pod DNS names go into /etc/netns/<ns>/hosts, which `ip netns exec`
binds over /etc/hosts; the file is rewritten in place (same inode, so the
bind mounts see it) when a pod gets a new address."""

from __future__ import annotations

import ctypes
import os
import pathlib
import secrets
import shutil
import subprocess
import threading

# RFC 2544 benchmarking range: never routed, and only inside our namespaces.
SUBNET = "198.18.0"
NETNS_DIR = pathlib.Path("/run/netns")
ETC_NETNS = pathlib.Path("/etc/netns")
OWNERS = pathlib.Path("/run/redis-gen-harness")

CLONE_NEWNET = 0x40000000


def ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def _start_time(pid: int) -> str | None:
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


class Network:
    def __init__(self):
        self.prefix = "rg" + secrets.token_hex(4)
        self.switch = f"{self.prefix}-switch"
        self.pods: dict[str, tuple[str, str]] = {}  # pod -> (netns, address)
        self._next_host = 10
        self._hosts_text = ""
        self._created: list[str] = []
        OWNERS.mkdir(parents=True, exist_ok=True)
        # Owner file: cleanup_stale() removes what a killed test run left behind.
        (OWNERS / self.prefix).write_text(f"{os.getpid()} {_start_time(os.getpid())}\n")
        self._add_netns(self.switch)
        ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
        ip("-n", self.switch, "link", "set", "br0", "up")

    def _add_netns(self, name):
        ip("netns", "add", name)
        self._created.append(name)
        ip("-n", name, "link", "set", "lo", "up")

    def add_pod(self, pod: str) -> tuple[str, str]:
        """A namespace for `pod` with eth0 on the bridge; returns (netns, address)."""
        netns = f"{self.prefix}-{pod}"
        self._add_netns(netns)
        port = f"v{len(self.pods)}"
        # Both ends are created directly in their namespaces.
        ip("link", "add", "eth0", "netns", netns, "type", "veth", "peer", "name", port, "netns", self.switch)
        ip("-n", self.switch, "link", "set", port, "master", "br0", "up")
        ip("-n", netns, "link", "set", "eth0", "up")
        address = self._new_address()
        ip("-n", netns, "addr", "add", f"{address}/24", "dev", "eth0")
        (ETC_NETNS / netns).mkdir(parents=True, exist_ok=True)
        # No DNS server: names come from the hosts file; a lookup of anything
        # else fails on the closed loopback port 53.
        (ETC_NETNS / netns / "resolv.conf").write_text("# redis-gen harness: names are in /etc/hosts\n")
        (ETC_NETNS / netns / "hosts").write_text(self._hosts_text)
        self.pods[pod] = (netns, address)
        return netns, address

    def readdress(self, pod: str) -> str:
        """A new address for `pod`, as a recreated pod gets in Kubernetes."""
        netns, old = self.pods[pod]
        address = self._new_address()
        ip("-n", netns, "addr", "del", f"{old}/24", "dev", "eth0")
        ip("-n", netns, "addr", "add", f"{address}/24", "dev", "eth0")
        self.pods[pod] = (netns, address)
        return address

    def _new_address(self) -> str:
        if self._next_host > 250:
            raise RuntimeError("the test network has no address left")
        address = f"{SUBNET}.{self._next_host}"
        self._next_host += 1
        return address

    def write_hosts(self, text: str):
        """Same hosts file in every pod; rewritten in place."""
        self._hosts_text = text
        for netns, _ in self.pods.values():
            with open(ETC_NETNS / netns / "hosts", "r+") as f:
                f.truncate(0)
                f.write(text)

    def run_in(self, pod: str, fn):
        """Calls fn() on a thread that joined the pod's network namespace;
        sockets it opens stay in that namespace."""
        netns = self.pods[pod][0]
        result = {}

        def target():
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(NETNS_DIR / netns, os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns")
            finally:
                os.close(fd)
            try:
                result["value"] = fn()
            except BaseException as e:  # re-raised on the caller's thread
                result["error"] = e

        t = threading.Thread(target=target, name=f"netns-{pod}")
        t.start()
        t.join()
        if "error" in result:
            raise result["error"]
        return result["value"]

    def close(self):
        errors = []
        for name in reversed(self._created):
            r = ip("netns", "del", name, check=False)
            if r.returncode != 0 and (NETNS_DIR / name).exists():
                errors.append(f"ip netns del {name}: {r.stderr.strip()}")
            shutil.rmtree(ETC_NETNS / name, ignore_errors=True)
        self._created.clear()
        (OWNERS / self.prefix).unlink(missing_ok=True)
        if errors:
            raise RuntimeError("; ".join(errors))


def cleanup_stale() -> list[str]:
    """Removes namespaces left by harness runs whose process is gone (a test
    run killed with SIGKILL cannot clean up after itself)."""
    removed = []
    if not OWNERS.is_dir():
        return removed
    for owner in OWNERS.iterdir():
        try:
            pid, start = owner.read_text().split()
        except (OSError, ValueError):
            continue
        if _start_time(int(pid)) == start:
            continue  # still running
        prefix = owner.name
        for path in list(NETNS_DIR.glob(prefix + "-*")) if NETNS_DIR.is_dir() else []:
            # Processes a killed run left in its pods go with their namespace.
            for pid in ip("netns", "pids", path.name, check=False).stdout.split():
                try:
                    os.kill(int(pid), 9)
                except (ProcessLookupError, ValueError):
                    pass
            ip("netns", "del", path.name, check=False)
            removed.append(path.name)
        for path in ETC_NETNS.glob(prefix + "-*") if ETC_NETNS.is_dir() else []:
            shutil.rmtree(path, ignore_errors=True)
        owner.unlink(missing_ok=True)
    return removed
