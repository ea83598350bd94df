"""scripts/engine names the cause of a failure in one line and leaves nothing started."""

from __future__ import annotations

import os
import socket
import subprocess
import time

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.engine

# The engine process inside its root filesystem, as scripts/engine's supervisor starts it.
ENGINE_CMD = ("/usr/local/bin/dagger-engine --config /etc/dagger/engine.toml "
              "--addr unix:///run/dagger/engine.sock")


def test_registry_port_in_use_is_one_line_naming_the_owner(engine_env, tmp_path):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    env = {**os.environ, "PIPELINE_REGISTRY": f"127.0.0.1:{port}",
           "PIPELINE_STATE_DIR": str(tmp_path / "state"), "PIPELINE_RUN_DIR": str(tmp_path / "run")}
    try:
        result = subprocess.run([str(ROOT / "scripts/engine"), "up"], env=env, capture_output=True,
                                text=True, timeout=600)
    finally:
        busy.close()
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1, result.stderr
    assert f"port {port} is in use by" in errors[0] and "pid" in errors[0], errors[0]
    # Nothing was started for this state dir: no registry, no engine.
    assert not (tmp_path / "run" / "registry.pid").exists()
    assert not (tmp_path / "run" / "engine.pid").exists()


def test_status_and_env(engine_env):
    status = subprocess.run([str(ROOT / "scripts/engine"), "status"], capture_output=True, text=True)
    assert status.returncode == 0 and "engine: v0.19" in status.stdout, status.stdout
    # The builtin SDK content is loaded: `dagger call` works (tests/module run it).
    assert "sdk: go and python content loaded" in status.stdout, status.stdout
    env = subprocess.run([str(ROOT / "scripts/engine"), "env"], capture_output=True, text=True).stdout
    for name in ("_EXPERIMENTAL_DAGGER_RUNNER_HOST", "_EXPERIMENTAL_DAGGER_CLI_BIN",
                 "DAGGER_NO_UPDATE_CHECK=1", "DO_NOT_TRACK=1", "PIPELINE_REGISTRY"):
        assert name in env


def test_a_second_up_is_near_instant(engine_env):
    result = subprocess.run([str(ROOT / "scripts/engine"), "up"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "building" not in result.stderr, result.stderr  # nothing rebuilt


@pytest.mark.restarts_engine
def test_a_crashed_engine_is_restarted(engine_env):
    """A client request that panics the engine (v0.19.10 has such bugs) must not end every
    later session: the engine's supervisor loop starts it again, and says so in its log."""
    found = subprocess.run(["pgrep", "-f", "-x", ENGINE_CMD], capture_output=True, text=True)
    pids = found.stdout.split()
    assert len(pids) == 1, found
    subprocess.run(["kill", "-KILL", pids[0]], check=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        again = subprocess.run(["pgrep", "-f", "-x", ENGINE_CMD], capture_output=True, text=True)
        status = subprocess.run([str(ROOT / "scripts/engine"), "status"], capture_output=True,
                                text=True)
        if again.stdout.split() not in ([], pids) and status.returncode == 0:
            break
        time.sleep(1)
    assert status.returncode == 0, status.stdout
    log = subprocess.run([str(ROOT / "scripts/engine"), "logs"], capture_output=True, text=True)
    assert "dagger-engine exited with 137: restarting" in log.stdout
