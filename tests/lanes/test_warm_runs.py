"""A second run with nothing changed takes the test lanes from Dagger's cache, on the real
engine, and keeps no service output of an earlier run; a changed input runs them again.

The runner prints a fresh random token each time it really runs: a run whose integration
log repeats the first run's token was answered from the cache (a behaviour, not a time).
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

from tests.conftest import local_image, web_contract
from tests.lanes.test_validate import lanes, run_cli

pytestmark = [pytest.mark.engine, pytest.mark.slow]

SERVER = """\
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
        print("web: GET", self.path, flush=True)
    def log_message(self, *args):
        pass
print("web: starting", flush=True)
http.server.ThreadingHTTPServer(("0.0.0.0", 8080), H).serve_forever()
"""

CHECK = """\
import urllib.request, uuid
assert urllib.request.urlopen("http://web:8080/health", timeout=10).read() == b"ok"
print("token", uuid.uuid4().hex)
"""


def dockerfile(*, user: str, nonce: str = uuid.uuid4().hex) -> str:
    # A nonce: this test's first run is cold, whatever ran on the engine before.
    return (f"FROM {local_image('python:3.11')}\nENV NONCE={nonce}\nRUN useradd -u 10001 app\n"
            f"COPY server.py /srv/server.py\n{user}EXPOSE 8080\n"
            'ENTRYPOINT ["python3", "/srv/server.py"]\n')


def contract(init: str) -> str:
    return web_contract(service=f"runtime = {{ init = [{init}] }}\n", rest="""\
[integration]
image = "py"
source = "tests"
command = ["python3 check.py"]
services = ["web"]
""")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "web").mkdir()
    # As root at first (--keep-going: the contract's user rule fails, the tests still run).
    (tmp_path / "web" / "Dockerfile").write_text(dockerfile(user=""))
    (tmp_path / "web" / "server.py").write_text(SERVER)
    (tmp_path / "web" / ".dockerignore").write_text(".git\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "check.py").write_text(CHECK)
    (tmp_path / "pipeline.toml").write_text(contract('"true"'))
    return tmp_path


def run(root: Path, reports: Path) -> tuple[str, Path]:
    result = run_cli("validate", "--source", str(root), "--reports", str(reports),
                     "--progress", "quiet", "--lane", "integration", "--keep-going")
    assert lanes(reports)["integration"]["status"] == "passed", result.stdout + result.stderr
    log = (reports / "lanes" / "integration" / "output.log").read_text()
    tokens = re.findall(r"token ([0-9a-f]{32})", log)
    assert len(tokens) == 1, log
    return tokens[0], reports / "lanes" / "integration" / "services" / "web"


def test_an_unchanged_run_takes_its_tests_from_the_cache_and_a_changed_one_runs_them(
        engine_env, project, tmp_path):
    first, services = run(project, tmp_path / "r1")
    # The service's own output, one start of it, is kept beside the tests.
    started = (services / "stdout.log").read_text()
    assert started.count("--- started") == 1 and "web: GET /health" in started

    second, services = run(project, tmp_path / "r2")
    assert second == first          # the same answer: the engine did not run the tests again
    assert not services.exists()    # nothing started this run; the first run's output is not ours

    # An init step runs outside the runner's container; changing it is a changed input.
    (project / "pipeline.toml").write_text(contract('"true", "echo again"'))
    third, services = run(project, tmp_path / "r3")
    assert third != first
    assert (services / "stdout.log").read_text().count("--- started") == 1

    # The image now runs as another user: its output is still kept in the volume the
    # root-run image wrote first.
    (project / "web" / "Dockerfile").write_text(dockerfile(user="USER 10001\n"))
    fourth, services = run(project, tmp_path / "r4")
    assert fourth not in (first, third)
    assert (services / "stdout.log").read_text().count("--- started") == 1
