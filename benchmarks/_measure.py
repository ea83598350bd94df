"""One process, measured: wall time, CPU time and its own peak RSS.

Peak RSS comes from GNU time (`/usr/bin/time -f`), a small C parent: Linux carries
the spawning process's peak RSS across fork/vfork + exec into the child's
ru_maxrss, so a Python parent reading `wait4` would add its own size to every
figure. Without GNU time, wait4 is used and the figures say so.
Python children get a bytecode cache (PYTHONPYCACHEPREFIX) even where the
environment sets PYTHONDONTWRITEBYTECODE, as an installed package has one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

GNU_TIME = shutil.which("time", path="/usr/bin:/bin")
PYCACHE = Path(tempfile.gettempdir()) / "pipeline-bench-pycache"


@dataclass(frozen=True)
class Measurement:
    wall: float          # seconds
    cpu: float           # user + system seconds
    peak_mib: float
    returncode: int


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


def measure(argv: list[str], *, timeout: float = 600) -> Measurement:
    env = child_env()
    if GNU_TIME:
        with tempfile.NamedTemporaryFile("r", suffix=".time") as out:
            start = time.perf_counter()
            proc = subprocess.Popen([GNU_TIME, "-q", "-f", "%M %U %S", "-o", out.name, *argv],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    env=env)
            code = _wait(proc, timeout)
            wall = time.perf_counter() - start
            fields = out.read().split()[-3:]
        kib, user, system = int(fields[0]), float(fields[1]), float(fields[2])
        return Measurement(wall, user + system, kib / 1024, code)
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    return Measurement(time.perf_counter() - start, usage.ru_utime + usage.ru_stime,
                       usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status))


def _wait(proc: subprocess.Popen[bytes], timeout: float) -> int:
    """Block in wait() until the process ends, killed after `timeout` seconds. Not
    `subprocess.run(timeout=...)`: with a timeout, Popen.wait polls, sleeping up to 50 ms
    between looks, which rounded every figure here up to the next 50 ms."""
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        return proc.wait()
    finally:
        timer.cancel()


def best(argv: list[str], repeat: int) -> Measurement:
    """Best wall and CPU of `repeat` runs (after one warm-up), highest peak RSS."""
    measure(argv)
    runs = [measure(argv) for _ in range(repeat)]
    return Measurement(min(r.wall for r in runs), min(r.cpu for r in runs),
                       max(r.peak_mib for r in runs), runs[0].returncode)


PEAK_SOURCE = "GNU time" if GNU_TIME else "wait4 (includes the parent's size)"
