"""The second example (examples/signup, seed 004's single image) passes every lane for real.

One image (a Vite SPA served by Flask on gunicorn), PostgreSQL migrated by an init step,
unit tests on that database, a mail catcher built from a Dockerfile that integration and
E2E read, and the secret key by env: reference, which no report or log may show.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.engine, pytest.mark.slow]

SIGNUP = ROOT / "examples" / "signup"
SECRET_KEY = "signup-" + secrets.token_hex(16)


@pytest.fixture(scope="module")
def signup_run(engine_env, tmp_path_factory):
    reports = tmp_path_factory.mktemp("signup") / "reports"
    env = {**os.environ, "PIPELINE_LOG_LEVEL": "error", "SIGNUP_SECRET_KEY": SECRET_KEY}
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "validate", "--source", str(SIGNUP),
         "--overlay", "pipeline.offline.toml", "--reports", str(reports), "--progress", "quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=3600, env=env)
    return result, reports


def lanes(reports: Path) -> dict[str, dict]:
    return {lane["name"]: lane for lane in json.loads((reports / "summary.json").read_text())["lanes"]}


def test_signup_passes_every_lane(signup_run):
    result, reports = signup_run
    assert result.returncode == 0, result.stdout + result.stderr
    by_name = lanes(reports)
    expected = {"build:app", "lint:app", "unit-test:app", "contract:app", "integration", "e2e"}
    assert {name: lane["status"] for name, lane in by_name.items()} == dict.fromkeys(expected, "passed")
    assert json.loads((reports / "summary.json").read_text())["result"] == "passed"
    junit = (reports / "junit.xml").read_text()
    for suite in ("unit-test:app/", "integration/", "e2e/"):
        assert f'name="{suite}' in junit, suite
    # The tests that need the database and the mail catcher ran and passed, not skipped.
    for case in ("test_the_mailed_link_confirms_the_subscription",
                 "test_signup_mails_a_link_that_confirms_it",
                 "test_sign_up_then_confirm_from_the_mailed_link"):
        assert f'name="{case}"' in junit, case


def test_migrations_ran_once_before_the_app_started(signup_run):
    result, reports = signup_run
    assert result.returncode == 0, result.stderr
    logs = "\n".join(p.read_text() for p in (reports / "lanes").rglob("output.log"))
    assert logs.count("migrate: applied 2 migration(s)") == 1, logs[-3000:]
    assert "$ init app[0]: python -m app.migrate" in logs
    assert "$ health of postgres: pg_isready" in logs
    assert "$ health of mailcatcher:" in logs


def test_the_secret_key_reaches_no_report_and_no_terminal(signup_run):
    result, reports = signup_run
    assert SECRET_KEY not in result.stdout + result.stderr
    for path in reports.rglob("*"):
        if path.is_file():
            assert SECRET_KEY.encode() not in path.read_bytes(), path
