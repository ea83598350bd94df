"""Runtime probe verdicts (pipeline.probes): measurements in, findings out."""

from __future__ import annotations

import http.server
import threading

import pytest

from pipeline.contract import Health, Shutdown
from pipeline.probes import (
    HealthAnswer,
    judge_dependency_down,
    judge_shutdown,
    judge_startup,
    poll_health,
)

HEALTH = Health(path="/health", status=200, body={"status": "healthy"}, startup_seconds=10,
                dependency_down_status=503)


def answer(status=200, body='{"status": "healthy"}', seconds=0.5):
    return HealthAnswer(url="http://x/health", status=status, body=body, seconds=seconds, attempts=1)


def ids(findings):
    return [f.rule_id for f in findings]


def test_healthy_within_budget_has_no_finding():
    assert judge_startup("api", HEALTH, answer(), start_seconds=1.0) == []


@pytest.mark.parametrize(("got", "expected"), [
    (answer(status=404, body="not found"), ["runtime.health"]),
    (answer(body='{"status": "starting"}'), ["runtime.health"]),
    (answer(body="not json"), ["runtime.health"]),
    (answer(seconds=9.5), ["runtime.startup-time"]),  # 1 s to start + 9.5 s to answer > 10 s
    (HealthAnswer("http://x/health", None, None, None, 40, "ConnectionRefusedError"), ["runtime.health"]),
])
def test_startup_findings(got, expected):
    assert ids(judge_startup("api", HEALTH, got, start_seconds=1.0)) == expected


def test_a_service_that_never_starts_is_a_startup_finding():
    found = judge_startup("api", HEALTH, None, start_seconds=15, start_error="exit code: 3")
    assert ids(found) == ["runtime.startup-time"] and "exit code: 3" in found[0].message


def test_body_contains():
    health = Health(path="/healthz", body_contains="ok")
    assert judge_startup("web", health, answer(body="ok\n"), start_seconds=0.1) == []
    assert ids(judge_startup("web", health, answer(body="nope"), start_seconds=0.1)) == ["runtime.health"]


def test_dependency_down():
    assert judge_dependency_down("api", HEALTH, answer(status=503), missing=["db"]) == []
    found = judge_dependency_down("api", HEALTH, answer(status=200), missing=["db"])
    assert ids(found) == ["runtime.dependency-down"] and "without db answered 200" in found[0].message
    assert judge_dependency_down("api", Health(), answer(status=200), missing=["db"]) == []  # not asked


def test_shutdown():
    grace = Shutdown(grace_seconds=10)
    assert judge_shutdown("api", grace, seconds=1.2) == []
    assert ids(judge_shutdown("api", grace, seconds=10.5)) == ["runtime.shutdown"]
    assert ids(judge_shutdown("api", grace, seconds=None)) == ["runtime.shutdown"]


@pytest.fixture
def server():
    calls = {"n": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            calls["n"] += 1
            status = 503 if calls["n"] < 3 else 200
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b'{"status": "healthy"}' if status == 200 else b"starting")

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/health", calls
    httpd.shutdown()


def test_poll_health_waits_for_the_expected_status(server):
    url, calls = server
    got = poll_health(url, 10, 200, interval=0.01)
    assert (got.status, got.attempts) == (200, 3) and calls["n"] == 3
    assert judge_startup("api", HEALTH, got, start_seconds=0.1) == []


def test_poll_health_gives_up_at_the_deadline():
    got = poll_health("http://127.0.0.1:9/health", 0.3, 200, interval=0.05)
    assert got.status is None and got.error and got.attempts >= 2
