"""Faults a small cluster really meets (issue 15), with real Redis.

The committed out/ (and builds of other profiles) run through the runtime
harness with what a node does to pods: the manifests' memory and CPU limits
as cgroups, container restarts without the init containers (kubelet
semantics), Secret volume updates by the kubelet's atomic `..data` swap,
every pod killed at once and started again in a chosen order, a pod's
network cut, a PersistentVolume that fills up. The first tests show that
the harness does these things; each later test is one failure of the
issue, and fails on the commit before its fix (the docstring says which).
Needs root (docs/runtime.md)."""

import pathlib
import signal
import subprocess
import time

import pytest

from conftest import ROOT, new_password, poll, say
from harness import Deployment, PodError

OUT = ROOT / "out"


def primary(d):
    (pod,) = d.by_role("master")
    return pod


def replica(d):
    (pod, *_) = d.by_role("replica")
    return pod


def removed(d, cgroup_dirs):
    """Nothing of d is left on the host: cgroups, mounts, namespaces."""
    assert not [c for c in cgroup_dirs if c.exists()], "cgroups left behind"
    mounts = pathlib.Path("/proc/self/mounts").read_text()
    assert str(d.disk) not in mounts, "a mount left behind"
    assert not list(pathlib.Path("/run/netns").glob(d.network.prefix + "-*"))


# -- what the harness does -------------------------------------------------------------


def test_limits_become_cgroups_and_an_oom_kill_is_observable():
    """Each container runs in cgroups with its manifest's limits; a process
    that outgrows the memory limit is killed by the kernel, and the pod says
    OOMKilled; every cgroup is removed at the end."""
    with Deployment(OUT, password=new_password(), limits=True) as d:
        master = primary(d)
        redis, exporter = master.cgroup("redis"), master.cgroup("metrics")
        assert redis.memory == 2 << 30 and redis.cpu_millis == 1000
        assert exporter.memory == 64 << 20 and exporter.cpu_millis == 100
        assert master.cgroup("config").memory == 32 << 20  # the init container's
        # The container's processes (and exec'd ones) are in its cgroup.
        assert master.processes["redis"].pid in redis.pids()
        assert 0 < redis.usage() < redis.memory
        dirs = [p for pod in d.pods.values() for c in pod.cgroups.values() for p in c.dirs.values()]
        # The exporter's container has 64 MiB: a process of it that wants
        # 128 MiB is killed by the OOM killer, inside that cgroup only.
        r = master.exec("python3", "-c", "x = bytearray(128 << 20); print('survived')", container="metrics", timeout=30)
        assert r.returncode == -signal.SIGKILL and "survived" not in r.stdout, r
        assert exporter.oom_kills() == 1 and redis.oom_kills() == 0
        assert master.running("redis") and master.cli("PING") == (0, "PONG")
    removed(d, dirs)


def test_a_container_restart_keeps_the_pod_and_skips_the_init_containers():
    with Deployment(OUT, password=new_password()) as d:
        master = primary(d)
        init_runs = master.logs("config").count("the Secret checked for the master")
        ip, volumes = master.ip, dict(master._volumes)
        old = master.processes["redis"].pid
        assert master.restart_container("redis") == -signal.SIGKILL
        master.wait_ready()
        assert master.processes["redis"].pid != old and master.restarts == {"redis": 1}
        assert master.logs("config").count("the Secret checked for the master") == init_runs
        assert master.ip == ip and master._volumes == volumes
        # A pod restart, by contrast, runs them again.
        master.restart()
        assert master.logs("config").count("the Secret checked for the master") == init_runs + 1


def test_a_secret_update_swaps_the_volume_atomically_as_the_kubelet_does():
    with Deployment(OUT, password="first-password") as d:
        master = primary(d)
        volume = master._volumes["credentials"]
        assert (volume / "..data").is_symlink() and (volume / "redis-password").is_symlink()
        assert master.exec("cat", "/etc/redis-secret/redis-password").stdout == "first-password"
        before = (volume / "..data").resolve()
        d.update_secret("redis-credentials", {"redis-password": "second-password"})
        assert (volume / "..data").resolve() != before and not before.exists()
        assert master.exec("cat", "/etc/redis-secret/redis-password").stdout == "second-password"
        assert oct((volume / "redis-password").stat().st_mode & 0o777) == "0o440"


def test_a_cut_network_isolates_the_pod_until_it_is_restored():
    with Deployment(OUT, password=new_password()) as d:
        d.wait_synced()
        master, other = primary(d), replica(d)
        master.cut_network()
        link = poll(lambda: other.info("replication")["master_link_status"] == "down", 90)
        assert link, "the replica still sees its primary"
        assert master.cli("PING") == (0, "PONG")  # alive, alone
        master.restore_network()
        d.wait_synced(timeout=60)


def test_a_power_cut_kills_every_pod_and_they_start_in_the_order_given():
    with Deployment(OUT, password=new_password()) as d:
        d.wait_synced()
        assert primary(d).cli("SET", "before", "cut") == (0, "OK")
        assert primary(d).cli("WAIT", "1", "5000") == (0, "1")
        pids = d.pids()
        cut = time.monotonic()
        d.power_cut()
        assert not [p for p in pids if pathlib.Path(f"/proc/{p}").exists()]
        order = [replica(d).name, primary(d).name]
        d.start_pods(order, gap=1.0)
        started = [min(r["at"] for r in d.launched if r["pod"] == name and r["at"] > cut) for name in order]
        assert started[1] - started[0] >= 1.0, "not started in the order given"
        d.wait_synced()
        assert replica(d).cli("GET", "before") == (0, "cut")


def test_a_fixed_size_volume_fills_up():
    with Deployment(OUT, password=new_password(), pv_size="8M") as d:
        master = primary(d)
        data = master.claims["redis-data"]
        assert f" {data} tmpfs " in pathlib.Path("/proc/self/mounts").read_text()
        r = master.exec("dd", "if=/dev/zero", "of=/data/fill", "bs=1M", "count=16")
        assert r.returncode != 0 and "No space left on device" in r.stderr, r
    assert f" {data} " not in pathlib.Path("/proc/self/mounts").read_text()


# -- 5. a container restart after a Secret change ---------------------------------------


def test_5_a_container_restart_after_a_secret_change_comes_back_with_the_new_password():
    """Fails before the fix: only the init container rendered the password,
    so the restarted container kept the old one and the probes (which read
    the Secret file) failed for ever: a restart loop until the pod is deleted."""
    with Deployment(OUT, password=new_password()) as d:
        d.wait_synced()
        old, new = d.password, new_password()
        d.update_secret("redis-credentials", {"redis-password": new})
        d.password = new
        for pod in d.pods.values():
            # The running Redis still has the old password: liveness fails,
            # and the kubelet restarts the container (not the pod).
            assert pod.probe("liveness") != 0, pod.name
            pod.restart_container("redis")
        for pod in d.pods.values():
            pod.wait_ready()
            assert pod.probe("liveness") == 0 and pod.probe("readiness") == 0, pod.name
            assert pod.cli("PING") == (0, "PONG")
            assert pod.cli("PING", auth=old)[1].startswith("NOAUTH"), pod.name
        d.wait_synced()  # masterauth is the new password too
        assert primary(d).cli("SET", "after", "rotation") == (0, "OK")
        assert primary(d).cli("WAIT", "1", "5000") == (0, "1")
        assert replica(d).cli("GET", "after") == (0, "rotation")


# -- 7. the Secret's trailing newline; leftover temporary files ---------------------------


@pytest.mark.parametrize("value", ["pw-with-newline\n", "pw-with-crlf\r\n"])
def test_7_a_secret_value_with_a_trailing_line_break_is_refused_with_a_clear_message(value):
    """Fails before the fix: init.sh and the probes stripped the newline,
    every probe was green, and an application sending the Secret's bytes
    got WRONGPASS."""
    d = Deployment(OUT, password=value)
    with pytest.raises(PodError, match="line break") as err:
        with d:
            # Before the fix: running, and this is what an application sees.
            rc, out = primary(d).cli("PING", auth=value)
            pytest.fail(f"started with a password Redis does not have; the application's PING: {out!r}")
    assert "--from-literal" in str(err.value)


def test_7_temporary_files_of_killed_background_saves_are_removed_at_start():
    """Fails before the fix: the temp-*.rdb of a BGSAVE child and the
    temp-rewriteaof-*.aof of an AOF rewrite killed with their container
    (an OOM kill, SIGKILL) stayed on the volume for ever."""
    with Deployment(OUT, password=new_password()) as d:
        master = primary(d)
        data = master.claims["redis-data"]
        # ~100 MB of hex values (barely compressible), made by one script.
        script = "for i=1,ARGV[1] do local v={} for j=1,25 do v[j]=redis.sha1hex(i..':'..j) end redis.call('SET','k'..i,table.concat(v)) end"
        assert master.cli("EVAL", script, "0", "100000", timeout=120) == (0, "")
        # One child at a time: the write starts an automatic AOF rewrite, so
        # each command may be scheduled behind it (or find it running).
        for command, pattern in ((["BGSAVE", "SCHEDULE"], "temp-*.rdb"), (["BGREWRITEAOF"], "temp-*.aof")):
            reply = master.cli(*command)[1]
            assert any(w in reply for w in ("started", "scheduled", "already in progress")), reply
            assert poll(lambda: list(data.glob(pattern)), 30, interval=0.005), f"{command}: no {pattern}"
            master.restart_container("redis")  # SIGKILL: the container's child dies with it
            left = list(data.glob(pattern))
            master.wait_ready(60)
            assert not [p for p in left if p.exists()], f"{command}: {[p.name for p in left]} left on the volume"
            assert master.cli("DBSIZE") == (0, "100000")


@pytest.mark.parametrize("key", ["redis-password", "replication-password"])
def test_7_sentinel_mode_refuses_a_trailing_line_break_too(tmp_path, key):
    """Fails before the fix: lib.sh's secret() stripped it."""
    from test_sentinel import APP, INTERNAL, PROFILE, RELEASE

    from conftest import run

    out = tmp_path / "out"
    run("build", PROFILE, "-o", out)
    app = {"redis-password": APP + "\n"} if key == "redis-password" else {"redis-password": APP}
    internal = dict(INTERNAL)
    if key != "redis-password":
        internal[key] += "\n"
    d = Deployment(out, secrets={"redis-credentials": app, f"{RELEASE}-internal": internal}, dns=True, only=[f"{RELEASE}-node"])
    with pytest.raises(PodError, match="line break"):
        with d:
            pass


# -- 4. a full disk ------------------------------------------------------------------------


def test_4_a_full_disk_is_read_only_not_down_and_sigterm_still_stops_redis(request):
    """Fails before the fix: PING answered MISCONF, so both probes failed
    (out of the Service, then restarted by liveness); on SIGTERM Redis
    could not write its final RDB and would not exit ("Error trying to save
    the DB, can't exit") until the SIGKILL at the end of the grace period."""
    from test_runtime import read_keys, write_keys

    with Deployment(OUT, password=new_password(), pv_size="48M", only=["redis-shared-master"]) as d:
        master = primary(d)
        data = master.claims["redis-data"]
        acked = write_keys(master, "acked", 2000)
        time.sleep(1.5)  # appendfsync everysec
        # Another writer takes every free byte of the volume.
        subprocess.run(["dd", "if=/dev/zero", f"of={data / 'filler'}", "bs=1M"], capture_output=True)
        refused = poll(lambda: master.cli("SET", "more", "x" * 1000)[1].startswith("MISCONF"), 20)
        assert refused, master.cli("INFO", "persistence")
        assert master.cli("GET", "acked:0") == (0, acked["acked:0"])  # reads still served
        assert master.probe("liveness") == 0, "liveness fails on a Redis that serves reads"
        assert master.probe("readiness") == 0, "readiness takes a read-only primary out of its Service"

        grace = master.spec["terminationGracePeriodSeconds"]
        proc = master.processes["redis"]
        start = time.monotonic()
        master.kill(signal.SIGTERM, wait=False)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pytest.fail(f"redis-server still running {grace} s after SIGTERM:\n{master.logs()[-1500:]}")
        say(request, [f"faults: full disk, SIGTERM -> exit {time.monotonic() - start:.2f} s (grace {grace} s)"])

        (data / "filler").unlink()
        master.restart()
        assert read_keys(master, acked) == acked


# -- 1. the memory budget ---------------------------------------------------------------------

HOMELAB = ROOT / "profiles" / "homelab.toml"


def test_1_the_default_memory_budget_holds_through_every_fork_at_10000_writes_per_second(build, request):
    """The homelab profile with a 512Mi limit (the model scales; 2Gi is in
    bench/memory_budget.py) and every other setting at its default: the
    dataset at 95% of maxmemory, 10,000 SET/s of 1 KB random values, and an
    AOF rewrite, a replica full resync and a BGSAVE one after the other.
    Fails before the fix (maxmemory auto = 75% of the limit): the primary
    was OOM-killed in the full resync (after 98% of its limit in the AOF
    rewrite)."""
    from memory_load import Writer, fill, forks_under_load

    text = HOMELAB.read_text().replace('master_memory_limit = "2Gi"', 'master_memory_limit = "512Mi"')
    assert "512Mi" in text
    password = new_password()
    with Deployment(build(text), password=password, limits=True, ready_timeout=120) as d:
        master, rep = primary(d), replica(d)
        keys = fill(d, master, password, 0.95)
        d.wait_synced(timeout=120)
        with Writer(d, master, password, keys, 10_000) as w:
            time.sleep(2)
            phases = forks_under_load(d, master, [rep])
        lines = [f"faults: {w.ok / w.seconds:.0f} SET/s acknowledged over {w.seconds:.0f} s, {keys} keys"]
        for ph in phases:
            for pod in ph.peaks:
                limit = d.pods[pod].cgroup("redis").memory
                lines.append(
                    f"faults: {ph.name}: {pod} process memory {ph.anon[pod] / limit:.0%} of the limit, "
                    f"CoW {ph.cow.get(pod, 0) >> 20} MiB, OOM kills {ph.oom_kills[pod]}"
                )
        say(request, lines)
        killed = {pod: n for ph in phases for pod, n in ph.oom_kills.items() if n}
        assert not killed, f"OOM-killed: {killed} (phases done: {[ph.name for ph in phases]})"
        assert [ph.name for ph in phases] == ["AOF rewrite", "replica full resync", "BGSAVE"]
        assert w.errors == {}, w.errors


# -- mode sentinel -----------------------------------------------------------------------------


def sentinel_deployment(build, profile_text=None):
    """A build of tests/profiles/sentinel.toml (or of `profile_text`), running and healthy."""
    from test_sentinel import APP, INTERNAL, PROFILE, RELEASE

    out = build(profile_text if profile_text is not None else PROFILE)
    secrets_ = {"redis-credentials": {"redis-password": APP}, f"{RELEASE}-internal": dict(INTERNAL)}
    return Deployment(out, secrets=secrets_, dns=True, ready_timeout=60)


def test_3_a_partitioned_primary_stops_acknowledging_writes_within_the_bound(build, request):
    """The primary's link down for 25 s, a client on its side of the cut
    writing every half second. Fails before the fix (no min-replicas-*):
    every write was acknowledged while the Sentinels promoted another pod,
    and all of them were discarded when it rejoined."""
    from test_sentinel import APP, wait_healthy

    bound = 10  # sentinel_min_replicas_max_lag's default
    with sentinel_deployment(build) as d:
        old = wait_healthy(d)
        old.cut_network()
        cut = time.monotonic()
        answers = []
        while time.monotonic() - cut < 25:
            _, out = old.cli("SET", f"cut:{len(answers)}", "v", auth=APP)
            answers.append((time.monotonic() - cut, out))
            time.sleep(0.5)
        old.restore_network()
        refused = [t for t, out in answers if out.startswith("NOREPLICAS")]
        late = [(round(t, 1), out) for t, out in answers if t > bound + 2 and out == "OK"]
        say(request, [f"faults: partitioned primary: first write refused {refused[0]:.1f} s after the cut" if refused else "faults: partitioned primary: no write refused"])
        assert not late, f"acknowledged more than {bound + 2} s after the cut: {late}"
        assert all(out == "OK" or out.startswith("NOREPLICAS") for _, out in answers), answers
        wait_healthy(d, timeout=120)


def test_6_a_planned_restart_of_the_primary_hands_over_first(build, request):
    """A rolling update reaches the primary (its pod deleted and recreated)
    while a client writes through `<release>-master` with WAIT 1. Fails
    before the fix (no preStop): Redis got SIGTERM as the primary, and
    writes waited for down-after plus an election."""
    import re
    import threading

    from test_sentinel import APP, Resp, client_pod, proxy_ip, wait_healthy

    with sentinel_deployment(build) as d:
        old = wait_healthy(d)
        acked, stop = [], threading.Event()

        def writer():
            i = 0
            while not stop.is_set():
                try:
                    with Resp(d, client_pod(d), proxy_ip(d), 6379, timeout=2.0) as c:
                        assert c.call("AUTH", APP) == "OK"
                        while not stop.is_set():
                            i += 1
                            if c.call("SET", f"roll:{i}", str(i)) == "OK" and c.call("WAIT", "1", "1000") == 1:
                                acked.append((time.monotonic(), f"roll:{i}"))
                            time.sleep(0.01)
                except (OSError, ConnectionError, AssertionError):
                    time.sleep(0.02)

        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        time.sleep(2)
        before = len(old.logs("redis"))
        old.restart(ready_timeout=90, away=8)  # a pod takes seconds to come back: image pull, volume
        time.sleep(3)
        stop.set()
        thread.join(10)
        shutdown = re.search(r":([MS]) [^\n]*User requested shutdown", old.logs("redis")[before:])
        times = [t for t, _ in acked]
        gap = max(b - a for a, b in zip(times, times[1:]))
        say(request, [f"faults: rolling restart of the primary: longest pause between acknowledged writes {gap:.2f} s"])
        new = wait_healthy(d)
        assert new is not old
        with Resp(d, client_pod(d), new.ip, 6379, timeout=10) as c:
            assert c.call("AUTH", APP) == "OK"
            keys = [k for _, k in acked]
            values = c.call("MGET", *keys)
            lost = [k for k, v in zip(keys, values) if v != k.split(":")[1]]
        assert not lost, f"{len(lost)} acknowledged writes lost: {lost[:5]}\n{old.logs('redis')[before:][:6000]}"
        assert shutdown and shutdown.group(1) == "S", "the primary got SIGTERM before handing over"
