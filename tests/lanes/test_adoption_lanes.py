"""Gradual adoption on the real engine: --keep-going, waivers, init steps, secret references.

A deliberately imperfect service (root, Debian's package managers kept) that does answer
its health check, built with a build secret; an integration lane that reaches it by name
and prints a secret given by reference. The same project is run four ways with overlays, as a team adopting the
pipeline would: plain (tests skipped), --keep-going (tests run, run fails), with waivers
for what failed (passes with waivers), and with an init step that fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from pipeline.errors import PromotionRefused
from pipeline.registry import RegistryClient, parse_reference, verify_attestation
from pipeline.registry.policy import Policy
from pipeline.registry.signing import generate_key_pair, load_public_key
from tests.conftest import REGISTRY, ROOT, local_image, web_contract

pytestmark = [pytest.mark.engine, pytest.mark.slow]

TOKEN = "adopt-" + secrets.token_hex(12)
TOKEN_SHA256 = hashlib.sha256(TOKEN.encode()).hexdigest()

# The build proves it was given the secret (by its hash: the Dockerfile is in the history).
DOCKERFILE = f"""\
ARG BASE={local_image("python:3.11")}
FROM ${{BASE}}
WORKDIR /srv
RUN --mount=type=secret,id=BUILD_TOKEN \\
    test "$(sha256sum < /run/secrets/BUILD_TOKEN | cut -c1-64)" = "{TOKEN_SHA256}"
RUN echo ok > /srv/health
EXPOSE 8080
ENTRYPOINT ["python3", "-m", "http.server", "8080", "--directory", "/srv"]
"""

CONTRACT = web_contract(service='build_secrets = { BUILD_TOKEN = "env:ADOPT_TEST_TOKEN" }\n',
                        rest="""\
[integration]
image = "py"
source = "tests"
command = ["python3 check.py", "echo token is $API_TOKEN"]
env = { API_TOKEN = "env:ADOPT_TEST_TOKEN" }
services = ["web"]
""")

CHECK = """\
import urllib.request
body = urllib.request.urlopen("http://web:8080/health", timeout=10).read()
assert body.strip() == b"ok", body
print("web answered")
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("adopt")
    (root / "web").mkdir()
    (root / "web" / "Dockerfile").write_text(DOCKERFILE)
    (root / "web" / ".dockerignore").write_text(".git\n.env\n")
    (root / "tests").mkdir()
    (root / "tests" / "check.py").write_text(CHECK)
    (root / "pipeline.toml").write_text(CONTRACT)
    return root


def validate(project: Path, reports: Path, *args: str, token: str | None = TOKEN,
             signing_key: str | None = None):
    env = {**os.environ, "PIPELINE_LOG_LEVEL": "error"}
    env.pop("ADOPT_TEST_TOKEN", None)
    if token is not None:
        env["ADOPT_TEST_TOKEN"] = token
    if signing_key is not None:
        env["PIPELINE_SIGNING_KEY"] = signing_key
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "validate", "--source", str(project),
         "--reports", str(reports), "--progress", "quiet", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=1800, env=env)
    return result


def summary(reports: Path) -> dict:
    return json.loads((reports / "summary.json").read_text())


def lanes(reports: Path) -> dict[str, dict]:
    return {lane["name"]: lane for lane in summary(reports)["lanes"]}


def everything_written(reports: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in reports.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def keep_going_run(engine_env, project, tmp_path_factory):
    reports = tmp_path_factory.mktemp("keep") / "reports"
    return validate(project, reports, "--keep-going"), reports


def test_a_missing_secret_reference_stops_the_run_with_one_line(engine_env, project, tmp_path):
    result = validate(project, tmp_path / "reports", token=None)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("pipeline: error")]
    # The first reference read is the build secret's.
    line = next(n for n, text in enumerate(CONTRACT.splitlines(), 1)
                if text.startswith("build_secrets"))
    assert lines == [f"pipeline: error: {project / 'pipeline.toml'}:{line}: "
                     "services.web.build_secrets.BUILD_TOKEN: environment variable "
                     "ADOPT_TEST_TOKEN is not set"], result.stderr
    assert "Traceback" not in result.stderr


def test_keep_going_runs_the_tests_although_the_contract_failed(keep_going_run):
    result, reports = keep_going_run
    assert result.returncode == 1, result.stdout + result.stderr
    by_name = lanes(reports)
    assert by_name["contract:web"]["status"] == "failed"
    assert by_name["integration"]["status"] == "passed", by_name["integration"]
    data = summary(reports)
    assert data["gating"] is False and data["result"] == "failed"
    assert "not gating: test lanes ran whatever" in (reports / "summary.txt").read_text()


def test_a_secret_reference_never_reaches_a_report_or_the_terminal(keep_going_run):
    result, reports = keep_going_run
    log = (reports / "lanes" / "integration" / "output.log").read_text()
    assert "token is" in log                     # the command ran and printed it...
    assert TOKEN not in log                      # ...and the engine scrubbed the value
    assert TOKEN not in everything_written(reports)
    assert TOKEN not in result.stdout + result.stderr


def test_waiving_what_failed_passes_with_waivers_and_says_so(engine_env, project, keep_going_run,
                                                             tmp_path):
    _, first = keep_going_run
    report = json.loads((first / "lanes" / "contract-web" / "contract-web.json").read_text())
    failing = sorted({f["rule"] for f in report["findings"] if f["severity"] in ("high", "critical")})
    assert "user.root" in failing, failing
    overlay = project / "waivers.toml"
    overlay.write_text("[services.web]\nwaive = [\n" + "".join(
        f'  {{ rule = "{rule}", reason = "inherited from the base image" }},\n'
        for rule in failing) + "]\n")
    reports = tmp_path / "reports"
    private, public = generate_key_pair()
    repository = f"{REGISTRY}/pipeline-test/adopt-{uuid.uuid4().hex[:8]}"
    result = validate(project, reports, "--overlay", "waivers.toml", "--publish-to", repository,
                      "--git-revision", "abc123", signing_key=private.decode())
    assert result.returncode == 0, result.stdout + result.stderr
    # The release and the attestation say so, for promotion policy to refuse.
    record = json.loads((reports / "lanes" / "publish" / "release.json").read_text())
    assert record["result"] == "passed with waivers" and record["gating"] is True
    assert sorted(w["rule"] for w in record["waivers"]) == failing
    ref = parse_reference(record["images"][0]["reference"])
    key = load_public_key(public, source="test key")
    with RegistryClient.for_reference(ref) as client:
        statement = verify_attestation(client, ref, key)
        assert sorted(w["rule"] for w in statement.predicate.waivers) == failing
        with pytest.raises(PromotionRefused, match="waived rule"):
            verify_attestation(client, ref, key, policy=Policy(refuse_waivers=True))
    data = summary(reports)
    assert data["result"] == "passed with waivers" and data["gating"] is True
    assert sorted(w["rule"] for w in data["waivers"]) == failing
    assert "result: passed with waivers (exit 0)" in result.stdout
    assert lanes(reports)["integration"]["status"] == "passed"
    lane_report = json.loads((reports / "lanes" / "contract-web" / "contract-web.json").read_text())
    assert lane_report["passed"] and all(
        f.get("waived") for f in lane_report["findings"] if f["rule"] in failing)
    sarif = json.loads((reports / "results.sarif").read_text())
    assert any(r.get("suppressions") for r in sarif["runs"][0]["results"])
    assert "waiver" in (reports / "junit.xml").read_text()
    assert "passed with waivers" in (reports / "summary.md").read_text()


def test_a_failing_init_step_stops_the_service_everywhere(engine_env, project, tmp_path):
    overlay = project / "init.toml"
    overlay.write_text('[services.web.runtime]\ninit = ["echo migrating; exit 3"]\n')
    reports = tmp_path / "reports"
    result = validate(project, reports, "--overlay", "init.toml", "--keep-going")
    assert result.returncode == 1, result.stdout + result.stderr
    by_name = lanes(reports)
    reason = "init step 0 of web `sh -c echo migrating; exit 3` exited 3: migrating"
    assert reason in by_name["integration"]["message"], by_name["integration"]
    findings = json.loads((reports / "lanes" / "contract-web" / "contract-web.json").read_text())
    assert any(reason in f["message"] for f in findings["findings"]), findings["findings"]
    # The step ran once, its output in the log of the lane that ran it; the other lane's
    # log says it failed earlier in the run.
    assert "migrating" in (reports / "lanes" / "contract-web" / "output.log").read_text()
    assert "failed earlier in this run" in (reports / "lanes" / "integration" / "output.log").read_text()
