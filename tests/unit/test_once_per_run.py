"""Dependencies' health checks and init steps happen once per run, whichever lane asks first.

Lanes run concurrently and share the dependency instances, so the second asker waits
for the first one's result (and its failure is theirs too, noted in their log).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from types import SimpleNamespace

import anyio
import pytest

from pipeline.contract import load_contract
from pipeline.lanes.context import RunContext
from pipeline.lanes.dependencies import NotReady, Preparer, _once
from pipeline.lanes.source import Source


def context(tmp_path: Path) -> RunContext:
    (tmp_path / "pipeline.toml").write_text('[services.api]\ncontext = "."\nport = 80\n')
    return RunContext(source=Source.local(tmp_path), contract=load_contract(tmp_path / "pipeline.toml"),
                      scratch=tmp_path, run_id="t")


def test_concurrent_askers_share_one_execution(tmp_path: Path) -> None:
    ctx, calls = context(tmp_path), []

    async def make() -> None:
        calls.append("ran")
        await anyio.sleep(0.05)   # the others ask while this one is still running

    async def main() -> None:
        async with anyio.create_task_group() as group:
            for _ in range(3):
                group.start_soon(_once, ctx, "init:api", make)
        await _once(ctx, "init:api", make)       # and one after it finished

    anyio.run(main)
    assert calls == ["ran"]


def test_a_failure_is_every_askers_and_noted_in_their_logs(tmp_path: Path) -> None:
    ctx, log = context(tmp_path), tmp_path / "output.log"

    async def make() -> None:
        raise NotReady("init step 0 of api `migrate` exited 1: relation missing")

    async def main() -> list[str]:
        seen = []
        for lane_log in (None, log):
            try:
                await _once(ctx, "init:api", make, lane_log)
            except NotReady as exc:
                seen.append(str(exc))
        return seen

    seen = anyio.run(main)
    assert seen == ["init step 0 of api `migrate` exited 1: relation missing"] * 2
    assert "init:api: failed earlier in this run: init step 0" in log.read_text()


def test_runs_do_not_share_results(tmp_path: Path) -> None:
    calls: list[str] = []

    async def make() -> None:
        calls.append("ran")

    for run in (context(tmp_path / "a"), context(tmp_path / "b")):
        anyio.run(_once, run, "dependency:db", make)
    assert calls == ["ran", "ran"]


@pytest.fixture(autouse=True)
def _dirs(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()


class _Recording(Preparer):
    """The Preparer's choices, without an engine: what it starts and what it runs."""

    def __init__(self, ctx: RunContext) -> None:
        super().__init__(SimpleNamespace(ctx=ctx))  # type: ignore[arg-type]
        self.done: list[str] = []

    async def _dependency(self, name: str) -> None:
        self.done.append(f"start {name}")

    async def _init(self, name: str) -> None:
        self.done.append(f"init {name}")


PREPARED = """\
[images]
py = "python:3.11"
[dependencies.db]
image = "py"
port = 5432
[dependencies.cache]
image = "py"
port = 6379
health = { command = ["true"] }
[services.api]
context = "."
port = 80
runtime = { depends_on = ["db", "cache"] }
[services.worker]
context = "."
port = 81
runtime = { depends_on = ["db"], init = [["migrate"]] }
[services.web]
context = "."
port = 82
runtime = { depends_on = ["api"], init = [["seed"]] }
"""


@pytest.mark.parametrize(("names", "hold", "done"), [
    # db has no health check and nothing above it has init steps: the engine starts it
    # with the exec that binds it (so a lane answered from the cache starts nothing).
    (["api"], False, ["start cache"]),
    # A lane of several steps: the engine would start db afresh for each.
    (["api"], True, ["start db", "start cache"]),
    # An init step's effects must still be there when the lane runs: what it talks to
    # is started ahead and held, however far below it is.
    (["worker"], False, ["start db", "init worker"]),
    (["web"], False, ["start db", "start cache", "init web"]),
])
def test_only_what_must_be_ready_first_is_started_ahead(
        tmp_path: Path, names: list[str], hold: bool, done: list[str]) -> None:
    (tmp_path / "pipeline.toml").write_text(PREPARED)
    ctx = RunContext(source=Source.local(tmp_path), scratch=tmp_path, run_id="t",
                     contract=load_contract(tmp_path / "pipeline.toml"))
    preparer = _Recording(ctx)
    anyio.run(partial(preparer.prepare, names, hold=hold))
    assert preparer.done == done


def test_a_cancelled_first_asker_leaves_no_result(tmp_path: Path) -> None:
    # Its lane timed out mid-step: the step did not happen, so a waiter must not go on
    # as if it had; it runs the step itself.
    ctx, calls, finished = context(tmp_path), [], []

    async def main() -> None:
        started, scope = anyio.Event(), anyio.CancelScope()

        async def make() -> None:
            calls.append("ran")
            if len(calls) == 1:
                started.set()
                await anyio.sleep(30)        # cancelled here

        async def first() -> None:
            with scope:
                await _once(ctx, "init:api", make)

        async def second() -> None:
            await _once(ctx, "init:api", make)
            finished.append("second")

        async with anyio.create_task_group() as group:
            group.start_soon(first)
            await started.wait()
            group.start_soon(second)
            await anyio.sleep(0.05)          # the second waits on the first
            scope.cancel()

    anyio.run(main)
    assert calls == ["ran", "ran"]
    assert finished == ["second"]
