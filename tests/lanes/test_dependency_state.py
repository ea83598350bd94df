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


def project(root: Path, store: str) -> None:
    """A contract's required service (web, never started here), the tests, and `store`
    (the [dependencies.store] table and the integration lane that binds it)."""
    (root / "web").mkdir()
    (root / "web" / "Dockerfile").write_text(
        f"FROM {local_image('python:3.11')}\nEXPOSE 8080\n"
        'ENTRYPOINT ["python3", "-m", "http.server", "8080"]\n')
    (root / "tests").mkdir()
    (root / "tests" / "put.py").write_text(PUT)
    (root / "tests" / "get.py").write_text(GET)
    (root / "pipeline.toml").write_text(web_contract(rest=store))


def validate(root: Path) -> tuple[dict, str, Path]:
    """The integration lane's summary, its output.log and its folder."""
    reports = root / "reports"
    result = run_cli("validate", "--source", str(root), "--reports", str(reports),
                     "--progress", "quiet", "--lane", "integration")
    lane_dir = reports / "lanes" / "integration"
    assert (lane_dir / "output.log").is_file(), result.stdout + result.stderr
    return lanes(reports)["integration"], (lane_dir / "output.log").read_text(), lane_dir


def test_a_dependency_keeps_its_state_from_one_step_to_the_next(engine_env, tmp_path: Path):
    value = secrets.token_hex(8)
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "kv.py").write_text(STORE)
    # A nonce: a new definition, whatever ran on this engine before.
    (tmp_path / "store" / "Dockerfile").write_text(
        f"FROM {local_image('python:3.11')}\nENV NONCE={value}\nCOPY kv.py /kv.py\n"
        'CMD ["python3", "/kv.py"]\n')
    project(tmp_path, f"""\
[dependencies.store]
context = "store"
port = 9000

[integration]
image = "py"
source = "tests"
command = ["python3 put.py {value}", "python3 get.py {value}"]
services = ["store"]
""")
    lane, log, _ = validate(tmp_path)
    assert lane["status"] == "passed", log
    assert "kept across steps" in log


def test_a_dependency_that_does_not_start_fails_the_lane_saying_so(engine_env, tmp_path: Path):
    # Started by the engine with the lane's exec (no health check, one step): the lane
    # fails, naming the step the engine never ran and why, and keeps the dependency's words.
    nonce = secrets.token_hex(8)
    project(tmp_path, f"""\
[dependencies.store]
image = "py"
port = 9000
command = ["sh", "-c", "echo store refuses to start {nonce}; exit 3"]

[integration]
image = "py"
source = "tests"
command = ["python3 get.py {nonce}"]
services = ["store"]
""")
    lane, log, lane_dir = validate(tmp_path)
    assert lane["status"] == "failed", log
    assert "did not run" in lane["message"], lane["message"]
    assert "[did not run:" in log
    kept = lane_dir / "services" / "store" / "stdout.log"
    assert f"store refuses to start {nonce}" in kept.read_text()
