"""Shared fixtures of the Python suite: the release binary, the repository,
fresh builds of a profile, the CRD schemas of ../shared/crds, and the small
helpers of the runtime tests (polling, visible notes, test passwords)."""

import os
import pathlib
import secrets
import subprocess
import time

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


def poll(fn, timeout=10.0, interval=0.05):
    """fn() until it returns a truthy value; that value, or the last one."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def say(request, lines):
    """Prints lines visibly, even with output captured (figures, notes)."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line("")
            for line in lines:
                reporter.write_line(line)


def new_password() -> str:
    return "rt-" + secrets.token_urlsafe(24)
