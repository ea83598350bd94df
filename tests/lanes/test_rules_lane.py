"""The contract lane end to end (`pipeline check-images` on the real engine): findings from
the base image's layers labelled `inherited from <base>` in the lane's report, and the
startup-policy probe passing a service that fails fast and failing one that does not."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.corpus import CORPUS
from tests.lanes.test_validate import run_cli

pytestmark = [pytest.mark.engine, pytest.mark.slow]

PYTHON = "127.0.0.1:5000/pipeline/python:3.11"
CONTRACT = f"""\
version = 1

[services.flask-app]
context = "flask-app"
port = 8000
healthcheck = "required"
build_args = {{ PYTHON_IMAGE = "{PYTHON}" }}
dockerignore = [".git", ".env", "__pycache__"]

[services.strict]
context = "failfast"
port = 8000
build_args = {{ PYTHON_IMAGE = "{PYTHON}" }}
env = {{ required = ["DATABASE_URL"], fail_fast_message = true }}
runtime = {{ env = {{ DATABASE_URL = "postgresql://app@db/app", SECRET_KEY = "k", APP_MODE = "strict" }} }}

[services.lenient]
context = "failfast"
port = 8000
build_args = {{ PYTHON_IMAGE = "{PYTHON}" }}
env = {{ required = ["DATABASE_URL"] }}
runtime = {{ env = {{ DATABASE_URL = "postgresql://app@db/app", SECRET_KEY = "k", APP_MODE = "lenient" }} }}
"""


@pytest.fixture(scope="module")
def lane_run(engine_env, tmp_path_factory):
    source = tmp_path_factory.mktemp("rules") / "src"
    for name in ("flask-app", "failfast"):
        shutil.copytree(CORPUS / name, source / name)
    (source / "pipeline.toml").write_text(CONTRACT)
    reports = source.parent / "reports"
    result = run_cli("check-images", "--source", str(source), "--reports", str(reports),
                     "--progress", "quiet")
    return result, reports


def findings(reports: Path, service: str) -> list[dict]:
    path = reports / "lanes" / f"contract-{service}" / f"contract-{service}.json"
    return json.loads(path.read_text())["findings"]


def test_base_findings_are_labelled_inherited_in_the_lane_report(lane_run) -> None:
    result, reports = lane_run
    found = findings(reports, "flask-app")
    inherited = [f for f in found if f.get("inherited_from")]
    assert {f["rule"] for f in inherited} == {"fs.setuid", "forbidden.package-managers"}, found
    for finding in inherited:
        assert finding["inherited_from"] == PYTHON
        assert finding["message"].endswith(f"(inherited from {PYTHON})")
        assert "pick another base" in finding["remediation"]
        assert finding["severity"] == "medium"
    assert "contract:flask-app" in result.stdout and not any(
        f["severity"] in ("high", "critical") for f in found)


def test_startup_policy_in_the_lane(lane_run) -> None:
    result, reports = lane_run
    assert result.returncode == 1, result.stdout + result.stderr
    assert not [f for f in findings(reports, "strict") if f["rule"].startswith("runtime.fail")]
    [lenient] = [f for f in findings(reports, "lenient") if f["rule"].startswith("runtime.fail")]
    assert lenient["rule"] == "runtime.fail-fast" and lenient["severity"] == "high"
    assert "lenient without DATABASE_URL came up healthy" in lenient["message"]
    assert "contract:lenient failed" in result.stderr
