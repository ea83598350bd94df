"""servicewrap's `run`, built from the source the package carries, under the engine's own
init (the dagger-init scripts/engine builds, run as /.init, as the engine runs it) as PID 1
of a PID namespace of its own: when servicewrap exits the init exits, and the kernel kills
whatever is left. What a service said before it exited must be in its files all the same,
and signals and exit codes must reach it and come from it as under the init alone.
No engine session: these are the wrapper's own guarantees (tests/lanes runs it in the engine).
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


@pytest.fixture(scope="module")
def servicewrap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not shutil.which("go"):
        missing("go", "not on PATH (scripts/engine needs it too)")
    out = tmp_path_factory.mktemp("servicewrap") / "servicewrap"
    subprocess.run(["go", "build", "-o", str(out), "."], cwd=SOURCE, check=True,
                   env={**os.environ, "CGO_ENABLED": "0"}, capture_output=True, timeout=300)
    return out


@pytest.fixture(scope="module")
def init() -> Path:
    cli = os.environ.get("_EXPERIMENTAL_DAGGER_CLI_BIN")
    found = Path(cli).parent / "dagger-init" if cli else None
    if found is None or not found.is_file():
        missing("dagger-init", 'built by scripts/engine: run `scripts/engine up` and '
                '`eval "$(scripts/engine env)"`')
    probe = subprocess.run(["unshare", "--pid", "--fork", "true"], capture_output=True)
    if probe.returncode != 0:
        missing("unshare --pid", probe.stderr.decode(errors="replace").strip())
    return found


STARTED: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _no_leftovers():
    """A failed test leaves no service running: SIGKILL to unshare takes the namespace
    down with it (--kill-child)."""
    yield
    while STARTED:
        process = STARTED.pop()
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def start(init: Path, servicewrap: Path, folder: Path, *command: str) -> subprocess.Popen:
    """`command` under servicewrap, under /.init as PID 1 of a new PID namespace."""
    process = subprocess.Popen(
        ["unshare", "--pid", "--fork", "--kill-child",
         "bash", "-c", 'exec -a /.init "$0" "$@"', str(init),
         str(servicewrap), "run", str(folder), "--", *command],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    STARTED.append(process)
    return process


def sh(init: Path, servicewrap: Path, folder: Path, script: str) -> subprocess.Popen:
    return start(init, servicewrap, folder, "sh", "-c", script)


def child_of(pid: int) -> int:
    for _ in range(10_000):
        # Per thread: a Go program forks from any of its threads.
        for children in Path(f"/proc/{pid}/task").glob("*/children"):
            try:
                pids = children.read_text().split()
            except OSError:        # a thread that ended meanwhile
                continue
            if pids:
                return int(pids[0])
        time.sleep(0.001)
    raise AssertionError(f"process {pid} started no child")


def stop(process: subprocess.Popen, *, once_wrapped: bool = False) -> None:
    """SIGTERM to the init, as the engine's stop sends it (unshare itself ignores it);
    `once_wrapped`: as soon as the init has started servicewrap."""
    init = child_of(process.pid)
    if once_wrapped:
        child_of(init)
    os.kill(init, signal.SIGTERM)


def kept(folder: Path, name: str) -> str:
    (start_dir,) = folder.iterdir()
    return (start_dir / name).read_text()


def test_what_a_service_says_as_it_exits_is_kept(init: Path, servicewrap: Path, tmp_path: Path):
    # Services that say why they cannot start and exit at once, twenty at a time (the
    # loss was a race, which a loaded machine loses), one with more than a pipe holds.
    said = {i: "x" * (300_000 if i == 0 else 10) for i in range(20)}
    processes = {i: sh(init, servicewrap, tmp_path / f"s{i}",
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


def test_the_stop_signal_reaches_the_entrypoint_and_what_it_says_then_is_kept(
        init: Path, servicewrap: Path, tmp_path: Path):
    process = sh(init, servicewrap, tmp_path / "s",
                 'trap "echo stopping; exit 0" TERM; echo ready; while :; do sleep 0.05; done')
    assert process.stdout.readline() == b"ready\n"
    stop(process)
    process.communicate(timeout=30)
    assert process.returncode == 0
    assert kept(tmp_path / "s", "stdout.log").endswith("ready\nstopping\n")


def test_an_entrypoint_without_a_handler_dies_of_the_stop_signal(
        init: Path, servicewrap: Path, tmp_path: Path):
    process = sh(init, servicewrap, tmp_path / "s", "echo ready; exec sleep 60")
    assert process.stdout.readline() == b"ready\n"
    stopped = time.monotonic()
    stop(process)
    process.communicate(timeout=90)
    assert process.returncode == 128 + signal.SIGTERM
    assert time.monotonic() - stopped < 30, "the signal never reached the sleep (60 s)"
    assert kept(tmp_path / "s", "stdout.log").endswith("ready\n")


def test_a_stop_signal_sent_as_the_service_starts_is_not_lost(
        init: Path, servicewrap: Path, tmp_path: Path):
    # As soon as the init has started servicewrap, mostly before servicewrap has started
    # the entrypoint: the signal waits for it (once, servicewrap dropped it, and the
    # service ran on until the engine's SIGKILL).
    started = time.monotonic()
    processes = [start(init, servicewrap, tmp_path / f"s{i}", "sleep", "30") for i in range(10)]
    for process in processes:
        stop(process, once_wrapped=True)
    for process in processes:
        process.communicate(timeout=90)
        # 143: the sleep died of it; 2: servicewrap did, before it could catch signals
        # (as Go programs do). Never 0, the sleep running out.
        assert process.returncode in (128 + signal.SIGTERM, 2), process.returncode
    assert time.monotonic() - started < 25, "a sleep ran out (30 s)"


def test_the_entrypoint_leads_its_own_group_as_under_the_init(
        init: Path, servicewrap: Path, tmp_path: Path):
    process = sh(init, servicewrap, tmp_path / "s", 'kill -0 -$$ && echo "leads its group"')
    out, _ = process.communicate(timeout=30)
    assert process.returncode == 0 and out == b"leads its group\n"


def test_the_exit_does_not_wait_for_what_the_entrypoint_left_behind(
        init: Path, servicewrap: Path, tmp_path: Path):
    # A child that ignores SIGTERM and holds the pipes: the init alone ends the container
    # at once, and so must the wrapper, keeping what was said.
    process = sh(init, servicewrap, tmp_path / "s",
                 '(trap "" TERM; exec sleep 20) & echo started; exit 4')
    started = time.monotonic()
    process.communicate(timeout=60)
    assert process.returncode == 4
    assert time.monotonic() - started < 15, "it waited for the sleep (20 s)"
    assert kept(tmp_path / "s", "stdout.log").endswith("started\n")


def test_an_entrypoint_killed_by_a_signal_exits_128_plus_it(
        init: Path, servicewrap: Path, tmp_path: Path):
    process = sh(init, servicewrap, tmp_path / "s", "echo dying; kill -KILL $$")
    process.communicate(timeout=30)
    assert process.returncode == 128 + signal.SIGKILL
    assert kept(tmp_path / "s", "stdout.log").endswith("dying\n")


def test_an_entrypoint_that_cannot_run_says_why_in_its_kept_stderr(
        init: Path, servicewrap: Path, tmp_path: Path):
    process = start(init, servicewrap, tmp_path / "s", "/no/such/entrypoint")
    process.communicate(timeout=30)
    assert process.returncode == 127
    assert "servicewrap: exec /no/such/entrypoint" in kept(tmp_path / "s", "stderr.log")
