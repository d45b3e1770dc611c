"""Runs a generated out/ directory on this machine, without Kubernetes: every
pod of its StatefulSets as real processes (Debian's redis-server, redis-cli,
prometheus-redis-exporter) inside Linux namespaces, as the manifests say.
See docs/runtime.md.

    from harness import Deployment
    with Deployment(out_dir, password="...") as d:
        d.wait_synced()
        rc, out = d.pods["redis-shared-master-0"].cli("PING")
"""

from .deployment import Deployment
from .network import cleanup_stale
from .pod import Pod, PodError

__all__ = ["Deployment", "Pod", "PodError", "cleanup_stale"]
