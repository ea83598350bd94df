"""`pipeline validate|plan` bad inputs: one line on stderr naming what is at fault, exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TASKFLOW = ROOT / "examples" / "taskflow"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=60, env={**os.environ, **(env or {})})


@pytest.mark.parametrize(("args", "names"), [
    (("validate", "--source", "/nonexistent"), "--source /nonexistent"),
    (("plan", "--source", str(TASKFLOW), "--overlay", "missing.toml"), "missing.toml"),
    (("plan", "--source", str(TASKFLOW), "--lane", "nope"), "'nope'"),
    (("plan", "--source", str(TASKFLOW), "--contract", "README.md"), "README.md:"),
    (("lint", "--source", str(TASKFLOW)), "engine not answering at unix:///nonexistent.sock"),
])
def test_bad_input_is_one_line_and_exit_2(args, names):
    result = run(*args, env={"_EXPERIMENTAL_DAGGER_RUNNER_HOST": "unix:///nonexistent.sock"})
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pipeline: error: ") and names in lines[0], lines


def test_plan_prints_the_dag_without_an_engine():
    result = run("plan", "--source", str(TASKFLOW), env={"_EXPERIMENTAL_DAGGER_RUNNER_HOST": "unix:///nonexistent.sock"})
    assert result.returncode == 0, result.stderr
    assert "contract:backend" in result.stdout and "needs: contract:backend, contract:frontend" in result.stdout


def test_plan_with_publish_needs_every_gate():
    result = run("plan", "--source", str(TASKFLOW), "--publish-to", "127.0.0.1:5000/x")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    needs = lines[[i for i, line in enumerate(lines) if line.strip().startswith("publish")][0] + 1]
    for gate in ("lint:backend", "unit-test:frontend", "contract:backend", "integration", "e2e"):
        assert gate in needs, needs
