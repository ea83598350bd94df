"""Shared test configuration.

Tests marked `engine`, `registry` or `browser` need real components. Where
PIPELINE_REQUIRE_REAL=1 (set by scripts/test, hence in CI), a missing
component is a failure, never a silent skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import settings

REQUIRE_REAL = os.environ.get("PIPELINE_REQUIRE_REAL") == "1"

# Tests judge behaviour, never time: Hypothesis' default 200 ms deadline per example is a
# timed assertion, and fails a correct property on a loaded CI machine. Tests that set
# their own @settings inherit this.
settings.register_profile("pipeline", deadline=None)
settings.load_profile("pipeline")


def missing(component: str, why: str) -> None:
    """Skip locally, fail under scripts/test: a real component is unavailable."""
    message = f"{component} unavailable: {why}"
    if REQUIRE_REAL:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


ROOT = Path(__file__).resolve().parents[1]
REGISTRY = os.environ.get("PIPELINE_REGISTRY", "127.0.0.1:5000")
# Contracts written by tests name no `servicewrap` builder image: Debian's Go, offline.
os.environ.setdefault("PIPELINE_SERVICEWRAP_IMAGE", f"{REGISTRY}/pipeline/debian:bookworm")


def local_image(name: str) -> str:
    """A base image built from Debian packages by scripts/engine, e.g. local_image("python:3.11")."""
    return f"{REGISTRY}/pipeline/{name}"


def web_contract(*, service: str = "", rest: str = "") -> str:
    """A contract for engine tests: [images] py, and one service `web` (context web/, port
    8080, /health answering ok), with `service` lines added to its table and `rest` after."""
    return (f'[images]\npy = "{local_image("python:3.11")}"\n\n'
            '[services.web]\ncontext = "web"\nport = 8080\n'
            'health = { path = "/health", body_contains = "ok", startup_seconds = 20 }\n'
            f"{service}\n{rest}")


@pytest.fixture(scope="session")
def engine_env() -> dict[str, str]:
    """The engine's environment; the engine must answer."""
    runner = os.environ.get("_EXPERIMENTAL_DAGGER_RUNNER_HOST")
    cli = os.environ.get("_EXPERIMENTAL_DAGGER_CLI_BIN")
    if not runner or not cli:
        missing("engine", 'no engine environment: run `scripts/engine up` then `eval "$(scripts/engine env)"`')
    if not shutil.which(cli):
        missing("engine", f"dagger CLI not found at {cli}")
    status = subprocess.run([str(ROOT / "scripts/engine"), "status"], capture_output=True, text=True)
    if status.returncode != 0:
        missing("engine", status.stdout.strip().replace("\n", "; "))
    return {k: os.environ[k] for k in ("_EXPERIMENTAL_DAGGER_RUNNER_HOST", "_EXPERIMENTAL_DAGGER_CLI_BIN")}


@pytest.fixture(scope="session")
async def dag(engine_env):
    """A client-mode connection to the engine; yields the global `dag`."""
    import dagger

    from pipeline.engine import connection

    async with connection(show_progress=bool(os.environ.get("PIPELINE_DEBUG"))):
        yield dagger.dag


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that restart the shared engine run last: the session's own connection (the
    `dag` fixture) and every other test's would not survive it."""
    items.sort(key=lambda item: item.get_closest_marker("restarts_engine") is not None)
