"""How the benchmarks measure a whole process.

Wall and CPU time come from a direct posix_spawn and wait4. Peak memory comes
from a separate run under /usr/bin/time (Debian package `time`): a child of
this Python process would report Python's own RSS as its maximum, because
Linux carries the high-water mark of the parent's memory across exec."""

import os
import subprocess
import tempfile
import time


def timed(argv):
    """Runs argv once, output discarded; returns (wall seconds, CPU seconds)."""
    argv = [str(a) for a in argv]
    with tempfile.TemporaryFile() as err:
        devnull = os.open(os.devnull, os.O_WRONLY)
        actions = [(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, err.fileno(), 2)]
        start = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
        _, status, usage = os.wait4(pid, 0)
        wall = time.perf_counter() - start
        os.close(devnull)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(argv)} failed ({code}):\n{err.read().decode()[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def peak_rss_kib(argv):
    """Peak resident memory of one run of argv, in KiB."""
    with tempfile.NamedTemporaryFile("r") as report:
        subprocess.run(
            ["/usr/bin/time", "-o", report.name, "-f", "%M", *map(str, argv)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return int(report.read().strip().splitlines()[-1])
