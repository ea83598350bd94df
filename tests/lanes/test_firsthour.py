"""A new user's first hour on the real engine: reason lines, logs kept, idle budgets.

Small apps written here (Python's http.server on the local registry's Python image)
fail in one way each; the CLI's reports must say why in one line and keep the
log that explains it where the pointer says.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest

from tests.conftest import local_image
from tests.lanes.test_validate import lanes, run_cli

pytestmark = [pytest.mark.engine, pytest.mark.slow]

PYTHON = local_image("python:3.11")

SERVER = """\
import http.server, json, os, sys, threading
print("api: starting with token", os.environ.get("API_TOKEN", "-"), flush=True)
if os.environ.get("CRASH"):
    print("api: FATAL settings: SECRET_KEY is not set", file=sys.stderr, flush=True)
    sys.exit(3)
if os.environ.get("SPIN"):
    def spin():
        while True:
            pass
    threading.Thread(target=spin, daemon=True).start()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"status": "ok"}).encode()
        self.send_response(200); self.end_headers(); self.wfile.write(body)
        print("api: GET", self.path, file=sys.stderr, flush=True)
server = http.server.ThreadingHTTPServer(("0.0.0.0", 8080), H)
import signal
signal.signal(signal.SIGTERM, lambda *a: (print("api: stopping", flush=True), sys.exit(0)))
server.serve_forever()
"""


def app(root: Path, *, env: dict[str, str] | None = None, dockerfile_extra: str = "",
        contract_extra: str = "", tests: dict[str, str] | None = None) -> Path:
    (root / "api").mkdir(parents=True)
    (root / "api" / "server.py").write_text(SERVER)
    (root / "api" / ".dockerignore").write_text(".git\n.env\n")
    (root / "api" / "Dockerfile").write_text(
        f"FROM {PYTHON}\nRUN useradd -u 10001 app\n{dockerfile_extra}COPY server.py /srv/server.py\n"
        f"USER 10001\nEXPOSE 8080\nENTRYPOINT [\"python3\", \"/srv/server.py\"]\n")
    for name, text in (tests or {}).items():
        (root / "api" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "api" / name).write_text(text)
    env_line = ", ".join(f'{k} = "{v}"' for k, v in (env or {}).items())
    (root / "pipeline.toml").write_text(
        f'[images]\npython-dev = "{PYTHON}"\n\n[services.api]\ncontext = "api"\nport = 8080\n'
        f'health = {{ path = "/health", startup_seconds = 15 }}\n'
        f'forbidden = {{ relax = ["package-managers"] }}\n'
        f'runtime = {{ env = {{ {env_line} }} }}\n{contract_extra}')
    return root


def validate(root: Path, *lane_args: str):
    reports = root / "reports"
    # --fresh: these tests are about what a measurement keeps, never a reused result.
    result = run_cli("validate", "--source", str(root), "--reports", str(reports),
                     "--progress", "lanes", "--fresh", *lane_args)
    return result, reports


def findings(reports: Path) -> list[dict]:
    return json.loads((reports / "lanes" / "contract-api" / "contract-api.json").read_text())["findings"]


def test_a_crashing_service_keeps_its_own_words(engine_env, tmp_path):
    root = app(tmp_path, env={"CRASH": "1", "API_TOKEN": "tok-very-secret-123"})
    result, reports = validate(root, "--lane", "contract:api")
    assert result.returncode == 1, result.stdout + result.stderr
    stderr_log = reports / "lanes" / "contract-api" / "services" / "api.probe" / "stderr.log"
    assert "FATAL settings: SECRET_KEY is not set" in stderr_log.read_text()
    stdout_log = stderr_log.with_name("stdout.log")
    assert "api: starting" in stdout_log.read_text()
    # What a service prints of its secrets is masked before it reaches the reports.
    for path in reports.rglob("*"):
        if path.is_file():
            assert "tok-very-secret-123" not in path.read_text(errors="replace"), path
    assert "api: starting with token ***" in stdout_log.read_text()
    # The failure line points at a folder that exists; no structlog line in the progress.
    pointer = next(line for line in result.stderr.splitlines() if "contract:api failed" in line)
    assert Path(pointer.rsplit("(see ", 1)[1].rstrip(")")).is_dir()
    assert "[error" not in result.stdout + result.stderr


def test_a_healthy_service_reports_idle_figures_and_keeps_its_output(engine_env, tmp_path):
    root = app(tmp_path, contract_extra='resources = { idle_cpu = "250m", idle_memory = "256Mi" }\n')
    result, reports = validate(root, "--lane", "contract:api")
    assert result.returncode == 0, result.stdout + result.stderr
    idle = [f for f in findings(reports) if f["rule"] == "runtime.idle-resources"]
    assert len(idle) == 1 and "m CPU" in idle[0]["message"] and "samples" in idle[0]["message"]
    kept = reports / "lanes" / "contract-api" / "services" / "api.probe"
    assert "api: GET /health" in (kept / "stderr.log").read_text()
    # Its SIGTERM handler ran (the wrapper leaves the init's signals to the entrypoint),
    # and what it said then was kept.
    assert "api: stopping" in (kept / "stdout.log").read_text()


def test_a_busy_idle_service_exceeds_its_cpu_budget(engine_env, tmp_path):
    root = app(tmp_path, env={"SPIN": "1"}, contract_extra='resources = { idle_cpu = "25m" }\n')
    result, reports = validate(root, "--lane", "contract:api")
    assert result.returncode == 1, result.stdout + result.stderr
    over = [f for f in findings(reports) if f["rule"] == "runtime.idle-cpu"]
    assert over and "while idle, budget 25m" in over[0]["message"]


def test_a_failed_build_is_failed_naming_its_step_with_its_log(engine_env, tmp_path):
    root = app(tmp_path, dockerfile_extra="RUN pip install --no-index nonexistent-pkg-zz9-fh\n")
    result, reports = validate(root, "--lane", "build:api")
    assert result.returncode == 1, result.stdout + result.stderr
    lane = lanes(reports)["build:api"]
    assert lane["status"] == "failed"
    assert lane["message"].startswith("build failed: Dockerfile:3 RUN pip install --no-index "
                                      "nonexistent-pkg-zz9-fh exited 1: pip: ")
    log = reports / "lanes" / "build-api" / "build.log"
    assert "No matching distribution found for nonexistent-pkg-zz9-fh" in log.read_text()
    assert "[error" not in result.stdout + result.stderr


FAILING_TEST = "def test_ok():\n    pass\n\ndef test_bad():\n    assert 1 == 2\n"


def test_tooling_reason_lines_name_the_summary_and_the_first_error(engine_env, tmp_path):
    long_command = ("pytest -q tests " + " ".join(f"-o cache_dir=/tmp/c{i}" for i in range(1))
                    + " -p no:randomly --tb=long -rA --durations=5 --junitxml=reports/unit.xml")
    root = app(tmp_path, tests={"tests/test_x.py": FAILING_TEST},
               contract_extra=(
                   '[services.api.checks]\nimage = "python-dev"\n'
                   'install = ["pip install -q pytest 2>&1 || pip install -q pytest"]\n'
                   'lint = ["pip install --no-index nonexistent-pkg-zz9-fh"]\n'
                   f'unit_test = ["{long_command}"]\n'))
    result, reports = validate(root, "--lane", "lint:api", "--lane", "unit-test:api")
    by_name = lanes(reports)
    assert by_name["unit-test:api"]["message"].endswith(
        "pytest: 1 failed, 1 passed in " + by_name["unit-test:api"]["message"].split(" in ")[-1])
    assert "first: tests/test_x.py::test_bad" in by_name["unit-test:api"]["message"]
    assert "pip: Could not find a version that satisfies the requirement nonexistent-pkg-zz9-fh" \
        in by_name["lint:api"]["message"]
    assert (reports / "lanes" / "unit-test-api" / "output.log").is_file()


# Two busy loops for 20 s in the lint lane's tooling container: both cores taken.
BURN = "for i in 1 2; do timeout 20 sh -c 'while :; do :; done' & done; wait; true"


def test_a_probe_under_a_busy_jobs_run_is_not_timed_against_the_load(engine_env, tmp_path):
    # A token of this run in the command: the engine's cache must not replay the load away.
    burn = f"echo {uuid.uuid4().hex}; {BURN}"
    root = app(tmp_path, contract_extra=f'[services.api.checks]\nimage = "python-dev"\nlint = ["{burn}"]\n')
    result, reports = validate(root, "--jobs", "2", "--lane", "lint:api", "--lane", "contract:api")
    assert result.returncode == 0, result.stdout + result.stderr
    by_name = lanes(reports)
    assert by_name["contract:api"]["status"] == "passed"
    # The probes ran after the loaded lane, never beside it: the probed instance's first
    # start (its output's stamp) came after lint finished.
    from datetime import datetime

    kept = reports / "lanes" / "contract-api" / "services" / "api.probe" / "stdout.log"
    second, fraction = re.search(r"^--- started (\S+?)(?:\.(\d+))?Z$", kept.read_text(), re.M).groups()
    first = datetime.fromisoformat(f"{second}.{(fraction or '0')[:6]:0<6}+00:00")
    assert first >= datetime.fromisoformat(by_name["lint:api"]["finished"])


def test_init_on_the_sample_app_gives_a_contract_validate_runs_to_a_verdict(engine_env, tmp_path):
    import shutil

    from tests.lanes.test_validate import OVERLAY, TASKFLOW

    copy = tmp_path / "taskflow"
    shutil.copytree(TASKFLOW, copy, ignore=shutil.ignore_patterns("node_modules", "reports"))
    (copy / "pipeline.toml").unlink()
    init = run_cli("init", "--source", str(copy))
    assert init.returncode == 0, init.stderr
    reports = copy / "reports"
    result = run_cli("validate", "--source", str(copy), "--overlay", OVERLAY, "--progress", "quiet",
                     "--lane", "contract:backend", "--lane", "contract:frontend")
    # A verdict: each lane passed or failed on its own terms; nothing broke.
    assert result.returncode in (0, 1), result.stdout + result.stderr
    statuses = {name: lane["status"] for name, lane in lanes(reports).items()}
    assert set(statuses) == {"build:backend", "build:frontend", "contract:backend", "contract:frontend"}
    assert set(statuses.values()) <= {"passed", "failed", "skipped"}, statuses
    assert statuses["build:backend"] == statuses["build:frontend"] == "passed"
