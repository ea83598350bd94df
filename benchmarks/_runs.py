"""Whole `validate` commands for the engine benchmarks: fresh (cold) inputs, timed runs.

A cold run needs inputs the engine has never seen, without pruning a cache other
people's runs share: `fresh_copy()` copies the source tree and adds, after every
`FROM` of every Dockerfile in it, an `ENV` holding a nonce. Every build step after
it then has a new cache key (installs, compiles, the runtime stages), the images get
new digests (so contract lanes measure again rather than reuse), and the service
directories differ (so lint and unit-test lanes run again). What stays warm: base
images in the local registry and the package managers' cache volumes.

`run_validate()` times one whole command, as a user waits for it: the process
`python -m pipeline validate ...` (what `scripts/pipeline validate` execs once the
engine's environment is set), with its own reports directory.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IGNORE = shutil.ignore_patterns("node_modules", ".venv", "__pycache__", "reports", ".git")
_FROM = re.compile(r"^(\s*FROM\s.*)$", re.IGNORECASE | re.MULTILINE)


def fresh_copy(source: Path, dest: Path, nonce: str) -> Path:
    """A copy of `source` at `dest` whose builds share no cache key with any earlier run."""
    shutil.copytree(source, dest, ignore=IGNORE)
    for dockerfile in dest.rglob("Dockerfile"):
        text = dockerfile.read_text()
        dockerfile.write_text(_FROM.sub(rf"\1\nENV PIPELINE_BENCH_COLD={nonce}", text))
    return dest


@dataclass(frozen=True)
class Run:
    wall: float                 # the whole command, seconds
    exit_code: int
    status: str                 # summary.json's status ("passed", "failed"...), or "no report"
    critical_path: float        # seconds, from summary.json (0 when absent)
    chain: tuple[str, ...]      # the critical path's lanes
    lanes: tuple[tuple[str, str, float], ...]   # (name, status, seconds)
    tail: str = ""              # the command's last output lines, when it did not pass

    @property
    def passed(self) -> bool:
        return self.exit_code == 0 and self.status == "passed"


def command(source: Path, reports: Path, overlays: list[str]) -> list[str]:
    argv = [sys.executable, "-m", "pipeline", "validate", "--source", str(source),
            "--reports", str(reports)]
    for overlay in overlays:
        argv += ["--overlay", overlay]
    return argv


def start(source: Path, reports: Path, overlays: list[str], log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with open(log, "wb") as out:
        return subprocess.Popen(command(source, reports, overlays), stdout=out,
                                stderr=subprocess.STDOUT, env=env, cwd=ROOT)


def result(proc: subprocess.Popen, started: float, reports: Path) -> Run:
    code = proc.wait()
    wall = time.perf_counter() - started
    log = reports.with_suffix(".log").read_text(errors="replace").strip().splitlines()
    tail = " | ".join(log[-4:]) if code else ""
    try:
        summary = json.loads((reports / "summary.json").read_text())
    except (OSError, ValueError):
        return Run(wall, code, "no report", 0.0, (), (), tail)
    path = summary.get("critical_path") or {}
    lanes = tuple((lane["name"], lane["status"], float(lane["duration_seconds"]))
                  for lane in summary.get("lanes", ()))
    return Run(wall, code, summary.get("status", "?"), float(path.get("duration_seconds", 0)),
               tuple(path.get("lanes", ())), lanes, tail)


def run_together(jobs: list[tuple[Path, Path]], overlays: list[str]) -> tuple[float, list[Run]]:
    """Start every (source, reports) job at once; (total wall, each run)."""
    started = time.perf_counter()
    procs = [(start(src, rep, overlays, rep.with_suffix(".log")), rep) for src, rep in jobs]
    runs = [result(proc, started, rep) for proc, rep in procs]
    return time.perf_counter() - started, runs


def run_one(source: Path, reports: Path, overlays: list[str]) -> Run:
    started = time.perf_counter()
    return result(start(source, reports, overlays, reports.with_suffix(".log")), started, reports)


def load() -> str:
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


def parser_for(doc: str) -> argparse.ArgumentParser:
    """The engine benchmarks' common arguments: the source tree and its overlays."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--source", type=Path, default=ROOT / "examples" / "taskflow")
    parser.add_argument("--overlay", action="append", default=["pipeline.offline.toml"],
                        help="relative to --source (default: the offline overlay)")
    return parser
