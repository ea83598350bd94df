"""Running the real `dagger` CLI against the local engine, as a user or a CI job would.

A *checkout* is a copy of the repository's files (tracked and untracked-not-ignored,
as `git` lists them), so `dagger call` loads the module from a tree like a CI clone:
no `.venv`, no `reports/`. Lines run through bash with the env a workflow would set.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The engine's bridge gateway: the host as the engine's containers see it (scripts/engine).
GATEWAY = os.environ.get("PIPELINE_ENGINE_GATEWAY", "10.87.0.1")
# The first call of a session loads the module (runtime compile, ~2 minutes cold); a
# validate runs every lane: generous ceilings, never a timing assertion.
CALL_TIMEOUT = 1800


def make_checkout(dest: Path) -> Path:
    """Copy the repository's files to `dest` (a fresh directory), as a CI clone has them."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if not source.is_file():  # deleted in the working tree
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return dest


@dataclass(frozen=True)
class Call:
    line: str
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def why(self) -> str:
        """For assertion messages: the line and the end of what it printed."""
        return f"`{self.line}` exited {self.returncode}:\n{self.output[-4000:]}"


def run_line(line: str, *, cwd: Path, env: dict[str, str], timeout: float = CALL_TIMEOUT) -> Call:
    """Run one shell line the way a workflow `run:` step does (bash -e)."""
    result = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", line], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=timeout,
                            stdin=subprocess.DEVNULL)
    return Call(line, result.returncode, result.stdout, result.stderr)


def cli_env(engine_env: dict[str, str], **extra: str) -> dict[str, str]:
    """The environment with the local engine's `dagger` first on PATH."""
    cli_dir = str(Path(engine_env["_EXPERIMENTAL_DAGGER_CLI_BIN"]).parent)
    env = {**os.environ, **engine_env, "DAGGER_NO_NAG": "1", "DO_NOT_TRACK": "1",
           "DAGGER_NO_UPDATE_CHECK": "1"}
    env["PATH"] = f"{cli_dir}:{env.get('PATH', '')}"
    env.update(extra)
    return env


_ROW = re.compile(r"^(\S+)\s+(passed|FAILED|ERRORED|skipped|cancelled|CANCELLED)\s", re.M)


def table_statuses(text: str) -> dict[str, str]:
    """Lane -> status from a printed summary table (lower case)."""
    return {lane: status.lower() for lane, status in _ROW.findall(text)}


class Forward:
    """`GATEWAY:PORT` -> `127.0.0.1:PORT`, as scripts/engine forwards its own registry: a
    registry a test starts on loopback, reachable from inside the module too."""

    def __init__(self, port: int) -> None:
        self.proc = subprocess.Popen(
            ["socat", f"TCP4-LISTEN:{port},bind={GATEWAY},freebind=1,reuseaddr,fork",
             f"TCP4:127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(5)
