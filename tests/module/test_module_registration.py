"""The Dagger module registers against the real engine, as `dagger call` would.

Module mode needs SDK images this machine cannot build, so this drives the
Python SDK's own registration entry (`dagger.mod.cli.app(register=True)`): it
loads the main object through the `dagger.mod` entry point and converts every
function signature into engine type definitions, which fails on unsupported
argument types, bad defaults or missing docs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.engine

FUNCTIONS = {"plan", "build", "lint", "unitTest", "checkImages", "integration", "endToEnd",
             "validate", "reports", "publish", "promote", "rollback", "history"}


def test_module_registers_every_function(engine_env, tmp_path):
    out = tmp_path / "module.json"
    env = {**os.environ, "DAGGER_MAIN_OBJECT": "Pipeline", "DAGGER_MODULE": "pipeline",
           "DAGGER_MODULE_FILE": str(out)}
    # `dagger run` opens the engine session the module runtime expects to find.
    result = subprocess.run(
        [engine_env["_EXPERIMENTAL_DAGGER_CLI_BIN"], "run", "--progress=plain", sys.executable, "-c",
         "import sys; from dagger.mod.cli import app; sys.exit(app(register=True))"],
        env=env, capture_output=True, text=True, timeout=300, cwd="/",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    module_id = json.loads(out.read_text())
    assert isinstance(module_id, str) and module_id  # a ModuleID: the engine accepted the typedefs


def test_module_functions_are_thin_wrappers_with_docs():
    from pipeline.module import Pipeline

    names = {n for n in dir(Pipeline) if not n.startswith("_")}
    snake = {"unit_test", "check_images", "end_to_end"}
    expected = {f for f in FUNCTIONS if f[0].islower() and not any(c.isupper() for c in f)} | snake
    assert expected <= names
    for name in expected:
        assert getattr(Pipeline, name).__doc__, f"{name} has no docstring (dagger shows it as help)"


def test_gate_functions_are_dagger_checks():
    """`dagger check` runs the gates (the SDK's @check marks them)."""
    from dagger.mod._module import CHECK_DEF_KEY

    from pipeline.module import Pipeline

    for name in ("lint", "unit_test", "check_images", "validate"):
        assert getattr(getattr(Pipeline, name), CHECK_DEF_KEY, False), name
    assert not getattr(Pipeline.reports, CHECK_DEF_KEY, False)  # returns reports, never fails
