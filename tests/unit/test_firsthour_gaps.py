"""The smaller gaps of a new user's first hour, each closed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.contract import Health
from pipeline.findings import Finding, Severity
from pipeline.probes import HealthAnswer, json_subset, judge_startup
from pipeline.report.findings.junit import finding_cases
from tests.conftest import ROOT


def test_a_check_that_never_ran_is_skipped_not_passed():
    findings = [Finding("runtime.startup-time", "api did not start: exit 3", subject="api")]
    cases = {c.name: c for c in finding_cases(
        findings, ["runtime.health", "runtime.shutdown", "runtime.startup-time", "user.root"],
        Severity.HIGH, not_run={"runtime.health": "api did not start",
                                "runtime.shutdown": "api did not start"})}
    assert cases["runtime.health"].skipped == "api did not start"
    assert cases["runtime.shutdown"].skipped == "api did not start"
    assert cases["runtime.startup-time"].failure is not None
    assert cases["user.root"].skipped is None and cases["user.root"].failure is None


@pytest.mark.parametrize(("expected", "actual", "ok"), [
    ({"status": "ok"}, {"status": "ok", "db": "up"}, True),
    ({"checks": {"db": "up"}}, {"checks": {"db": "up", "cache": "up"}, "v": 1}, True),
    ({"checks": {"db": "up"}}, {"checks": {"db": "down"}}, False),
    (["ok"], ["ok", "degraded"], True),
    ([{"name": "db"}], [{"name": "db", "ok": True}], True),
    ("ok", "ok", True),
    ("ok", {"status": "ok"}, False),
    (1, 1.0, True),
    (True, 1, False),
    ({"a": 1}, [1], False),
])
def test_health_body_is_any_json_value_or_subset(expected, actual, ok):
    assert json_subset(expected, actual) is ok


def test_health_body_in_a_contract_accepts_arrays_and_scalars():
    for body in (["ok"], "ok", 1, {"status": "ok"}):
        health = Health(body=body)
        answer = HealthAnswer(url="u", status=200, body='["ok"]' if isinstance(body, list) else
                              ('"ok"' if body == "ok" else ("1" if body == 1 else '{"status": "ok"}')),
                              seconds=0.1, attempts=1)
        assert judge_startup("api", health, answer, start_seconds=0.1) == []


def test_a_hostile_deeply_nested_body_is_a_finding_not_a_crash():
    answer = HealthAnswer(url="u", status=200, body="[" * 100_000, seconds=0.1, attempts=1)
    findings = judge_startup("api", Health(body={"status": "ok"}), answer, start_seconds=0.1)
    assert [f.rule_id for f in findings] == ["runtime.health"]


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
                    max_leaves=20))
def test_every_json_value_contains_itself(value):
    assert json_subset(value, value)


@pytest.fixture
def fake_root(tmp_path: Path) -> Path:
    """scripts/pipeline in a copy of the repository whose scripts/engine only records calls."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "pipeline", tmp_path / "scripts" / "pipeline")
    engine = tmp_path / "scripts" / "engine"
    engine.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/engine-calls\nexit 1\n')
    engine.chmod(0o755)
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parents[1])
    return tmp_path


def test_plan_does_not_start_the_engine(fake_root: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("_EXPERIMENTAL_DAGGER")}
    env["PIPELINE_LOCAL_ENGINE"] = "1"
    plan = subprocess.run([str(fake_root / "scripts" / "pipeline"), "plan", "--source",
                           str(ROOT / "examples" / "taskflow")], capture_output=True, text=True,
                          env=env, timeout=120)
    assert plan.returncode == 0, plan.stderr
    assert "contract:backend" in plan.stdout
    assert not (fake_root / "engine-calls").exists()
    # ... while validate does ask for one (the fake refuses, so validate stops there).
    validate = subprocess.run([str(fake_root / "scripts" / "pipeline"), "validate", "--source",
                               str(ROOT / "examples" / "taskflow")], capture_output=True, text=True,
                              env=env, timeout=120)
    assert validate.returncode != 0
    assert (fake_root / "engine-calls").read_text().startswith("up")


def test_reports_default_beside_the_contract_and_a_bad_ca_bundle_is_one_line(tmp_path: Path):
    from pipeline.cli.validate import reports_dir

    assert reports_dir(None, tmp_path / "app") == tmp_path / "app" / "reports"
    assert reports_dir(Path("out"), tmp_path / "app") == Path("out")

    (tmp_path / "not-a-ca.pem").write_text("hello\n")
    proc = subprocess.run([sys.executable, "-m", "pipeline", "validate", "--source", str(tmp_path),
                           "--ca-bundle", str(tmp_path / "not-a-ca.pem")],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].endswith("not a PEM certificate bundle")
    assert "Traceback" not in proc.stderr
