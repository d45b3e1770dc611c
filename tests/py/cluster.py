"""A real Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager and
kube-scheduler built by tests/cluster/build, with certificates made by openssl, a service-account
key pair, the admission plugins of a normal cluster and a kubeconfig. Each Cluster has its own
directory, data and ports, so no two tests share state; stop() (also run by the fixture when a
test fails) kills every process group it started."""

import json
import os
import pathlib
import signal
import socket
import subprocess
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]

ADMISSION = ",".join(
    [
        "NamespaceLifecycle",
        "LimitRanger",
        "ServiceAccount",
        "PodSecurity",
        "DefaultStorageClass",
        "DefaultTolerationSeconds",
        "PersistentVolumeClaimResize",
        "Priority",
        "StorageObjectInUseProtection",
        "RuntimeClass",
        "DefaultIngressClass",
        "NodeRestriction",
        "TaintNodesByCondition",
        "CertificateApproval",
        "CertificateSigning",
        "CertificateSubjectRestriction",
        "ClusterTrustBundleAttest",
        "MutatingAdmissionPolicy",
        "MutatingAdmissionWebhook",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionWebhook",
        "ResourceQuota",
    ]
)


def binaries() -> pathlib.Path:
    """The bin directory of the pinned control plane (built on first use, cached after)."""
    out = subprocess.run([str(ROOT / "tests" / "cluster" / "build")], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"tests/cluster/build failed:\n{out.stderr}")
    return pathlib.Path(out.stdout.strip())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _certificates(d: pathlib.Path):
    """A CA, the API server's serving certificate (127.0.0.1) and an admin client certificate."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
             "-keyout", "ca.key", "-out", "ca.crt", cwd=d)
    for name, subj, ext in (
        ("apiserver", "/CN=kube-apiserver",
         "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth"),
        ("admin", "/O=system:masters/CN=admin", "extendedKeyUsage=clientAuth"),
    ):
        (d / f"{name}.ext").write_text(ext + "\n")
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subj, "-keyout", f"{name}.key",
                 "-out", f"{name}.csr", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.crt", cwd=d)
    _openssl("genrsa", "-out", "sa.key", "2048", cwd=d)
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=d)


class Cluster:
    def __init__(self, workdir: pathlib.Path):
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.bin = binaries()
        self.procs = []
        self.kubeconfig = self.dir / "kubeconfig"

    def _spawn(self, name, args):
        log = open(self.dir / f"{name}.log", "wb")
        # A new session per component: stop() kills its whole process group.
        proc = subprocess.Popen([str(self.bin / name), *args], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.dir)
        log.close()
        self.procs.append((name, proc))
        return proc

    def start(self):
        d = self.dir
        _certificates(d)
        etcd_client, etcd_peer, api = _free_port(), _free_port(), _free_port()
        self.server = f"https://127.0.0.1:{api}"
        self._spawn("etcd", [
            "--name", "test", "--data-dir", str(d / "etcd"),
            "--listen-client-urls", f"http://127.0.0.1:{etcd_client}",
            "--advertise-client-urls", f"http://127.0.0.1:{etcd_client}",
            "--listen-peer-urls", f"http://127.0.0.1:{etcd_peer}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{etcd_peer}",
            "--initial-cluster", f"test=http://127.0.0.1:{etcd_peer}",
            "--listen-metrics-urls", f"http://127.0.0.1:{_free_port()}",
        ])
        self._spawn("kube-apiserver", [
            f"--etcd-servers=http://127.0.0.1:{etcd_client}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={api}",
            f"--cert-dir={d}", f"--tls-cert-file={d}/apiserver.crt", f"--tls-private-key-file={d}/apiserver.key",
            f"--client-ca-file={d}/ca.crt",
            f"--service-account-key-file={d}/sa.pub", f"--service-account-signing-key-file={d}/sa.key",
            "--service-account-issuer=https://kubernetes.default.svc",
            "--authorization-mode=Node,RBAC", f"--enable-admission-plugins={ADMISSION}",
            "--service-cluster-ip-range=10.96.0.0/16", "--allow-privileged=false",
            # Loopback may not be advertised through the kubernetes Service's endpoints.
            "--endpoint-reconciler-type=none",
        ])
        self.kubeconfig.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "test",
            "clusters": [{"name": "test", "cluster": {"server": self.server, "certificate-authority": str(d / "ca.crt")}}],
            "users": [{"name": "admin", "user": {"client-certificate": str(d / "admin.crt"),
                                                 "client-key": str(d / "admin.key")}}],
            "contexts": [{"name": "test", "context": {"cluster": "test", "user": "admin"}}],
        }))
        self._wait(lambda: self.kubectl("get", "--raw", "/readyz", check=False).returncode == 0, "kube-apiserver")
        kc = f"--kubeconfig={self.kubeconfig}"
        self._spawn("kube-controller-manager", [
            kc, f"--authentication-kubeconfig={self.kubeconfig}", f"--authorization-kubeconfig={self.kubeconfig}",
            "--bind-address=127.0.0.1", f"--secure-port={_free_port()}", f"--cert-dir={d}",
            "--leader-elect=false", f"--service-account-private-key-file={d}/sa.key",
            f"--root-ca-file={d}/ca.crt", "--use-service-account-credentials=true",
            # No kubelet renews the test Node's lease: keep the node lifecycle controller from tainting it.
            "--node-monitor-grace-period=1h",
        ])
        self._spawn("kube-scheduler", [
            kc, f"--authentication-kubeconfig={self.kubeconfig}", f"--authorization-kubeconfig={self.kubeconfig}",
            "--bind-address=127.0.0.1", f"--secure-port={_free_port()}", "--leader-elect=false",
        ])
        # Ready when the controllers have made the default namespace's ServiceAccount.
        self._wait(lambda: self.kubectl("get", "serviceaccount", "default", check=False).returncode == 0,
                   "kube-controller-manager")
        return self

    def _wait(self, ready, what, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited ({proc.returncode}):\n{self.log(name)[-3000:]}")
            if ready():
                return
            time.sleep(0.5)
        raise RuntimeError(f"{what} not ready after {timeout}s:\n{self.log(self.procs[-1][0])[-3000:]}")

    def log(self, name) -> str:
        return (self.dir / f"{name}.log").read_text(errors="replace")

    def kubectl(self, *args, check=True, input=None):
        """Runs the pinned kubectl against this cluster; returns the CompletedProcess."""
        out = subprocess.run([str(self.bin / "kubectl"), f"--kubeconfig={self.kubeconfig}", *map(str, args)],
                             capture_output=True, text=True, input=input)
        if check and out.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(map(str, args))} failed ({out.returncode}):\n"
                                 f"{out.stdout}\n{out.stderr}")
        return out

    def get(self, *args) -> dict:
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)

    def stop(self):
        for name, proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for name, proc in reversed(self.procs):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()
