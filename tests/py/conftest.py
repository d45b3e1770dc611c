"""Shared fixtures of the Python suite: the release binary, the repository,
fresh builds of a profile, and the CRD schemas of ../shared/crds."""

import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = ROOT / "target" / "x86_64-unknown-linux-gnu" / "release" / "redis-gen"
PROFILES = ROOT / "profiles"
OUT = ROOT / "out"


def _crd_dir() -> pathlib.Path:
    # CI clones the repository with shared/ beside it; developers have it at /work/shared.
    for candidate in (ROOT.parent / "shared" / "crds", ROOT.parent.parent / "shared" / "crds"):
        if candidate.is_dir():
            return candidate
    raise RuntimeError("the CRD schemas (../shared/crds) are missing")


CRDS = _crd_dir()


def run(*args, check=True, input=None, cwd=None, env=None):
    """Runs redis-gen; returns the CompletedProcess (text mode)."""
    return subprocess.run(
        [str(BIN), *map(str, args)], capture_output=True, text=True, check=check, input=input, cwd=cwd, env=env
    )


@pytest.fixture(scope="session")
def binary():
    assert BIN.is_file(), "build the release binary first (tests/run does)"
    return BIN


@pytest.fixture
def build(tmp_path):
    """build(profile_path_or_text) -> output directory of a fresh build."""

    def _build(profile, name="test.toml"):
        if isinstance(profile, str) and "\n" in profile:
            path = tmp_path / name
            path.write_text(profile)
        else:
            path = pathlib.Path(profile)
        out = tmp_path / ("out-" + path.stem)
        run("build", path, "-o", out)
        return out

    return _build
