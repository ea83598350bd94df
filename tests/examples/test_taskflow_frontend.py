"""The taskflow frontend run directly on this machine: lint and unit tests with npm, the
build served by nginx through the image's entrypoint, and the browser E2E suite."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import missing
from tests.examples import taskflow_stack as stack
from tests.examples.test_taskflow_backend import passed

pytestmark = pytest.mark.slow


def test_frontend_lint_and_unit_tests_pass(frontend_build: Path) -> None:
    stack.check(["npm", "run", "lint"], cwd=frontend_build)
    result = stack.check(["npm", "test"], cwd=frontend_build)
    found = re.search(r"Tests\s+(\d+) passed", result.stdout)
    assert found and int(found.group(1)) > 0, result.stdout


def test_nginx_serves_the_app_with_spa_fallback_and_proxies_api(frontend: str) -> None:
    index = httpx.get(f"{frontend}/", timeout=10)
    assert index.status_code == 200
    assert "<title>taskflow</title>" in index.text
    deep = httpx.get(f"{frontend}/tasks/42/edit", timeout=10)
    assert deep.status_code == 200 and deep.text == index.text
    asset = re.search(r'src="(/assets/[^"]+\.js)"', index.text)
    assert asset, index.text
    assert httpx.get(f"{frontend}{asset.group(1)}", timeout=10).status_code == 200
    assert httpx.get(f"{frontend}/assets/missing.js", timeout=10).status_code == 404
    assert httpx.get(f"{frontend}/healthz", timeout=10).text.strip() == "ok"
    api = httpx.get(f"{frontend}/api/tasks", timeout=10)
    assert api.status_code == 200 and isinstance(api.json(), list)


@contextmanager
def nginx(frontend_build: Path, backend_url: str) -> Iterator[stack.Service]:
    """The built frontend served by nginx through the image's entrypoint, stopped after."""
    try:
        service, run_dir = stack.start_nginx(frontend_build, backend_url)
    except stack.Unavailable as exc:
        missing("nginx", str(exc))
    try:
        yield service
    finally:
        service.stop()
        shutil.rmtree(run_dir, ignore_errors=True)


def test_frontend_entrypoint_refuses_a_missing_backend_url(frontend_build: Path) -> None:
    with nginx(frontend_build, "") as service:
        assert service.process.wait(timeout=10) == 2
        assert service.output().strip() == (
            "taskflow-frontend: BACKEND_URL is required (e.g. http://backend:8000)"
        )


def test_frontend_starts_before_its_backend_resolves(frontend_build: Path) -> None:
    # In a pipeline the backend's name may not resolve yet: the SPA must still be served.
    with nginx(frontend_build, "http://taskflow-backend.invalid:8000") as service:
        service.wait_for("/healthz")
        assert httpx.get(f"{service.url}/", timeout=10).status_code == 200
        assert httpx.get(f"{service.url}/api/tasks", timeout=20).status_code >= 500


@pytest.mark.browser
def test_e2e_suite_clicks_through_the_ui(app_python: Path, frontend: str) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        missing("browser", "no chromium: install Debian's chromium (scripts/deps.d/sample-app.sh)")
    result = stack.run(
        [str(app_python.parent / "pytest"), "-q", "-p", "no:cacheprovider"],
        cwd=stack.E2E,
        env={**os.environ, "FRONTEND_URL": frontend, "CHROMIUM_PATH": chromium},
    )
    assert passed(result) >= 3
