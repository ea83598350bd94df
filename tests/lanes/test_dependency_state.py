"""A lane of several steps keeps one instance of each dependency for all of them, on the real
engine: the engine stops a service once its last exec is done with it and starts it afresh
for the next, so a value the first step stores must still be there for the second.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from tests.conftest import local_image, web_contract
from tests.lanes.test_validate import lanes, run_cli

pytestmark = [pytest.mark.engine, pytest.mark.slow]

STORE = """\
import http.server
kept = {}
class H(http.server.BaseHTTPRequestHandler):
    def do_PUT(self):
        kept[self.path] = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204); self.end_headers()
    def do_GET(self):
        value = kept.get(self.path)
        self.send_response(200 if value else 404); self.end_headers()
        self.wfile.write(value or b"")
http.server.ThreadingHTTPServer(("0.0.0.0", 9000), H).serve_forever()
"""

PUT = """\
import sys, urllib.request
request = urllib.request.Request("http://store:9000/k", data=sys.argv[1].encode(), method="PUT")
urllib.request.urlopen(request, timeout=10)
"""

GET = """\
import sys, urllib.request
assert urllib.request.urlopen("http://store:9000/k", timeout=10).read() == sys.argv[1].encode()
print("kept across steps")
"""


def test_a_dependency_keeps_its_state_from_one_step_to_the_next(engine_env, tmp_path: Path):
    value = secrets.token_hex(8)
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "Dockerfile").write_text(
        f"FROM {local_image('python:3.11')}\nEXPOSE 8080\n"
        'ENTRYPOINT ["python3", "-m", "http.server", "8080"]\n')
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "kv.py").write_text(STORE)
    # A nonce: a new definition, whatever ran on this engine before.
    (tmp_path / "store" / "Dockerfile").write_text(
        f"FROM {local_image('python:3.11')}\nENV NONCE={value}\nCOPY kv.py /kv.py\n"
        'CMD ["python3", "/kv.py"]\n')
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "put.py").write_text(PUT)
    (tmp_path / "tests" / "get.py").write_text(GET)
    (tmp_path / "pipeline.toml").write_text(web_contract(rest=f"""\
[dependencies.store]
context = "store"
port = 9000

[integration]
image = "py"
source = "tests"
command = ["python3 put.py {value}", "python3 get.py {value}"]
services = ["store"]
"""))
    reports = tmp_path / "reports"
    result = run_cli("validate", "--source", str(tmp_path), "--reports", str(reports),
                     "--progress", "quiet", "--lane", "integration")
    log = (reports / "lanes" / "integration" / "output.log").read_text()
    assert lanes(reports)["integration"]["status"] == "passed", result.stdout + log
    assert "kept across steps" in log


def test_a_dependency_that_does_not_start_fails_the_lane_saying_so(engine_env, tmp_path: Path):
    # Started by the engine with the lane's exec (no health check, one step): the lane
    # fails, naming the step the engine never ran and why, and keeps the dependency's words.
    nonce = secrets.token_hex(8)
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "Dockerfile").write_text(
        f"FROM {local_image('python:3.11')}\nEXPOSE 8080\n"
        'ENTRYPOINT ["python3", "-m", "http.server", "8080"]\n')
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "get.py").write_text(GET)
    (tmp_path / "pipeline.toml").write_text(web_contract(rest=f"""\
[dependencies.store]
image = "py"
port = 9000
command = ["sh", "-c", "echo store refuses to start {nonce}; exit 3"]

[integration]
image = "py"
source = "tests"
command = ["python3 get.py {nonce}"]
services = ["store"]
"""))
    reports = tmp_path / "reports"
    result = run_cli("validate", "--source", str(tmp_path), "--reports", str(reports),
                     "--progress", "quiet", "--lane", "integration")
    lane = lanes(reports)["integration"]
    assert lane["status"] == "failed", result.stdout + result.stderr
    assert "did not run" in lane["message"], lane["message"]
    log = (reports / "lanes" / "integration" / "output.log").read_text()
    assert "[did not run:" in log
    kept = reports / "lanes" / "integration" / "services" / "store" / "stdout.log"
    assert f"store refuses to start {nonce}" in kept.read_text()
