"""`pipeline init`: a starting contract from a repository, compared with the hand-written ones."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.cli import main
from pipeline.contract import load_contract
from pipeline.scaffold import render, scan_repository
from tests.conftest import ROOT

EXAMPLES = [p.parent for p in sorted((ROOT / "examples").glob("*/pipeline.toml"))
            if "broken" not in p.parent.name]


def without_contract(example: Path, tmp_path: Path) -> Path:
    copy = tmp_path / example.name
    shutil.copytree(example, copy, ignore=shutil.ignore_patterns("node_modules", "reports", ".venv"))
    (copy / "pipeline.toml").unlink()
    return copy


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_init_guesses_what_the_hand_written_contract_says(example: Path, tmp_path: Path):
    copy = without_contract(example, tmp_path)
    assert main(["init", "--source", str(copy)]) == 0
    text = (copy / "pipeline.toml").read_text()
    guessed, hand = load_contract(copy / "pipeline.toml"), load_contract(example / "pipeline.toml")
    assert set(guessed.services) == set(hand.services)
    for name, spec in hand.services.items():
        mine = guessed.services[name]
        assert (mine.context, mine.port, mine.target) == (spec.context, spec.port, spec.target), name
        assert mine.health.path == spec.health.path, name
        assert set(mine.env.required) == set(spec.env.required), name
        assert set(mine.runtime.depends_on) == set(spec.runtime.depends_on), name
        assert set(mine.runtime.env) == set(spec.runtime.env), name
        if spec.user.uid is not None:
            assert mine.user.uid == spec.user.uid, name
        if spec.checks is not None:
            assert mine.checks is not None, name
            for step in ("install", "lint", "unit_test"):
                theirs = [" ".join(c.split()[:2]) for c in getattr(spec.checks, step)]
                ours = [" ".join(c.split()[:2]) for c in getattr(mine.checks, step)]
                assert ours == theirs, (name, step)
    assert set(guessed.dependencies) == set(hand.dependencies)
    for kind in ("integration", "e2e"):
        theirs, ours = getattr(hand, kind), getattr(guessed, kind)
        assert (ours is None) == (theirs is None), kind
        if theirs is not None:
            assert ours.source == theirs.source and set(ours.env) == set(theirs.env), kind
            assert set(ours.services) <= set(theirs.services), kind
    # Every guess says where it came from.
    for line in text.splitlines():
        if " = " in line and not line.startswith("#") and not line.startswith("version"):
            previous = text.splitlines()[text.splitlines().index(line) - 1]
            assert previous.startswith("#"), line


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_plan_accepts_what_init_wrote(example: Path, tmp_path: Path):
    copy = without_contract(example, tmp_path)
    assert main(["init", "--source", str(copy)]) == 0
    plan = subprocess.run([sys.executable, "-m", "pipeline", "plan", "--source", str(copy)],
                          capture_output=True, text=True, timeout=120)
    assert plan.returncode == 0, plan.stderr
    assert "contract:" in plan.stdout


def test_init_never_overwrites_without_force(tmp_path: Path, capsys):
    copy = without_contract(ROOT / "examples" / "taskflow", tmp_path)
    (copy / "pipeline.toml").write_text("# mine\n")
    assert main(["init", "--source", str(copy)]) == 2
    assert "pass --force" in capsys.readouterr().err
    assert (copy / "pipeline.toml").read_text() == "# mine\n"
    assert main(["init", "--source", str(copy), "--force"]) == 0
    assert (copy / "pipeline.toml").read_text().startswith("# Written by `pipeline init`")


COMPOSE = """\
services:
  api:
    build: { context: ./api, target: runtime }
    ports: ["9000:8000"]
    environment:
      DATABASE_URL: postgresql://app:hunter2-secret@db:5432/app
      API_TOKEN: tok_live_abcdef123456
      LOG_LEVEL: info
    depends_on: [db]
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost:8000/ready"]
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: hunter2-secret
      POSTGRES_DB: app
"""


def test_compose_guesses_and_no_secret_value_is_written(tmp_path: Path):
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "Dockerfile").write_text(
        "FROM python:3.12-slim AS build\nFROM python:3.12-slim AS runtime\nUSER app\n")
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text(
        "jobs:\n  test:\n    defaults: { run: { working-directory: api } }\n    steps:\n"
        "      - run: pip install -r requirements.txt\n      - run: |\n          ruff check src\n"
        "          pytest -q tests --maxfail=1\n")
    text = render(scan_repository(tmp_path))
    for secret in ("hunter2-secret", "tok_live_abcdef123456"):
        assert secret not in text
    (tmp_path / "pipeline.toml").write_text(text)
    contract = load_contract(tmp_path / "pipeline.toml")
    api = contract.services["api"]
    assert (api.port, api.target, api.health.path) == (8000, "runtime", "/ready")
    assert api.runtime.env == {"LOG_LEVEL": "info"}
    assert set(api.env.required) == {"DATABASE_URL", "API_TOKEN", "LOG_LEVEL"}
    assert "API_TOKEN" in api.env.secrets
    assert api.runtime.depends_on == ["db"]
    assert contract.dependencies["db"].env == {"POSTGRES_DB": "app", "POSTGRES_HOST_AUTH_METHOD": "trust"}
    assert "POSTGRES_PASSWORD is not written" in text
    assert api.checks is None or api.checks.lint == ["ruff check src"]


def test_an_empty_repository_says_what_is_missing(tmp_path: Path):
    text = render(scan_repository(tmp_path))
    assert "no Dockerfile found" in text


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dockerfile=st.text(max_size=400), compose=st.text(max_size=400))
def test_any_repository_content_gives_a_loadable_contract_or_a_note(tmp_path_factory, dockerfile, compose):
    root = tmp_path_factory.mktemp("repo")
    (root / "svc").mkdir()
    (root / "svc" / "Dockerfile").write_text(dockerfile)
    (root / "compose.yaml").write_text(compose)
    text = render(scan_repository(root))
    (root / "pipeline.toml").write_text(text)
    load_contract(root / "pipeline.toml")
