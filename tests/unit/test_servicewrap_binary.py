"""servicewrap's `run`, built from the source the package carries, in a PID namespace of
its own whose PID 1 ends as soon as servicewrap does, as the engine's init (/.init)
does: the kernel then kills whatever is left. What a service said before it exited
must be in its files all the same, and its status and signals must be its own.
No engine: these are the wrapper's own guarantees (tests/lanes covers it in the engine).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, missing

SOURCE = ROOT / "pipeline" / "servicewrap"
# PID 1 of the namespace: starts its one child and exits with it, taking the rest along.
INIT = '"$@"; exit $?'


@pytest.fixture(scope="module")
def servicewrap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not shutil.which("go"):
        missing("go", "not on PATH (scripts/engine needs it too)")
    out = tmp_path_factory.mktemp("servicewrap") / "servicewrap"
    subprocess.run(["go", "build", "-o", str(out), "."], cwd=SOURCE, check=True,
                   env={**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"},
                   capture_output=True, timeout=300)
    return out


def start(servicewrap: Path, folder: Path, script: str) -> subprocess.Popen:
    """`sh -c script` under servicewrap, under an init that ends with it."""
    return subprocess.Popen(
        ["unshare", "--pid", "--fork", "--kill-child", "sh", "-c", INIT, "init",
         str(servicewrap), "run", str(folder), "--", "sh", "-c", script],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        start_new_session=True)


def kept(folder: Path, name: str) -> str:
    (start_dir,) = folder.iterdir()
    return (start_dir / name).read_text()


def test_what_a_service_says_as_it_exits_is_kept(servicewrap: Path, tmp_path: Path):
    # Services that say why they cannot start and exit at once, twenty at a time (the
    # loss was a race, which a loaded machine loses), one with more than a pipe holds.
    said = {i: "x" * (300_000 if i == 0 else 10) for i in range(20)}
    processes = {i: start(servicewrap, tmp_path / f"s{i}",
                          f"head -c {len(words)} /dev/zero | tr '\\0' x; echo;"
                          f" echo last words {i} >&2; echo done {i}; exit 3")
                 for i, words in said.items()}
    for i, process in processes.items():
        out, err = process.communicate(timeout=60)
        assert process.returncode == 3, err
        assert out.endswith(f"done {i}\n".encode())   # still on the container's own output
        folder = tmp_path / f"s{i}"
        assert kept(folder, "stdout.log").endswith(f"{said[i]}\ndone {i}\n"), i
        assert kept(folder, "stderr.log").endswith(f"last words {i}\n"), i


def test_the_init_signal_reaches_the_entrypoint_and_what_it_says_then_is_kept(
        servicewrap: Path, tmp_path: Path):
    process = start(servicewrap, tmp_path / "s",
                    'trap "echo stopping; exit 0" TERM; echo ready; while :; do sleep 0.05; done')
    assert process.stdout.readline() == b"ready\n"
    os.killpg(process.pid, signal.SIGTERM)   # unshare forwards it to the init's group
    process.communicate(timeout=30)
    assert process.returncode == 0
    assert kept(tmp_path / "s", "stdout.log").endswith("ready\nstopping\n")


def test_an_entrypoint_without_a_handler_dies_of_the_signal_as_it_would_unwrapped(
        servicewrap: Path, tmp_path: Path):
    process = start(servicewrap, tmp_path / "s", "echo ready; exec sleep 60")
    assert process.stdout.readline() == b"ready\n"
    started = time.monotonic()
    os.killpg(process.pid, signal.SIGTERM)
    process.communicate(timeout=30)
    assert process.returncode == 128 + signal.SIGTERM
    assert time.monotonic() - started < 30   # it did not wait for the sleep


def test_an_entrypoint_killed_by_a_signal_exits_128_plus_it(servicewrap: Path, tmp_path: Path):
    process = start(servicewrap, tmp_path / "s", "echo dying; kill -KILL $$")
    process.communicate(timeout=30)
    assert process.returncode == 128 + signal.SIGKILL
    assert kept(tmp_path / "s", "stdout.log").endswith("dying\n")


def test_an_entrypoint_that_cannot_run_says_why_in_its_kept_stderr(
        servicewrap: Path, tmp_path: Path):
    folder = tmp_path / "s"
    process = subprocess.run(
        ["unshare", "--pid", "--fork", "--kill-child", "sh", "-c", INIT, "init",
         str(servicewrap), "run", str(folder), "--", "/no/such/entrypoint"],
        capture_output=True, timeout=30, start_new_session=True)
    assert process.returncode == 127
    assert "servicewrap: exec /no/such/entrypoint" in kept(folder, "stderr.log")
