"""Run the CLI as a user would, in a subprocess, and judge how it failed.

`run_cli` measures the child's own peak RSS (VmHWM, as tests/hostile/image_bombs does: wait4's
ru_maxrss also counts the parent's peak, which Linux carries across fork + exec, so a
pytest process grown large in a full run made every child look large) and wall time. Bounds
are generous on purpose (HANG_SECONDS, RSS_MB): they tell "bounded" from
"unbounded" (a hang, a blow-up), not fast from slow.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[2]
HANG_SECONDS = 20.0     # "bounded": a hang would run to the kill below
RSS_MB = 300.0
KILL_SECONDS = 60.0


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str
    seconds: float
    rss_mb: float

    @property
    def stderr_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def run_cli(*args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None,
            stdin: int | None = subprocess.DEVNULL) -> Outcome:
    """`python -m pipeline ARGS`; the child is killed past KILL_SECONDS (then code -9)."""
    from tests.hostile.image_bombs import _MEASURED  # the child writes its own VmHWM

    peak = Path(tempfile.mkstemp(prefix="pipeline-peak-")[1])
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {}),
                "PIPELINE_PEAK_FILE": str(peak)}
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-c", _MEASURED, *map(str, args)],
                            stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=full_env, cwd=cwd or ROOT)
    chunks: dict[str, bytes] = {}

    def drain(name: str, stream: IO[bytes]) -> None:
        chunks[name] = stream.read()

    readers = [threading.Thread(target=drain, args=(name, stream), daemon=True)
               for name, stream in (("out", proc.stdout), ("err", proc.stderr))]
    for reader in readers:
        reader.start()
    status, usage = _wait4(proc.pid, started + KILL_SECONDS)
    for reader in readers:
        reader.join(10)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait
    seconds = time.monotonic() - started
    try:  # killed before exiting: only wait4's (over-counting) figure is left
        kib = int(peak.read_text() or usage.ru_maxrss)
    except ValueError:
        kib = usage.ru_maxrss
    finally:
        peak.unlink(missing_ok=True)
    return Outcome(proc.returncode, chunks.get("out", b"").decode("utf-8", "replace"),
                   chunks.get("err", b"").decode("utf-8", "replace"), seconds, kib / 1024)


def _wait4(pid: int, kill_at: float) -> tuple[int, resource.struct_rusage]:
    """The child's exit status and its own rusage (ru_maxrss: its peak RSS in KiB)."""
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            return status, usage
        if time.monotonic() > kill_at:
            os.kill(pid, signal.SIGKILL)
            _, status, usage = os.wait4(pid, 0)
            return status, usage
        time.sleep(0.02)


def assert_one_line_error(outcome: Outcome, *, contains: str = "", code: int = 2) -> str:
    """Exit `code`, exactly one stderr line, no traceback, bounded time and memory."""
    assert "Traceback" not in outcome.stderr, outcome.stderr[-2000:]
    assert outcome.code == code, (outcome.code, outcome.stderr[-500:])
    assert len(outcome.stderr_lines) == 1, outcome.stderr[-2000:]
    line = outcome.stderr_lines[0]
    assert line.startswith("pipeline"), line
    assert contains in line, line
    assert_bounded(outcome)
    return line


def assert_bounded(outcome: Outcome) -> None:
    assert outcome.seconds < HANG_SECONDS, f"took {outcome.seconds:.1f}s"
    assert outcome.rss_mb < RSS_MB, f"peak RSS {outcome.rss_mb:.0f} MB"
