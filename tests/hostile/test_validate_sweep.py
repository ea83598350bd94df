"""Planted-secret sweep of a whole validate run on the real engine.

Secrets are planted in every place a run reads or prints them: a secret reference in a
service's env and in the unit-test env, an inline connection URL with a password, a
private key and a password baked into the image, a service that prints all of them at
start-up and a failing unit test that prints them too (its last lines become the reason
line). Nothing the user sees or keeps (the terminal, every report file) may hold one.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest

from tests.conftest import ROOT, local_image, web_contract

pytestmark = [pytest.mark.engine, pytest.mark.slow]

TOKEN = "sweep-ref-" + secrets.token_hex(10)           # given by reference (env:)
INLINE_PASSWORD = "sweep-inline-" + secrets.token_hex(6)  # inline in a *_URL value
BAKED_PASSWORD = "sweep-baked-" + secrets.token_hex(6)    # ENV in the image
PEM_BODY = "MIIEpAIBAAKCAQEAsweep" + secrets.token_hex(16) + "Planted"
PEM = f"-----BEGIN RSA PRIVATE KEY-----\\n{PEM_BODY}\\n-----END RSA PRIVATE KEY-----"

DOCKERFILE = f"""\
ARG BASE={local_image("python:3.11")}
FROM ${{BASE}}
WORKDIR /srv
RUN printf '%b\\n' '{PEM}' > /srv/server.key && echo ok > /srv/health
ENV DB_PASSWORD={BAKED_PASSWORD}
EXPOSE 8080
ENTRYPOINT ["sh", "-c", "echo token=$API_TOKEN url=$DB_URL; cat /srv/server.key; exec python3 -m http.server 8080 --directory /srv"]
"""

_ENV = f'{{ API_TOKEN = "env:SWEEP_TOKEN", DB_URL = "postgresql://app:{INLINE_PASSWORD}@db/app" }}'
CONTRACT = web_contract(rest=f"""\
[services.web.runtime]
env = {_ENV}

[services.web.checks]
image = "py"
unit_test = ["echo token=$API_TOKEN url=$DB_URL; cat server.key 2>/dev/null; echo FAILED test_x - AssertionError: $API_TOKEN; exit 1"]
env = {_ENV}
""")

PLANTED = {"reference": TOKEN, "inline password": INLINE_PASSWORD,
           "baked password": BAKED_PASSWORD, "private key": PEM_BODY}


@pytest.fixture(scope="module")
def swept_run(engine_env, tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    (root / "web").mkdir()
    (root / "web" / "Dockerfile").write_text(DOCKERFILE)
    (root / "web" / "server.key").write_text(PEM.replace("\\n", "\n") + "\n")
    (root / "web" / ".dockerignore").write_text(".git\nserver.key\n")
    (root / "pipeline.toml").write_text(CONTRACT)
    reports = root / "reports"
    env = {**os.environ, "SWEEP_TOKEN": TOKEN, "PIPELINE_LOG_LEVEL": "info"}
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "validate", "--source", str(root),
         "--reports", str(reports), "--progress", "lanes"],
        cwd=ROOT, capture_output=True, text=True, timeout=1800, env=env)
    return result, reports


def test_the_run_fails_for_the_planted_reasons(swept_run):
    result, reports = swept_run
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    summary = (reports / "summary.txt").read_text()
    assert "unit-test:web" in summary and "contract:web" in summary


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_no_planted_secret_reaches_the_terminal_or_a_report(swept_run, name):
    result, reports = swept_run
    secret = PLANTED[name]
    places = {"stdout": result.stdout, "stderr": result.stderr}
    for path in sorted(reports.rglob("*")):
        if path.is_file():
            places[str(path.relative_to(reports))] = path.read_bytes().decode("utf-8", "replace")
    assert len(places) > 5, sorted(places)  # the run did write its reports
    for where, text in places.items():
        assert secret not in text, f"planted {name} in {where}"
        if name == "private key":  # not in pieces either
            assert secret[8:24] not in text, f"part of the planted private key in {where}"
