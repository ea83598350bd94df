"""Dockerfile rules (HEALTHCHECK, layer-caching order, ARG secrets) and the parser under them."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.contract import load_contract
from pipeline.rules import check_image
from pipeline.rules.dockerfile import final_base, instructions, stages
from tests.imagebuilder import CLEAN_CONTRACT, ImageBuilder, write_contract

HEALTHY = CLEAN_CONTRACT.replace('max_size = "10MB"', 'max_size = "10MB"\nhealthcheck = "required"')


def dockerfile_ids(tmp_path: Path, dockerfile: str, contract: str = CLEAN_CONTRACT) -> list[str]:
    path = write_contract(tmp_path, contract)
    (tmp_path / "backend" / "Dockerfile").write_text(dockerfile)
    tarball = ImageBuilder.clean().write(tmp_path / "image.tar")
    findings = check_image(tarball, load_contract(path), "backend",
                           context_dir=tmp_path / "backend")
    return sorted(f.rule_id for f in findings if f.rule_id.startswith("dockerfile."))


def messages(tmp_path: Path, dockerfile: str, contract: str = CLEAN_CONTRACT) -> list[str]:
    path = write_contract(tmp_path, contract)
    (tmp_path / "backend" / "Dockerfile").write_text(dockerfile)
    tarball = ImageBuilder.clean().write(tmp_path / "image.tar")
    return [f.message for f in check_image(tarball, load_contract(path), "backend",
                                           context_dir=tmp_path / "backend")
            if f.rule_id.startswith("dockerfile.")]


GOOD_NODE = """\
FROM node:18 AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build

FROM nginx:1.22
COPY --from=build /app/dist /usr/share/nginx/html
HEALTHCHECK CMD curl -f http://localhost/health || exit 1
"""


def test_good_dockerfile_has_no_dockerfile_finding(tmp_path: Path) -> None:
    assert dockerfile_ids(tmp_path, GOOD_NODE, HEALTHY) == []


# --- HEALTHCHECK -------------------------------------------------------------

def test_healthcheck_required_and_missing(tmp_path: Path) -> None:
    text = GOOD_NODE.replace("HEALTHCHECK CMD curl -f http://localhost/health || exit 1\n", "")
    assert dockerfile_ids(tmp_path, text, HEALTHY) == ["dockerfile.healthcheck-missing"]
    # Not required (the default): no finding.
    assert dockerfile_ids(tmp_path, text) == []


def test_healthcheck_none_counts_as_missing(tmp_path: Path) -> None:
    text = GOOD_NODE + "HEALTHCHECK NONE\n"
    [message] = messages(tmp_path, text, HEALTHY)
    assert "HEALTHCHECK NONE at line 11" in message


def test_healthcheck_in_a_parent_stage_is_inherited(tmp_path: Path) -> None:
    text = ("FROM python:3.11 AS base\nHEALTHCHECK CMD python -c 1\n"
            "FROM base AS runtime\nCOPY app /app\n")
    assert dockerfile_ids(tmp_path, text, HEALTHY) == []


def test_healthcheck_of_a_build_stage_does_not_count(tmp_path: Path) -> None:
    text = "FROM python:3.11 AS build\nHEALTHCHECK CMD true\nFROM python:3.11\nCOPY a /a\n"
    assert dockerfile_ids(tmp_path, text, HEALTHY) == ["dockerfile.healthcheck-missing"]


def test_healthcheck_multiline_continuation(tmp_path: Path) -> None:
    text = ("FROM python:3.11\nHEALTHCHECK --interval=30s --timeout=3s \\\n"
            "  CMD python -c \"import urllib.request\"\n")
    assert dockerfile_ids(tmp_path, text, HEALTHY) == []


# --- layer-caching order -------------------------------------------------------

@pytest.mark.parametrize("text", [
    "FROM node:18\nWORKDIR /app\nCOPY . .\nRUN npm ci\n",
    "FROM node:18\nCOPY package.json ./\nCOPY . .\nRUN npm install --omit=dev\n",
    "FROM python:3.11\nCOPY . /app\nRUN pip install --no-cache-dir -r /app/requirements.txt\n",
    "FROM python:3.11\nCOPY backend/ ./backend/\nRUN pip install -r backend/requirements.txt\n",
    "FROM python:3.11\nCOPY . /src\nRUN pip install --no-cache-dir /src/ && rm -rf /src\n",
    "FROM python:3.11\nCOPY . .\nRUN pip install .\n",
    "FROM python:3.11\nCOPY app.py requirements.txt ./\nRUN pip install -r requirements.txt\n",
    "FROM golang:1.22\nCOPY . .\nRUN go mod download && go build ./...\n",
    "FROM node:18\nCOPY [\".\", \"/app\"]\nRUN cd /app && yarn install --frozen-lockfile\n",
    "FROM python:3.11\nADD . /app\nRUN poetry install --no-root\n",
])
def test_install_after_the_source_is_a_finding(tmp_path: Path, text: str) -> None:
    assert dockerfile_ids(tmp_path, text) == ["dockerfile.cache-order"]


@pytest.mark.parametrize("text", [
    GOOD_NODE,
    "FROM node:18\nCOPY package*.json ./\nRUN npm ci --omit=dev\nCOPY . .\n",
    "FROM python:3.11\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\nCOPY . .\n"
    "RUN pip install --no-deps .\n",
    "FROM python:3.11\nCOPY pyproject.toml poetry.lock README.md ./\nRUN poetry install --no-root\n"
    "COPY src ./src\n",
    # Not a manifest-driven install: a tool pinned by name.
    "FROM node:18\nCOPY . .\nRUN npm install -g pnpm@9\n",
    "FROM python:3.11\nCOPY . .\nRUN pip install gunicorn==22.0.0\n",
    # From another stage: not the build context.
    "FROM python:3.11 AS b\nFROM python:3.11\nCOPY --from=b /wheels /wheels\n"
    "RUN pip install /wheels/*.whl\n",
    # The seed's own Dockerfile (004): manifests first in both stages.
    "FROM node:22-slim AS frontend-builder\nRUN npm install -g pnpm\nWORKDIR /app/frontend\n"
    "COPY frontend/package.json frontend/pnpm-lock.yaml ./\nRUN pnpm install --frozen-lockfile\n"
    "COPY frontend/ ./\nRUN pnpm run build\nFROM python:3.14-slim\nWORKDIR /app\n"
    "COPY backend/requirements.txt ./requirements.txt\n"
    "RUN pip install --no-cache-dir -r requirements.txt\nCOPY backend/ ./backend/\n",
])
def test_manifests_first_is_clean(tmp_path: Path, text: str) -> None:
    assert dockerfile_ids(tmp_path, text) == []


def test_cache_order_message_names_both_lines(tmp_path: Path) -> None:
    [message] = messages(tmp_path, "FROM node:18 AS web\nWORKDIR /app\nCOPY . .\nRUN npm ci\n")
    assert "stage web" in message and "`npm ci` (line 4)" in message
    assert "`COPY . .` (line 3)" in message


# --- ARG secrets ---------------------------------------------------------------------

@pytest.mark.parametrize("line", [
    "ARG API_TOKEN=s3cr3t-value-123",
    "ARG GITHUB=ghp_" + "a" * 36,
    'ARG DB="postgresql://app:hunter2@db:5432/app"',
    "ARG SECRET_KEY=abc123 OTHER=1",
])
def test_secret_in_arg_default(tmp_path: Path, line: str) -> None:
    text = f"{line}\nFROM python:3.11\nCOPY requirements.txt .\n"
    assert dockerfile_ids(tmp_path, text) == ["dockerfile.secret-arg"]
    joined = " ".join(messages(tmp_path, text))
    assert "hunter2" not in joined and "s3cr3t" not in joined and "a" * 36 not in joined


@pytest.mark.parametrize("line", [
    "ARG API_TOKEN", "ARG API_TOKEN=", "ARG PASSWORD=changeme", "ARG TOKEN_FILE=/run/secrets/t",
    "ARG PYTHON_IMAGE=python:3.11-slim", "ARG DB=postgresql://db:5432/app",
    "ARG NODE_ENV=production",
])
def test_harmless_args(tmp_path: Path, line: str) -> None:
    assert dockerfile_ids(tmp_path, f"FROM python:3.11\n{line}\n") == []


def test_secret_arg_names_the_line_and_redacts(tmp_path: Path) -> None:
    path = write_contract(tmp_path)
    (tmp_path / "backend" / "Dockerfile").write_text("FROM python:3.11\n\nARG API_KEY=topsecretvalue\n")
    tarball = ImageBuilder.clean().write(tmp_path / "image.tar")
    [finding] = [f for f in check_image(tarball, load_contract(path), "backend",
                                        context_dir=tmp_path / "backend")
                 if f.rule_id == "dockerfile.secret-arg"]
    # Under 16 characters no prefix is shown at all (pipeline.rules.patterns.redact).
    assert finding.evidence[0].detail == "line 3: ARG API_KEY=…(14 chars)"
    assert "topsecretvalue" not in str(finding.as_dict())


# --- the parser -----------------------------------------------------------------------

def test_instructions_keep_line_numbers_and_heredocs() -> None:
    text = ("# syntax=docker/dockerfile:1\nFROM debian AS a\nRUN <<EOF\nset -e\n"
            "COPY not-an-instruction\nEOF\nCOPY \\\n  x /x\n")
    found = instructions(text)
    assert [(i.line, i.word) for i in found] == [(2, "FROM"), (3, "RUN"), (7, "COPY")]
    assert "COPY not-an-instruction" in found[1].rest


def test_final_base_through_stages_and_args() -> None:
    text = "ARG BASE=python:3.11\nFROM ${BASE} AS base\nFROM base AS app\nFROM debian AS tools\n"
    assert final_base(text) == "debian"
    assert final_base(text, target="app") == "python:3.11"
    assert final_base(text, target="app", build_args={"BASE": "r/x:1"}) == "r/x:1"
    assert final_base(text, target="nope") is None
    assert len(stages(text)[1]) == 3


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("FROMARGCOPYRUN <>$\\{}:=-\"'#.\n a")), max_size=300))
def test_parser_survives_anything(text: str) -> None:
    instructions(text)
    final_base(text)
    stages(text, {"A": "b"})


def test_generated_bombs_stay_bounded(tmp_path: Path) -> None:
    """Hostile Dockerfiles: a RUN of 100k installs, 10k continuation lines, an unclosed
    heredoc, a glob source of stars; each is read in linear time (RE2, no backtracking)."""
    bombs = [
        "FROM python:3.11\nCOPY . .\nRUN " + "pip install " * 100_000 + "\n",
        "FROM python:3.11\nRUN echo \\\n" + "  a \\\n" * 10_000 + "  done\n",
        "FROM python:3.11\nRUN <<EOF\n" + "echo hi\n" * 10_000,
        "FROM python:3.11\nCOPY " + "*a" * 5_000 + " /app/\nRUN npm ci\n",
        "ARG " + " ".join(f"A{i}=x" for i in range(20_000)) + "\nFROM python:3.11\n",
    ]
    for text in bombs:
        dockerfile_ids(tmp_path, text)
