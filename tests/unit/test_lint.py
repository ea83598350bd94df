"""The project's Python is clean of the lint rules pyproject.toml selects."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, missing


def test_ruff_is_clean():
    ruff = Path(sys.executable).parent / "ruff"
    if not ruff.exists():
        found = shutil.which("ruff")
        if not found:
            missing("ruff", "not installed (it is a dev dependency in pyproject.toml)")
        ruff = Path(found)
    result = subprocess.run([str(ruff), "check", "--no-cache", "pipeline", "tests", "benchmarks"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
