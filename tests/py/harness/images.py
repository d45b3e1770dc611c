"""Container images -> programs installed on this machine (Debian packages).

There is no container runtime here: a container runs a program of the host
inside namespaces that give it the pod's network and the image-like file tree
the manifest describes. This table says, for each image the manifests name,
what its ENTRYPOINT and WORKDIR are and which Debian program stands in for it.
A command that the manifest sets explicitly (`command:`) is run as written and
resolved on PATH, exactly as in the image; only an image's own ENTRYPOINT needs
a mapping."""

from __future__ import annotations

import dataclasses
import functools
import re
import shutil
import subprocess


@dataclasses.dataclass(frozen=True)
class Image:
    repository: str
    # ENTRYPOINT of the image, mapped to the local program; None: the harness
    # cannot emulate the image's entrypoint, the manifest must set `command`.
    entrypoint: tuple[str, ...] | None
    workdir: str
    # Program whose version stands for the image's version.
    program: str
    package: str
    image_entrypoint: str  # the ENTRYPOINT as the image defines it, for the notes

    def local_version(self) -> str:
        return _version(self.program)


IMAGES = {
    # The official image's ENTRYPOINT is docker-entrypoint.sh (chown + gosu); our
    # manifests always set `command`, which replaces it, as Kubernetes does.
    "redis": Image("redis", None, "/data", "redis-server", "redis-server", "docker-entrypoint.sh"),
    "oliver006/redis_exporter": Image(
        "oliver006/redis_exporter",
        ("/usr/bin/prometheus-redis-exporter",),
        "/",
        "prometheus-redis-exporter",
        "prometheus-redis-exporter",
        "/redis_exporter",
    ),
}


def parse(image: str) -> tuple[str, str]:
    """'docker.io/library/redis:8.2' -> ('redis', '8.2'); digests are dropped."""
    ref = image.split("@", 1)[0]
    name, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "latest")
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/library/", "library/"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    return name, tag or "latest"


def lookup(image: str) -> Image:
    name, _ = parse(image)
    if name not in IMAGES:
        raise NotImplementedError(f"image {image}: no local program is mapped to it (harness/images.py)")
    return IMAGES[name]


@functools.lru_cache(maxsize=None)
def _version(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise FileNotFoundError(f"{program} is not installed (tests/run installs it)")
    out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
    text = out.stdout + out.stderr
    m = re.search(r"v=(\d+\.\d+\.\d+)", text) or re.search(r"Exporter v?(\d+\.\d+\.\d+)", text)
    return m.group(1) if m else text.strip().splitlines()[0]


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", version)[:3])


def notes(images: set[str]) -> list[str]:
    """What differs between the images the manifests name and what runs here."""
    lines = []
    for image in sorted(images):
        spec = lookup(image)
        _, tag = parse(image)
        local = spec.local_version()
        if spec.entrypoint is None:
            lines.append(
                f"{image}: runs Debian's {spec.program} {local} ({spec.package}); the image's "
                f"{spec.image_entrypoint} is never used because the manifest sets `command`"
            )
        else:
            lines.append(
                f"{image}: entrypoint {spec.image_entrypoint} -> {' '.join(spec.entrypoint)} {local} "
                f"(Debian {spec.package}), same environment variables"
            )
        if spec.repository == "oliver006/redis_exporter" and version_tuple(local) < (1, 61):
            lines.append(
                f"{spec.program} {local} reads REDIS_PASSWORD_FILE (JSON map) and REDIS_EXPORTER_CONFIG_COMMAND, "
                "but not the value '-' (skip CONFIG, added in v1.61, redis_exporter PR #915): it sends a command "
                "named '-', which Redis refuses and counts in errorstat_ERR; the exporter logs that at debug level "
                "and exports every other metric. The manifests keep '-' for the image they name."
            )
    return lines
