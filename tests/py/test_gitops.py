"""GitOps claims that need Python: the JSON Schema against a real validator,
kubectl kustomize against --stdout, colour on a real terminal, and the
ArgoCD, Flux, GitHub Actions and pre-commit examples doing what they say."""

import json
import os
import pathlib
import pty
import select
import shutil
import subprocess
import tomllib

import jsonschema
import pytest
import yaml

from conftest import BIN, PROFILES, ROOT, run

HOMELAB = PROFILES / "homelab.toml"
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="module")
def schema():
    s = json.loads(run("schema").stdout)
    jsonschema.Draft7Validator.check_schema(s)
    return s


def errors(schema, profile):
    return list(jsonschema.Draft7Validator(schema).iter_errors(profile))


def test_the_homelab_profile_validates_against_the_schema(schema):
    profile = tomllib.loads(HOMELAB.read_text())
    assert len(profile) > 10
    assert errors(schema, profile) == []


def test_what_init_prints_validates_against_the_schema(schema):
    profile = tomllib.loads(run("init").stdout)
    assert errors(schema, profile) == []
    # init leaves out only the keys whose default follows another key.
    derived = {k for k, p in schema["properties"].items() if "default" not in p and "not" not in p}
    assert set(schema["properties"]) - set(profile) == derived | {"chart_version"}


@pytest.mark.parametrize(
    "text, path",
    [
        ('replica_count = "two"', ["replica_count"]),
        ("enable_metrics = 1", ["enable_metrics"]),
        ('replica_namespaces = ["a", 3]', ["replica_namespaces", 1]),
        ('maxmemory_policy = "lru"', ["maxmemory_policy"]),
        ("replica_count = 21", ["replica_count"]),
        ('labels = { team = 5 }', ["labels", "team"]),
        ('chart_version = "23.2.12"', ["chart_version"]),
    ],
)
def test_a_wrong_value_is_rejected_by_the_schema_and_by_redis_gen(schema, tmp_path, text, path):
    profile = tomllib.loads(text)
    found = errors(schema, profile)
    assert [list(e.absolute_path) for e in found] == [path], [e.message for e in found]
    p = tmp_path / "bad.toml"
    p.write_text(text + "\n")
    assert run("validate", p, check=False).returncode == 1


def test_an_unknown_key_is_rejected_by_the_schema(schema):
    found = errors(schema, {"replica_cuont": 2})
    assert len(found) == 1 and found[0].validator == "additionalProperties"


def objects(stream):
    """Objects of a YAML stream by (kind, namespace, name)."""
    out = {}
    for doc in yaml.safe_load_all(stream):
        if doc is None:
            continue
        m = doc["metadata"]
        key = (doc["kind"], m.get("namespace"), m["name"])
        assert key not in out, key
        out[key] = doc
    return out


def kustomize(directory):
    r = subprocess.run(["kubectl", "kustomize", str(directory)], capture_output=True, text=True, check=True)
    return r.stdout


def test_kubectl_kustomize_of_the_directory_gives_the_objects_of_stdout(build):
    out = build(HOMELAB)
    stream = run("build", HOMELAB, "--stdout").stdout
    from_stdout = objects(stream)
    assert len(from_stdout) > 10
    assert objects(kustomize(out)) == from_stdout


def test_kustomize_of_a_fleet_gives_every_member_once(tmp_path):
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    shutil.copy(HOMELAB, profiles / "homelab.toml")
    (profiles / "cache.toml").write_text(
        'release_name = "cache"\nnamespace = "cache"\nsecret_name = "cache-redis"\nloadbalancer_ip = "192.168.4.50"\n'
    )
    out = tmp_path / "out"
    run("build", profiles, "-o", out)
    from_stdout = objects(run("build", profiles, "--stdout").stdout)
    assert {"cache", "redis"} <= {ns for _, ns, _ in from_stdout}
    assert objects(kustomize(out)) == from_stdout


def on_terminal(*args, env=None):
    """Runs redis-gen with stdout and stderr on a pseudo-terminal; returns what it printed."""
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen([str(BIN), *map(str, args)], stdout=follower, stderr=follower, env=env)
        os.close(follower)
        follower = None
        chunks = []
        while True:
            ready, _, _ = select.select([leader], [], [], 10)
            if not ready:
                break
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        proc.wait(timeout=10)
        return proc.returncode, b"".join(chunks).decode()
    finally:
        os.close(leader)
        if follower is not None:
            os.close(follower)


@pytest.fixture
def bad_profile(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text('replica_count = "two"\n')
    return p


def test_diagnostics_are_coloured_on_a_terminal_only_without_no_color(bad_profile):
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    code, text = on_terminal("validate", bad_profile, env=env)
    assert code == 1
    assert "\x1b[1;31merror:\x1b[0m" in text, repr(text)
    code, text = on_terminal("validate", bad_profile, env={**env, "NO_COLOR": "1"})
    assert code == 1 and "error:" in text and "\x1b[" not in text, repr(text)
    piped = run("validate", bad_profile, check=False, env=env)
    assert "\x1b[" not in piped.stderr


def test_diff_is_coloured_on_a_terminal(build):
    out = build(HOMELAB)
    (out / "README.md").write_text("edited\n")
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    code, text = on_terminal("diff", HOMELAB, "-o", out, env=env)
    assert code == 1
    assert "\x1b[31m-edited\x1b[0m" in text, repr(text[:500])
    assert "\x1b[32m+" in text
    _, plain = on_terminal("diff", HOMELAB, "-o", out, env={**env, "NO_COLOR": "yes"})
    assert "\x1b[" not in plain and "-edited" in plain


def plugin_generate():
    spec = yaml.safe_load((EXAMPLES / "argocd" / "plugin.yaml").read_text())
    assert spec["kind"] == "ConfigManagementPlugin"
    g = spec["spec"]["generate"]
    return [*g["command"], *g["args"]]


def run_plugin(cwd, tmp_path, **env):
    """Runs the plugin's generate command as the CMP server would: in the
    application's directory, ARGOCD_ENV_* from the Application."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    if not (bindir / "redis-gen").exists():
        (bindir / "redis-gen").symlink_to(BIN)
    full = {"PATH": f"{bindir}:/usr/bin:/bin", **{f"ARGOCD_ENV_{k}": v for k, v in env.items()}}
    return subprocess.run(plugin_generate(), cwd=cwd, env=full, capture_output=True, text=True)


def test_the_argocd_plugin_prints_the_manifests_and_only_them(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    shutil.copy(HOMELAB, app / "homelab.toml")
    one = run_plugin(app, tmp_path, PROFILE="homelab.toml")
    assert one.returncode == 0, one.stderr
    assert one.stdout == run("build", HOMELAB, "--stdout").stdout
    assert "warning" in one.stderr  # messages go to stderr, which ArgoCD shows
    # Without PROFILE the directory is a fleet: the same objects, under it.
    fleet = run_plugin(app, tmp_path)
    assert fleet.returncode == 0, fleet.stderr
    assert objects(fleet.stdout) == objects(one.stdout)
    # Discovery matches the application directory.
    discover = yaml.safe_load((EXAMPLES / "argocd" / "plugin.yaml").read_text())["spec"]["discover"]
    assert list(app.glob(discover["fileName"]))


def test_the_argocd_plugin_fails_loudly_and_stays_in_the_directory(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    (app / "bad.toml").write_text("port = 0\n")
    bad = run_plugin(app, tmp_path, PROFILE="bad.toml")
    assert bad.returncode != 0 and bad.stdout == ""
    assert "`port`" in bad.stderr
    for escape in ["/etc/passwd", "../x.toml", "a/../../x.toml", "--stdout"]:
        r = run_plugin(app, tmp_path, PROFILE=escape)
        assert r.returncode != 0 and r.stdout == "", escape


def test_the_repo_server_patch_mounts_the_plugin_as_argocd_requires():
    patch = yaml.safe_load((EXAMPLES / "argocd" / "repo-server-patch.yaml").read_text())
    assert (patch["kind"], patch["metadata"]["name"]) == ("Deployment", "argocd-repo-server")
    pod = patch["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert c["command"] == ["/var/run/argocd/argocd-cmp-server"]
    assert c["securityContext"]["runAsUser"] == 999
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    assert mounts["/home/argocd/cmp-server/config/plugin.yaml"]["subPath"] == "plugin.yaml"
    assert {"/var/run/argocd", "/home/argocd/cmp-server/plugins", "/tmp"} <= set(mounts)
    volumes = {v["name"]: v for v in pod["volumes"]}
    plugin_volume = mounts["/home/argocd/cmp-server/config/plugin.yaml"]["name"]
    cm = volumes[plugin_volume]["configMap"]["name"]
    # kustomization.yaml makes that ConfigMap from plugin.yaml.
    k = yaml.safe_load((EXAMPLES / "argocd" / "kustomization.yaml").read_text())
    gen = {g["name"]: g for g in k["configMapGenerator"]}
    assert gen[cm]["files"] == ["plugin.yaml"] and gen[cm]["options"]["disableNameSuffixHash"]
    assert k["patches"] == [{"path": "repo-server-patch.yaml"}]
    app = yaml.safe_load((EXAMPLES / "argocd" / "application.yaml").read_text())
    spec = yaml.safe_load((EXAMPLES / "argocd" / "plugin.yaml").read_text())
    assert app["spec"]["source"]["plugin"]["name"] == f"{spec['metadata']['name']}-{spec['spec']['version']}"


def test_the_flux_kustomization_applies_the_committed_out_directory():
    k = yaml.safe_load((EXAMPLES / "flux" / "kustomization.yaml").read_text())
    assert k["apiVersion"] == "kustomize.toolkit.fluxcd.io/v1" and k["kind"] == "Kustomization"
    assert k["spec"]["path"] == "./out" and k["spec"]["prune"] is True
    assert k["spec"]["sourceRef"]["kind"] == "GitRepository"


def workflow_step(name):
    wf = yaml.safe_load((EXAMPLES / "github-actions" / "redis-gen-check.yml").read_text())
    steps = wf["jobs"]["check"]["steps"]
    return next(s for s in steps if s.get("name") == name)


def in_repository(tmp_path, command):
    """Runs a shell command in a copy of the layout a user's repository has."""
    repo = tmp_path / "repo"
    (repo / "profiles").mkdir(parents=True, exist_ok=True)
    shutil.copy(HOMELAB, repo / "profiles" / "homelab.toml")
    env = {"PATH": f"{BIN.parent}:/usr/bin:/bin"}
    return subprocess.run(["bash", "-e", "-c", command], cwd=repo, env=env, capture_output=True, text=True), repo


def test_the_github_actions_check_step_passes_on_a_fresh_build_and_fails_on_drift(tmp_path):
    check = workflow_step("redis-gen check")["run"]
    assert "redis-gen check" in check
    r, repo = in_repository(tmp_path, "redis-gen build profiles/homelab.toml -o out")
    assert r.returncode == 0, r.stderr
    r, _ = in_repository(tmp_path, check)
    assert r.returncode == 0, r.stdout + r.stderr
    (repo / "out" / "README.md").write_text("edited by hand\n")
    r, _ = in_repository(tmp_path, check)
    assert r.returncode == 1 and "different out/README.md" in r.stdout
    diff = workflow_step("Show what a build would change")
    assert diff["if"] == "failure()"
    r, _ = in_repository(tmp_path, diff["run"])
    assert r.returncode == 1 and "+++ b/out/README.md" in r.stdout


def test_the_pre_commit_hook_runs_check(tmp_path):
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["entry"].split()[:2] == ["redis-gen", "check"] and hook["pass_filenames"] is False
    # The arguments the comment tells users to set.
    args = "profiles/homelab.toml -o out"
    assert f"args: [{args.replace(' ', ', ')}]" in (ROOT / ".pre-commit-hooks.yaml").read_text()
    r, repo = in_repository(tmp_path, f"redis-gen build {args}")
    assert r.returncode == 0
    r, _ = in_repository(tmp_path, f"{hook['entry']} {args}")
    assert r.returncode == 0, r.stderr
    (repo / "out" / "stale.yaml").write_text("x: 1\n")
    r, _ = in_repository(tmp_path, f"{hook['entry']} {args}")
    assert r.returncode == 1 and "extra     out/stale.yaml" in r.stdout
