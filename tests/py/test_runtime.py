"""The generated deployment works: out/ run with real Redis on this machine.

Each test starts the pods of a generated out/ directory through the harness
(tests/py/harness, docs/runtime.md): the init container's script, redis-server
with the rendered configuration, the probe scripts, the exporter sidecar with
its environment, all as uid 10001 in per-pod network and mount namespaces.
The numbers refer to the points of issue 3. Needs root, redis-server,
redis-tools, prometheus-redis-exporter, iproute2, util-linux and strace."""

import concurrent.futures
import os
import pathlib
import re
import secrets
import signal
import time
import tomllib

import pytest

from conftest import ROOT, new_password, poll, say
from harness import Deployment, PodError, images
from harness.manifests import Manifests

OUT = ROOT / "out"
HOMELAB = ROOT / "profiles" / "homelab.toml"
TWO_REPLICAS = ROOT / "tests" / "profiles" / "two-replicas.toml"
DEFAULT_DISABLED = ["FLUSHDB", "FLUSHALL", "CONFIG", "SHUTDOWN"]

# How each command is called to show that it is refused (or, if the profile
# keeps it, that it works).
COMMAND_ARGS = {
    "CONFIG": ["CONFIG", "GET", "maxmemory"],
    "SHUTDOWN": ["SHUTDOWN", "NOSAVE"],
    "DEBUG": ["DEBUG", "SLEEP", "0"],
    "KEYS": ["KEYS", "*"],
    "FLUSHDB": ["FLUSHDB"],
    "FLUSHALL": ["FLUSHALL"],
}


def disabled_commands(profile: pathlib.Path) -> list[str]:
    return tomllib.loads(profile.read_text()).get("disabled_commands", DEFAULT_DISABLED)


def primary(d):
    (pod,) = d.by_role("master")
    return pod


def replicas(d):
    pods = d.by_role("replica")
    assert pods, "the deployment has no replica"
    return pods


def metric(text: str, name: str, **labels) -> list[float]:
    """Values of the samples of `name` whose labels include `labels`."""
    values = []
    for line in text.splitlines():
        m = re.fullmatch(rf"{re.escape(name)}(?:\{{(.*)\}})? (\S+)", line)
        if not m:
            continue
        have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(1) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            values.append(float(m.group(2)))
    return values


# -- fixtures ---------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def adaptations(request):
    """Says once, visibly, what runs instead of the images the manifests name."""
    images_used = {c["image"] for s in Manifests.load(OUT).statefulsets() for c in Deployment._all_containers(s)}
    lines = images.notes(images_used)
    say(request, [f"runtime harness: {line}" for line in lines])
    return lines


@pytest.fixture(scope="module")
def homelab():
    """The committed out/ (profiles/homelab.toml), running and in sync. Tests
    using it must leave it running."""
    with Deployment(OUT, password=new_password()) as d:
        d.wait_synced()
        yield d


@pytest.fixture(scope="module")
def two_replicas(tmp_path_factory):
    """A fresh build of tests/profiles/two-replicas.toml, running and in sync."""
    from conftest import run

    out = tmp_path_factory.mktemp("two-replicas") / "out"
    run("build", TWO_REPLICAS, "-o", out)
    with Deployment(out, password=new_password()) as d:
        d.wait_synced()
        yield d


# -- checks shared by the homelab profile and the second profile ---------------------


def check_replication(d):
    """Point 1: every replica is linked, gets the primary's writes, refuses writes."""
    master = primary(d)
    for r in replicas(d):
        info = r.info("replication")
        assert info["role"] == "slave"
        assert info["master_link_status"] == "up", info
        assert info["master_host"] == master.fqdn
    key, value = "k-" + secrets.token_hex(4), secrets.token_hex(8)
    assert master.cli("SET", key, value) == (0, "OK")
    # WAIT returns how many replicas acknowledged the write.
    assert master.cli("WAIT", str(len(replicas(d))), "5000") == (0, str(len(replicas(d))))
    for r in replicas(d):
        assert r.cli("GET", key) == (0, value)
        rc, out = r.cli("SET", key, "other")
        assert out.startswith("READONLY"), out
        assert r.cli("GET", key) == (0, value)


def check_auth(d):
    """Point 2: NOAUTH without the password, WRONGPASS with another, PONG with it."""
    for pod in d.pods.values():
        _, out = pod.cli("PING", auth=False)
        assert out.startswith("NOAUTH"), (pod.name, out)
        _, out = pod.cli("GET", "x", auth=False)
        assert out.startswith("NOAUTH"), (pod.name, out)
        # A wrong password: AUTH fails (redis-cli says so on stderr), the
        # command is then refused.
        port = str(pod.container().ports()["redis"])
        r = pod.exec("redis-cli", "-h", "127.0.0.1", "-p", port, "PING", env={"REDISCLI_AUTH": d.password + "x"})
        assert "WRONGPASS" in r.stderr and r.stdout.startswith("NOAUTH"), (pod.name, r)
        assert pod.cli("PING") == (0, "PONG"), pod.name


def check_disabled(d, commands: list[str]):
    """Point 3: every disabled command is unknown on every pod, and nothing
    it would have done happened."""
    master = primary(d)
    key = "keep-" + secrets.token_hex(4)
    assert master.cli("SET", key, "1") == (0, "OK")
    master.cli("WAIT", str(len(replicas(d))), "5000")
    for pod in d.pods.values():
        for command in commands:
            args = COMMAND_ARGS.get(command, [command])
            _, out = pod.cli(*args)
            assert out.startswith(f"ERR unknown command '{args[0]}'"), (pod.name, command, out)
        assert pod.cli("PING") == (0, "PONG"), f"{pod.name} died"
        assert pod.cli("EXISTS", key) == (0, "1"), f"{pod.name} lost data"


# -- 1. to 3. -------------------------------------------------------------------------


def test_1_replica_syncs_reads_back_and_refuses_writes(homelab):
    check_replication(homelab)


def test_2_password_is_required(homelab):
    check_auth(homelab)


def test_3_disabled_commands_are_refused_on_primary_and_replica(homelab):
    commands = disabled_commands(HOMELAB)
    assert set(DEFAULT_DISABLED) <= set(commands)
    check_disabled(homelab, commands)


# -- 4. ---------------------------------------------------------------------------------


def forms(password: str) -> list[bytes]:
    """The password as bytes, and as init.sh hex-escapes it into redis.conf."""
    raw = password.encode()
    return [raw, "".join(f"\\x{b:02x}" for b in raw).encode()]


def test_4_password_is_on_no_command_line_and_in_no_file():
    password = new_password()
    before = {p: p.read_bytes() for p in OUT.rglob("*") if p.is_file()}
    with Deployment(OUT, password=password, trace_exec=True) as d:
        d.wait_synced()
        master = primary(d)
        for pod in d.pods.values():
            assert pod.probe("liveness") == 0 and pod.probe("readiness") == 0
            assert pod.cli("PING") == (0, "PONG")
        assert master.cli("SET", "a", "b") == (0, "OK")
        assert master.cli("BGSAVE")[1].startswith("Background saving")
        master.restart()  # init container and redis-server once more
        d.wait_synced()

        # Every live process the harness started, and their descendants.
        pids = d.pids()
        assert len(pids) >= 2 * len(d.pods), pids  # redis-server + exporter per pod
        for pid in pids:
            cmdline = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
            for form in forms(password):
                assert form not in cmdline, f"pid {pid}: password on the command line"

        # Every short-lived process: init containers, probes, redis-cli,
        # traced with strace -f -e execve.
        argvs = d.exec_trace()
        programs = {os.path.basename(a[0]).decode() for a in argvs if a}
        assert {"sh", "od", "sed", "cat", "redis-cli", "timeout", "setpriv"} <= programs, programs
        for argv in argvs:
            for form in forms(password):
                assert all(form not in arg for arg in argv), f"password in argv of {argv[0]!r}"
        for record in d.launched:
            for arg in record["launch"] + record["command"]:
                assert password not in arg

        # Disk state of the run: logs, the data directory (AOF, RDB).
        on_disk = [p for p in d.disk.rglob("*") if p.is_file()]
        assert any(p.name.endswith(".rdb") for p in on_disk)
        for path in on_disk:
            for form in forms(password):
                assert form not in path.read_bytes(), f"password in {path}"

    after = {p: p.read_bytes() for p in OUT.rglob("*") if p.is_file()}
    assert after == before, "the harness changed out/"
    for path, data in after.items():
        for form in forms(password):
            assert form not in data, f"password in {path}"


# -- 5. ---------------------------------------------------------------------------------

PASSWORDS = [
    "with spaces and 'single' and \"double\" quotes",
    "dollar $HOME ${PATH} $(id) `id` $$ and back\\slash \\\\ \\x41 \\n \\",
    # Every printable ASCII character, 95 long.
    "".join(chr(c) for c in range(32, 127)),
    "ünïcödé-€-" + "x" * 60 + "-" + secrets.token_hex(8),
]
assert any(len(p) >= 64 for p in PASSWORDS)


def test_5_passwords_with_special_characters_work_end_to_end():
    """All four deployments run at once: also shows that parallel harness
    runs do not collide."""

    def check(password):
        with Deployment(OUT, password=password) as d:
            d.wait_synced()  # masterauth works
            check_auth(d)  # requirepass works
            check_replication(d)
            for pod in d.pods.values():  # the probes read the Secret file
                assert pod.probe("liveness") == 0 and pod.probe("readiness") == 0
                # The exporter logged in with passwords.json.
                assert metric(pod.metrics(), "redis_up") == [1.0], pod.name
        return True

    with concurrent.futures.ThreadPoolExecutor(len(PASSWORDS)) as pool:
        results = {p: pool.submit(check, p) for p in PASSWORDS}
        for password, future in results.items():
            assert future.result(), password


def test_5_a_control_character_is_refused_by_init_and_everything_is_cleaned_up():
    d = Deployment(OUT, password="tab\there")
    with pytest.raises(PodError, match="control character") as err:
        with d:
            pass
    assert "init container config exited 1" in str(err.value)
    assert_removed(d, pids=[r["pid"] for r in d.launched])


def assert_removed(d, pids):
    """Nothing of deployment d is left: processes, namespaces, files."""
    for pid in pids:
        assert not pathlib.Path(f"/proc/{pid}").exists(), f"pid {pid} still exists"
    prefix = d.network.prefix
    assert not list(pathlib.Path("/run/netns").glob(prefix + "-*"))
    assert not list(pathlib.Path("/etc/netns").glob(prefix + "-*"))
    assert not d.disk.exists() and not d.mem.exists()


# -- 6. ---------------------------------------------------------------------------------


def test_6_probes_pass_while_redis_is_up_and_fail_when_it_is_down():
    with Deployment(OUT, password=new_password()) as d:
        for pod in d.pods.values():
            for kind in ("liveness", "readiness"):
                assert pod.probe(kind) == 0, (pod.name, kind)
                assert pod.probe(kind, container="metrics") == 0, (pod.name, kind, "exporter")
        for pod in d.pods.values():
            pod.kill(signal.SIGKILL)
            for kind in ("liveness", "readiness"):
                assert pod.probe(kind) != 0, (pod.name, kind)
        # A wrong password in the Secret file fails the probe too.
        master = primary(d)
        master.restart()
        assert master.probe("readiness") == 0
        secret = next(master.mem.glob("volumes-*/credentials/redis-password"))
        secret.write_text("not-the-password")
        assert master.probe("readiness") != 0
        assert master.probe("liveness") != 0


# -- 7. ---------------------------------------------------------------------------------


def write_keys(pod, prefix: str, n: int) -> dict[str, str]:
    keys = {f"{prefix}:{i}": secrets.token_hex(6) for i in range(n)}
    items = list(keys.items())
    for i in range(0, n, 200):
        args = [x for kv in items[i : i + 200] for x in kv]
        assert pod.cli("MSET", *args) == (0, "OK")
    return keys


def read_keys(pod, keys: dict[str, str]) -> dict[str, str]:
    names = list(keys)
    got = {}
    for i in range(0, len(names), 200):
        _, out = pod.cli("MGET", *names[i : i + 200])
        got.update(zip(names[i : i + 200], out.split("\n")))
    return got


def test_7_persistence_after_sigkill_and_sigterm():
    with Deployment(OUT, password=new_password()) as d:
        master = primary(d)
        data = next(iter(master.claims.values()))

        # SIGKILL: what was written more than two seconds before is there.
        before_kill = write_keys(master, "kill", 1000)
        time.sleep(2.2)
        assert master.kill(signal.SIGKILL) == -signal.SIGKILL
        master.restart()
        assert next(iter(master.claims.values())) == data
        assert read_keys(master, before_kill) == before_kill
        assert master.cli("DBSIZE") == (0, "1000")

        # SIGTERM: the shutdown fsyncs the AOF (there is no snapshot schedule,
        # so no final RDB save); nothing is lost, not even the last write.
        before_term = write_keys(master, "term", 1000)
        assert master.cli("SET", "last", "write") == (0, "OK")
        assert master.kill(signal.SIGTERM) == 0
        log = master.logs()
        assert "Received SIGTERM" in log and "Calling fsync() on the AOF file" in log
        assert "Saving the final RDB snapshot" not in log and "ready to exit" in log
        master.restart()
        assert read_keys(master, before_kill | before_term) == before_kill | before_term
        assert master.cli("GET", "last") == (0, "write")
        assert master.cli("DBSIZE") == (0, "2001")
        assert any(data.glob("appendonlydir/*.aof")) and not (data / "dump.rdb").exists()


# -- 8. ---------------------------------------------------------------------------------


def test_8_replica_reconnects_and_catches_up_after_a_primary_restart():
    with Deployment(OUT, password=new_password()) as d:
        d.wait_synced()
        master = primary(d)
        old = write_keys(master, "old", 100)
        old_address = master.ip
        master.kill(signal.SIGKILL)
        for r in replicas(d):
            assert poll(lambda: r.info("replication")["master_link_status"] == "down"), r.name
        master.restart()  # new pod address, same DNS name
        assert master.ip != old_address
        new = write_keys(master, "new", 100)
        d.wait_synced()
        for r in replicas(d):
            info = r.info("replication")
            assert info["master_link_status"] == "up"
            assert read_keys(r, old | new) == old | new


# -- 9. ---------------------------------------------------------------------------------


def test_9_exporter_serves_metrics_for_both_roles(homelab):
    master = primary(homelab)
    master_metrics = master.metrics()
    info = {name: pod.info("replication") for name, pod in homelab.pods.items()}
    for pod in homelab.pods.values():
        text = master_metrics if pod is master else pod.metrics()
        assert metric(text, "redis_up") == [1.0], pod.name
        assert metric(text, "redis_connected_clients")[0] >= 1  # the exporter itself
        assert metric(text, "redis_memory_used_bytes")[0] > 0
        assert metric(text, "redis_commands_processed_total")[0] > 0
        assert metric(text, "redis_uptime_in_seconds")[0] >= 0
        role = "master" if pod is master else "slave"
        assert metric(text, "redis_instance_info", role=role) == [1.0], pod.name

    # Primary: one lag and one offset sample per replica.
    assert metric(master_metrics, "redis_connected_slaves") == [float(len(replicas(homelab)))]
    for r in replicas(homelab):
        address = {"slave_ip": r.ip}
        assert len(metric(master_metrics, "redis_connected_slave_lag_seconds", **address)) == 1, r.name
        assert len(metric(master_metrics, "redis_connected_slave_offset_bytes", **address)) == 1, r.name
    master_offset = metric(master_metrics, "redis_master_repl_offset")[0]
    assert master_offset == pytest.approx(float(info[master.name]["master_repl_offset"]), abs=1000)

    # Replica: link up and its offset; lag = primary offset - replica offset.
    for r in replicas(homelab):
        text = r.metrics()
        assert metric(text, "redis_master_link_up") == [1.0]
        (offset,) = metric(text, "redis_slave_repl_offset")
        assert 0 <= metric(master.metrics(), "redis_master_repl_offset")[0] - offset < 10_000


def test_9_exporter_environment_matches_the_disabled_config_command(homelab):
    """The sidecar is told to skip CONFIG exactly when CONFIG is disabled,
    and it scrapes fine without CONFIG (see docs/runtime.md for 1.45)."""
    master = primary(homelab)
    env = {e["name"]: e.get("value") for e in master.container("metrics").spec["env"]}
    assert ("CONFIG" in disabled_commands(HOMELAB)) == (env.get("REDIS_EXPORTER_CONFIG_COMMAND") == "-")
    assert env["REDIS_PASSWORD_FILE"].startswith("/run/redis-exporter/")

    # What the local exporter does with '-': 1.45 sends it as a command (one
    # "unknown command" error per scrape); v1.61 and later skip CONFIG.
    def errors():
        return int(master.info("errorstats").get("errorstat_ERR", "count=0").split("=")[1].split(",")[0])

    before = errors()
    assert metric(master.metrics(), "redis_up") == [1.0]
    sends_dash = images.version_tuple(images.lookup(master.container("metrics").spec["image"]).local_version()) < (1, 61)
    assert errors() - before == (1 if sends_dash and env.get("REDIS_EXPORTER_CONFIG_COMMAND") == "-" else 0)


# -- 10. --------------------------------------------------------------------------------


def test_10_second_profile_two_replicas_and_other_disabled_commands(two_replicas):
    d = two_replicas
    assert len(replicas(d)) == 2
    check_replication(d)
    check_auth(d)
    commands = disabled_commands(TWO_REPLICAS)
    assert set(commands) != set(DEFAULT_DISABLED)
    check_disabled(d, commands)
    # What this profile keeps works: the list really comes from the profile.
    master = primary(d)
    assert master.cli("CONFIG", "GET", "maxmemory")[1].startswith("maxmemory")
    assert master.cli("FLUSHDB") == (0, "OK")
    assert master.cli("DBSIZE") == (0, "0")


# -- the harness itself -------------------------------------------------------------------


def test_harness_removes_everything_also_when_the_test_fails():
    d = Deployment(OUT, password=new_password())
    with pytest.raises(RuntimeError, match="a failing test"):
        with d:
            pids = d.pids()
            assert len(pids) >= 4 and all(pathlib.Path(f"/proc/{p}").exists() for p in pids)
            assert list(pathlib.Path("/run/netns").glob(d.network.prefix + "-*"))
            raise RuntimeError("a failing test")
    assert_removed(d, pids + [r["pid"] for r in d.launched])


def test_harness_runs_containers_as_the_manifest_says(homelab):
    """uid/gid 10001, no capabilities, no_new_privs, read-only root, the
    volumes at their mount paths, the pod's hostname and DNS names."""
    master = primary(homelab)
    for pid in master.pids():
        status = dict(
            line.split(":\t", 1) for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines() if ":\t" in line
        )
        assert status["Uid"].split() == ["10001"] * 4 and status["Gid"].split() == ["10001"] * 4
        assert status["CapEff"] == status["CapBnd"] == "0000000000000000"
        assert status["NoNewPrivs"] == "1"
    assert master.exec("id", "-u").stdout.strip() == "10001"
    assert master.exec("hostname").stdout.strip() == master.name
    assert master.exec("touch", "/x").returncode != 0  # readOnlyRootFilesystem
    assert master.exec("touch", "/etc/redis-gen/x").returncode != 0  # readOnly mount
    assert master.exec("touch", "/tmp/x", "/data/x").returncode == 0  # writable volumes
    assert master.exec("cat", "/etc/redis-secret/redis-password").stdout == homelab.password
    # The exporter container mounts only its own directory: no Secret file.
    assert master.exec("ls", "/etc/redis-secret", container="metrics").returncode != 0
    resolved = master.exec("getent", "hosts", replicas(homelab)[0].fqdn).stdout.split()
    assert resolved[0] == replicas(homelab)[0].ip
