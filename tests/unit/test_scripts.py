"""The project's shell scripts: shellcheck-clean, and scripts/engine's `spawn` records the pid
of the process it started from the moment it returns (no engine needed)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, missing

SCRIPTS = [ROOT / "scripts/engine", ROOT / "scripts/test", ROOT / "scripts/pipeline",
           ROOT / ".ci/run", *sorted((ROOT / "scripts/deps.d").glob("*.sh"))]


def test_scripts_pass_shellcheck():
    if not shutil.which("shellcheck"):
        missing("shellcheck", "not installed (scripts/deps.d/ci.sh installs it)")
    result = subprocess.run(["shellcheck", *map(str, SCRIPTS)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def spawn_function() -> str:
    text = (ROOT / "scripts/engine").read_text()
    match = re.search(r"^spawn\(\) \{\n.*?^\}\n", text, re.S | re.M)
    assert match, "scripts/engine has no spawn() function"
    return match.group(0)


@pytest.mark.parametrize("job_control", [False, True], ids=["plain", "job-control"])
def test_spawn_records_the_pid_of_the_command_it_started(tmp_path: Path, job_control: bool):
    # Checked right after spawn returns, as start_engine does: the recorded process must
    # already show the command (not a fork of the caller) and lead its own session, in a
    # shell with job control too (where setsid forks and `$!` dies at once).
    pidfile, log = tmp_path / "x.pid", tmp_path / "x.log"
    script = "\n".join([
        "set -Eeuo pipefail" + ("; set -m" if job_control else ""),
        'die() { echo "$*" >&2; exit 1; }',
        spawn_function(),
        f'spawn "{pidfile}" "{log}" sleep 30.5',
        f'pid=$(cat "{pidfile}")',
        'echo "$pid $(ps -o sid= -p "$pid") $(tr "\\0" " " </proc/$pid/cmdline)"',
    ])
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    pid, sid, cmdline = result.stdout.split(maxsplit=2)
    try:
        assert sid == pid, "the spawned process does not lead a session of its own"
        assert "sleep 30.5" in cmdline, cmdline
    finally:
        os.killpg(int(pid), signal.SIGTERM)
