"""Fixtures that run the taskflow example directly on this machine (no engine, no images)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import missing
from tests.examples import taskflow_stack as stack


@pytest.fixture(scope="session")
def app_python() -> Path:
    # Needs PyPI (pinned requirements); cached under .cache/taskflow-venv/ per requirements hash.
    return stack.app_python()


@pytest.fixture(scope="session")
def postgres() -> Iterator[stack.Postgres]:
    try:
        server = stack.Postgres.start()
    except stack.Unavailable as exc:
        missing("postgresql", str(exc))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def backend(app_python: Path, postgres: stack.Postgres) -> Iterator[str]:
    """A backend shared by the read-mostly suites; tests that stop one start their own."""
    service = stack.start_backend(app_python, postgres.url)
    try:
        service.wait_for("/health")
        yield service.url
    finally:
        service.stop()


@pytest.fixture(scope="session")
def frontend_build() -> Iterator[Path]:
    try:
        work = stack.build_frontend()
    except stack.Unavailable as exc:
        missing("node", str(exc))
    yield work
    shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="session")
def frontend(frontend_build: Path, backend: str) -> Iterator[str]:
    try:
        service, run_dir = stack.start_nginx(frontend_build, backend)
    except stack.Unavailable as exc:
        missing("nginx", str(exc))
    try:
        service.wait_for("/healthz")
        yield service.url
    finally:
        service.stop()
        shutil.rmtree(run_dir, ignore_errors=True)
