"""Reads a generated out/ directory: the StatefulSets, ConfigMaps, Services and
SealedSecrets the harness needs, as plain dictionaries with a few accessors.

Nothing here interprets Redis: it is the part of Kubernetes that turns a pod
template into containers, volumes and names (pod `<sts>-<i>`, pod DNS name
`<pod>.<serviceName>.<ns>.svc.cluster.local`, Service selectors, named ports)."""

from __future__ import annotations

import dataclasses
import pathlib
import re

import yaml

CLUSTER_DOMAIN = "cluster.local"


@dataclasses.dataclass
class Manifests:
    """Every object of an out/ directory, by kind."""

    directory: pathlib.Path
    objects: list[dict]

    @classmethod
    def load(cls, directory) -> "Manifests":
        directory = pathlib.Path(directory)
        objects = []
        for path in sorted(directory.glob("*.yaml")):
            for doc in yaml.safe_load_all(path.read_text()):
                if isinstance(doc, dict) and "kind" in doc and doc.get("kind") != "Kustomization":
                    objects.append(doc)
        if not objects:
            raise ValueError(f"{directory}: no Kubernetes objects found")
        return cls(directory, objects)

    def of_kind(self, kind: str) -> list[dict]:
        return [o for o in self.objects if o["kind"] == kind]

    def get(self, kind: str, name: str, namespace: str) -> dict | None:
        for o in self.of_kind(kind):
            meta = o["metadata"]
            if meta["name"] == name and meta.get("namespace") == namespace:
                return o
        return None

    def statefulsets(self) -> list[dict]:
        return self.of_kind("StatefulSet")

    def services(self, namespace: str) -> list[dict]:
        return [s for s in self.of_kind("Service") if s["metadata"].get("namespace") == namespace]

    def configmap_data(self, name: str, namespace: str) -> dict[str, str]:
        cm = self.get("ConfigMap", name, namespace)
        if cm is None:
            raise KeyError(f"ConfigMap {namespace}/{name} is not in {self.directory}")
        return dict(cm.get("data") or {})

    def secret_keys(self, name: str, namespace: str) -> list[str]:
        """Keys of the Secret `name`, as its SealedSecret (or a plain Secret) declares them."""
        for kind, field in (("SealedSecret", ("spec", "encryptedData")), ("Secret", ("data",))):
            for o in self.of_kind(kind):
                meta = o["metadata"]
                target = o.get("spec", {}).get("template", {}).get("metadata", {}).get("name", meta["name"])
                if target == name and meta.get("namespace") == namespace:
                    node = o
                    for part in field:
                        node = node.get(part) or {}
                    return sorted(node)
        return []


def pod_names(sts: dict) -> list[str]:
    """Pod names of a StatefulSet: `<name>-0` .. `<name>-(replicas-1)`."""
    return [f"{sts['metadata']['name']}-{i}" for i in range(int(sts["spec"].get("replicas", 1)))]


def pod_fqdn(sts: dict, pod: str) -> str:
    """Stable DNS name of a StatefulSet pod (hostname + subdomain = serviceName)."""
    ns = sts["metadata"]["namespace"]
    return f"{pod}.{sts['spec']['serviceName']}.{ns}.svc.{CLUSTER_DOMAIN}"


def selects(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def container_port(containers: list[dict], port) -> int | None:
    """Resolves a Service targetPort / probe port (number or container port name)."""
    if isinstance(port, int):
        return port
    if isinstance(port, str) and port.isdigit():
        return int(port)
    for c in containers:
        for p in c.get("ports") or []:
            if p.get("name") == port:
                return int(p["containerPort"])
    return None


_VAR_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion in command and args: `$$` escapes, unknown
    references stay as written."""

    def sub(m):
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))

    return _VAR_REF.sub(sub, text)
