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
import socket
import struct
import subprocess
import threading

# RFC 2544 benchmarking range: never routed, and only inside our namespaces.
SUBNET = "198.18.0"
# The cluster DNS server (Network(dns=True)), on the switch's bridge.
DNS_ADDRESS = f"{SUBNET}.2"
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
    def __init__(self, dns: bool = False):
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
        self._dns_socket = None
        if dns:
            self._start_dns()

    def own(self, kind: str, path: pathlib.Path):
        """Notes in the owner file something else this run made on the host
        (kind `cgroup` or `mount`), for cleanup_stale()."""
        with open(OWNERS / self.prefix, "a") as f:
            f.write(f"{kind} {path}\n")

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
        resolv = "# redis-gen harness: names are in /etc/hosts\n"
        if self._dns_socket is not None:
            resolv += f"nameserver {DNS_ADDRESS}\n"
        (ETC_NETNS / netns / "resolv.conf").write_text(resolv)
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

    def link(self, pod: str, up: bool):
        """eth0 of the pod up or down; the address and its route come back with it."""
        ip("-n", self.pods[pod][0], "link", "set", "eth0", "up" if up else "down")

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

    # -- cluster DNS ---------------------------------------------------------

    def _start_dns(self):
        """A DNS server on the bridge (DNS_ADDRESS:53, UDP) that answers A
        queries from the hosts table (TTL 1 s), like the cluster's DNS
        answers for pods and Services; NXDOMAIN for any other name."""
        ip("-n", self.switch, "addr", "add", f"{DNS_ADDRESS}/24", "dev", "br0")

        def bind():
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((DNS_ADDRESS, 53))
            return sock

        self._dns_socket = self._in_netns(self.switch, bind)
        threading.Thread(target=self._serve_dns, name="harness-dns", daemon=True).start()

    def _serve_dns(self):
        sock = self._dns_socket
        while True:
            try:
                query, client = sock.recvfrom(1500)
            except OSError:
                return  # closed
            try:
                sock.sendto(self._dns_answer(query), client)
            except (OSError, IndexError, struct.error, UnicodeDecodeError):
                continue

    def _lookup(self, name: str) -> list[str]:
        found = []
        for line in self._hosts_text.splitlines():
            fields = line.split()
            if len(fields) >= 2 and name in (f.lower() for f in fields[1:]) and ":" not in fields[0]:
                found.append(fields[0])
        return found

    def _dns_answer(self, query: bytes) -> bytes:
        tid, flags = struct.unpack(">HH", query[:4])
        i, labels = 12, []
        while query[i]:
            labels.append(query[i + 1 : i + 1 + query[i]].decode())
            i += 1 + query[i]
        qtype, _ = struct.unpack(">HH", query[i + 1 : i + 5])
        question = query[12 : i + 5]
        addresses = self._lookup(".".join(labels).lower())
        answers = addresses if qtype == 1 else []
        rcode = 0 if addresses else 3
        header = struct.pack(">HHHHHH", tid, 0x8000 | 0x0400 | (flags & 0x0100) | 0x0080 | rcode, 1, len(answers), 0, 0)
        records = b"".join(b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 1, 4) + socket.inet_aton(a) for a in answers)
        return header + question + records

    def _in_netns(self, netns: str, fn):
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

        t = threading.Thread(target=target, name=f"netns-{netns}")
        t.start()
        t.join()
        if "error" in result:
            raise result["error"]
        return result["value"]

    def run_in(self, pod: str, fn):
        """Calls fn() on a thread that joined the pod's network namespace;
        sockets it opens stay in that namespace."""
        return self._in_netns(self.pods[pod][0], fn)

    def popen_in(self, pod: str, argv: list[str], **popen_args) -> subprocess.Popen:
        """Starts a program of the host (not a container of the pod) in the
        pod's network namespace, e.g. a Prometheus that reaches the pods as
        one in the cluster would. The caller stops it."""
        return subprocess.Popen(["ip", "netns", "exec", self.pods[pod][0], *argv], **popen_args)

    def close(self):
        errors = []
        if self._dns_socket is not None:
            self._dns_socket.close()
            self._dns_socket = None
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
            first, *rest = owner.read_text().splitlines()
            pid, start = first.split()
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
        owned = [line.split(" ", 1) for line in rest if " " in line]
        from .cgroups import remove_dirs

        remove_dirs([pathlib.Path(path) for kind, path in owned if kind == "cgroup"])
        for kind, path in owned:
            if kind == "mount":
                subprocess.run(["umount", "-l", path], capture_output=True)
        owner.unlink(missing_ok=True)
    return removed
