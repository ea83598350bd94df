"""The taskflow backend run directly on this machine: its own unit tests and lint, its
startup rules, its black-box suite against a real PostgreSQL, and its SIGTERM behaviour."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.examples import taskflow_stack as stack

pytestmark = pytest.mark.slow


def passed(result: subprocess.CompletedProcess[str]) -> int:
    """How many tests a pytest run passed; fails on any failure, error or zero."""
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    found = re.search(r"(\d+) passed", result.stdout)
    assert found and int(found.group(1)) > 0, result.stdout
    return int(found.group(1))


def test_backend_unit_tests_pass(app_python: Path) -> None:
    # The contract's own command (plain `pytest`, not `python -m pytest`, which would add
    # the working directory to sys.path and hide an import problem).
    result = stack.run([str(app_python.parent / "pytest"), "-q", "-p", "no:cacheprovider",
                        "tests/unit"], cwd=stack.BACKEND)
    assert passed(result) >= 10


def test_backend_lint_is_clean(app_python: Path) -> None:
    ruff = str(app_python.parent / "ruff")
    stack.check([ruff, "check", "--no-cache", "."], cwd=stack.BACKEND)
    stack.check([ruff, "format", "--check", "--no-cache", "."], cwd=stack.BACKEND)


def test_backend_refuses_to_start_without_database_url(app_python: Path) -> None:
    service = stack.start_backend(app_python, None)
    try:
        code = service.process.wait(timeout=20)
        output = service.output()
    finally:
        service.stop()
    assert code == 2
    assert "Traceback" not in output
    assert output.strip().splitlines()[-1].startswith("taskflow: DATABASE_URL is required")


def test_backend_starts_with_database_down_and_health_says_503(app_python: Path) -> None:
    # Nothing listens on this port: the service must still start, and say so quickly.
    service = stack.start_backend(app_python, f"postgresql://taskflow@127.0.0.1:{stack.free_port()}/x")
    try:
        started = time.monotonic()
        response = service.wait_for("/health", status=503)
        assert time.monotonic() - started < 20
        assert response.json()["status"] == "unhealthy"
        assert httpx.get(f"{service.url}/api/tasks", timeout=10).status_code == 503
    finally:
        service.stop()


def test_integration_suite_passes_against_the_live_backend(app_python: Path, backend: str) -> None:
    result = stack.run(
        [str(app_python.parent / "pytest"), "-q", "-p", "no:cacheprovider"],
        cwd=stack.INTEGRATION, env={**os.environ, "BASE_URL": backend},
    )
    assert passed(result) >= 5


LOCKER = """
import sys, time, psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as watcher, psycopg.connect(sys.argv[1]) as conn:
    conn.execute("LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE")
    print("locked", flush=True)
    # Tell the test once a request is really waiting on the lock: it is then in flight.
    for _ in range(400):  # 20 s at most, so a request that never arrives cannot hang the test
        if watcher.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()[0]:
            print("blocked", flush=True)
            break
        time.sleep(0.05)
    else:
        print("no request waited on the lock", flush=True)
    sys.stdin.readline()
    conn.commit()
"""


def test_sigterm_finishes_the_in_flight_request_and_exits_within_grace(
    app_python: Path, postgres: stack.Postgres
) -> None:
    grace = stack.contract()["services"]["backend"]["shutdown"]["grace_seconds"]
    service = stack.start_backend(app_python, postgres.url)
    locker = None
    try:
        service.wait_for("/health")
        # Hold a lock on the table so GET /api/tasks stays in flight until we release it.
        locker = subprocess.Popen([str(app_python), "-c", LOCKER, postgres.url], text=True,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert locker.stdout is not None and locker.stdin is not None
        assert locker.stdout.readline().strip() == "locked"

        outcome: dict[str, httpx.Response | httpx.HTTPError] = {}

        def request() -> None:
            try:
                outcome["response"] = httpx.get(f"{service.url}/api/tasks", timeout=30)
            except httpx.HTTPError as exc:  # reported by the assertion below
                outcome["response"] = exc

        client = threading.Thread(target=request)
        client.start()
        assert locker.stdout.readline().strip() == "blocked"

        service.process.send_signal(signal.SIGTERM)
        terminated = time.monotonic()
        time.sleep(1.0)
        assert service.process.poll() is None, "exited with a request still in flight"
        locker.stdin.write("release\n")
        locker.stdin.flush()

        client.join(timeout=grace)
        response = outcome.get("response")
        assert isinstance(response, httpx.Response), f"in-flight request failed: {response!r}"
        assert response.status_code == 200
        code = service.process.wait(timeout=grace)
        elapsed = time.monotonic() - terminated
        # uvicorn re-raises the signal once shut down cleanly: 143 in a container, -15 here.
        assert code in (0, -signal.SIGTERM), service.output()
        assert "Finished server process" in service.output()
        assert elapsed < grace, f"took {elapsed:.1f}s to stop; grace is {grace}s"
    finally:
        if locker is not None:
            locker.kill()
            locker.wait()
        service.stop()
