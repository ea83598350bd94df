"""The anyio scheduler: concurrency, skip propagation, fail-fast, failed vs errored.

Overlap is proven with anyio events (a lane waits for its sibling to have started),
never with wall-clock thresholds; every run is bounded by fail_after so a broken
scheduler fails the test instead of hanging it.
"""

from __future__ import annotations

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.dag import (
    Graph,
    Lane,
    LaneEvent,
    LaneOutcome,
    LaneStatus,
    critical_path_of,
    run_graph,
)
from pipeline.errors import GraphError, RegistryError

BOUND = 10  # seconds: only reached if the scheduler is broken


async def run(graph: Graph, **kwargs):
    with anyio.fail_after(BOUND):
        return await run_graph(graph, **kwargs)


def outcomes(result) -> dict[str, tuple[str, str | None, str]]:
    """Lane name -> (status, the lane it was skipped because of, message): one row a lane."""
    return {r.name: (r.status.value, r.skipped_because, r.message) for r in result}


def passing(**outputs):
    async def lane_run(ctx):
        return LaneOutcome.success("ok", outputs=outputs)
    return lane_run


def failing(message="gate said no"):
    async def lane_run(ctx):
        return LaneOutcome.failure(message)
    return lane_run


def raising(exc: BaseException):
    async def lane_run(ctx):
        raise exc
    return lane_run


async def test_independent_lanes_overlap():
    started = {"a": anyio.Event(), "b": anyio.Event()}

    def meets(me: str, other: str):
        async def lane_run(ctx):
            started[me].set()
            # Only returns if the other lane is running at the same time.
            with anyio.fail_after(2):
                await started[other].wait()
            return LaneOutcome.success()
        return lane_run

    result = await run(Graph([Lane("a", meets("a", "b")), Lane("b", meets("b", "a"))]))
    assert [r.status for r in result] == [LaneStatus.PASSED, LaneStatus.PASSED]


@pytest.mark.parametrize(("limit", "expected_peak"), [(None, 4), (2, 2), (1, 1)])
async def test_max_concurrency_caps_running_lanes(limit, expected_peak):
    running = 0
    peak = 0

    async def lane_run(ctx):
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        for _ in range(5):  # yield so that siblings get a chance to start
            await anyio.sleep(0)
        running -= 1
        return LaneOutcome.success()

    graph = Graph([Lane(f"lane:{index}", lane_run) for index in range(4)])
    result = await run(graph, max_concurrency=limit)
    assert result.exit_code == 0 and peak == expected_peak


async def test_a_lane_starts_only_after_its_needs_and_receives_their_outputs():
    order: list[str] = []

    async def build(ctx):
        await anyio.sleep(0.01)
        order.append("build:backend")
        return LaneOutcome.success(outputs={"digest": "sha256:abc"})

    async def contract(ctx):
        order.append("contract:backend")
        assert ctx.results["build:backend"].status is LaneStatus.PASSED
        return LaneOutcome.success(outputs={"seen": ctx.upstream["build:backend"]["digest"]})

    graph = Graph([
        Lane("contract:backend", contract, needs=("build:backend",)),
        Lane("build:backend", build),
    ])
    result = await run(graph)
    assert order == ["build:backend", "contract:backend"]
    assert result["contract:backend"].outputs == {"seen": "sha256:abc"}
    # Results come in topological order, not declaration or completion order.
    assert [r.name for r in result] == ["build:backend", "contract:backend"]


async def test_reading_an_undeclared_lane_or_output_errors_the_lane():
    async def nosy(ctx):
        return LaneOutcome.success(outputs={"x": ctx.upstream["b"]})

    graph = Graph([Lane("a", passing(digest="d")), Lane("b", passing()),
                   Lane("nosy", nosy, needs=("a",))])
    result = await run(graph)
    assert result["nosy"].status is LaneStatus.ERRORED
    assert result["nosy"].message == "lane 'nosy' reads 'b', which it does not need"


async def test_skips_propagate_through_levels_naming_the_direct_upstream():
    graph = Graph([
        Lane("build:backend", failing("Dockerfile stage runtime failed")),
        Lane("side", passing()),
        Lane("contract:backend", passing(), needs=("build:backend",)),
        Lane("integration", passing(), needs=("contract:backend", "side")),
        Lane("publish", passing(), needs=("side", "integration")),
    ])
    result = await run(graph)
    assert outcomes(result) == {
        "build:backend": ("failed", None, "Dockerfile stage runtime failed"),
        "side": ("passed", None, "ok"),
        "contract:backend": ("skipped", "build:backend", "needs 'build:backend', which failed"),
        "integration": ("skipped", "contract:backend",
                        "needs 'contract:backend', which was skipped (first: 'build:backend' failed)"),
        "publish": ("skipped", "integration",
                    "needs 'integration', which was skipped (first: 'build:backend' failed)"),
    }
    assert result["publish"].started is None and result["publish"].duration == 0.0
    assert result.status is LaneStatus.FAILED and result.exit_code == 1


async def test_errored_is_not_failed():
    graph = Graph([
        Lane("gate", failing("3 findings")),
        Lane("broken", raising(RuntimeError("boom\nTraceback line 2"))),
        Lane("registry", raising(RegistryError("127.0.0.1:5000: connection refused"))),
        Lane("group", raising(ExceptionGroup("several", [ValueError("first"), KeyError("k")]))),
        Lane("leaky", raising(OSError("cannot reach postgresql://app:hunter2@db:5432/app"))),
        Lane("forgot", lambda ctx: _returns(None)),
    ])
    result = await run(graph)
    assert result["gate"].status is LaneStatus.FAILED
    assert result["gate"].message == "3 findings"
    assert result["broken"].status is LaneStatus.ERRORED
    assert result["broken"].message == "RuntimeError: boom [...]"
    assert result["registry"].message == "127.0.0.1:5000: connection refused"
    assert result["group"].message == "ValueError: first"
    assert result["leaky"].message == "OSError: cannot reach postgresql://app:***@db:5432/app"
    assert "hunter2" not in repr(result)
    assert result["forgot"].status is LaneStatus.ERRORED
    assert result["forgot"].message == "returned NoneType, not a LaneOutcome"
    assert result.status is LaneStatus.ERRORED and result.exit_code == 2


async def _returns(value):
    return value


async def test_timeout_errors_the_lane():
    async def hangs(ctx):
        await anyio.sleep_forever()

    result = await run(Graph([Lane("e2e", hangs, timeout=0.05), Lane("after", passing(),
                                                                       needs=("e2e",))]))
    assert result["e2e"].status is LaneStatus.ERRORED
    assert result["e2e"].message == "timed out after 0.05s"
    assert result["after"].skipped_because == "e2e"
    assert result["after"].message == "needs 'e2e', which errored"


def _fail_fast_graph(long_started: anyio.Event, release_failure: anyio.Event) -> Graph:
    async def long(ctx):
        long_started.set()
        await anyio.sleep_forever()

    async def fails_once_long_runs(ctx):
        await release_failure.wait()
        return LaneOutcome.failure("lint found 2 errors")

    return Graph([
        Lane("lint:backend", fails_once_long_runs),
        Lane("build:backend", long),
        Lane("queued", passing()),  # waits for a slot (max_concurrency=2), never starts
        Lane("contract:backend", passing(), needs=("build:backend",)),
        Lane("publish", passing(), needs=("lint:backend", "contract:backend")),
    ])


async def test_fail_fast_cancels_running_and_skips_the_rest():
    long_started, release = anyio.Event(), anyio.Event()
    graph = _fail_fast_graph(long_started, release)

    async def trigger():
        await long_started.wait()
        release.set()

    async with anyio.create_task_group() as group:
        group.start_soon(trigger)
        result = await run(graph, fail_fast=True, max_concurrency=2)
    tripped = ("lint:backend", "fail-fast after 'lint:backend' failed")
    assert outcomes(result) == {
        "lint:backend": ("failed", None, "lint found 2 errors"),
        "build:backend": ("cancelled", *tripped),
        "queued": ("skipped", *tripped),
        "contract:backend": ("skipped", *tripped),
        "publish": ("skipped", "lint:backend", "needs 'lint:backend', which failed"),
    }
    assert result["build:backend"].started is not None and result["queued"].started is None
    assert result.exit_code == 1


async def test_without_fail_fast_other_lanes_finish():
    events: list[str] = []

    async def slow(ctx):
        await anyio.sleep(0.02)
        events.append("slow done")
        return LaneOutcome.success()

    graph = Graph([Lane("fails", failing()), Lane("slow", slow),
                   Lane("after-slow", passing(), needs=("slow",))])
    result = await run(graph)
    assert events == ["slow done"]
    assert result["after-slow"].status is LaneStatus.PASSED
    assert result["fails"].status is LaneStatus.FAILED


async def test_errored_lane_trips_fail_fast_too():
    async def waits(ctx):
        await anyio.sleep_forever()

    graph = Graph([Lane("waits", waits), Lane("broken", raising(RuntimeError("x")))])
    result = await run(graph, fail_fast=True)
    assert result["waits"].status is LaneStatus.CANCELLED
    assert result["waits"].message == "fail-fast after 'broken' errored"


async def test_events_report_start_and_finish():
    events: list[LaneEvent] = []
    graph = Graph([Lane("a", failing()), Lane("b", passing(), needs=("a",))])
    await run(graph, on_event=events.append)
    assert [(e.kind, e.lane, e.status) for e in events] == [
        ("started", "a", LaneStatus.RUNNING),
        ("finished", "a", LaneStatus.FAILED),
        ("finished", "b", LaneStatus.SKIPPED),
    ]
    assert events[1].result is not None and events[1].result.status is LaneStatus.FAILED


async def test_bad_graph_runs_nothing():
    called = []

    async def lane_run(ctx):
        called.append(ctx.lane)
        return LaneOutcome.success()

    with pytest.raises(GraphError, match="needs unknown lane 'ghost'"):
        await run(Graph([Lane("a", lane_run), Lane("b", lane_run, needs=("ghost",))]))
    assert called == []


async def test_passed_run_and_durations():
    async def naps(ctx):
        await anyio.sleep(0.01)
        return LaneOutcome.success()

    result = await run(Graph([Lane("a", naps), Lane("b", naps, needs=("a",))]))
    assert result.exit_code == 0
    assert all(r.duration >= 0.01 and r.finished >= r.started for r in result)
    assert result.duration >= result["a"].duration + result["b"].duration


async def test_empty_graph_passes():
    result = await run(Graph())
    assert result.exit_code == 0 and len(result) == 0


# Random DAGs: whatever lanes do, the scheduler's invariants hold.
_BEHAVIOURS = st.sampled_from(["pass", "fail", "raise"])


@st.composite
def dags(draw):
    size = draw(st.integers(min_value=1, max_value=8))
    lanes = []
    for index in range(size):
        needs = draw(st.sets(st.integers(0, index - 1), max_size=3)) if index else set()
        lanes.append((f"l:{index}", tuple(f"l:{n}" for n in sorted(needs)), draw(_BEHAVIOURS)))
    return lanes, draw(st.booleans())


@settings(max_examples=60, deadline=None)
@given(dags())
def test_invariants_on_random_graphs(spec):
    lanes, fail_fast = spec
    behaviour = {"pass": passing(), "fail": failing(), "raise": raising(RuntimeError("x"))}
    graph = Graph([Lane(name, behaviour[kind], needs=needs) for name, needs, kind in lanes])
    result = anyio.run(lambda: run_graph(graph, fail_fast=fail_fast))
    assert [r.name for r in result] == list(graph.order())
    problems = [r.name for r in result if r.status.is_problem]
    for r in result:
        assert r.status not in (LaneStatus.PENDING, LaneStatus.RUNNING)  # every lane final
        needs_ok = all(result[need].status is LaneStatus.PASSED for need in r.needs)
        if r.status in (LaneStatus.SKIPPED, LaneStatus.CANCELLED):
            # Names the need that did not pass, or the lane that tripped fail-fast.
            because = r.skipped_because
            assert because is not None
            assert (because in r.needs and not result[because].status.is_success) or (
                fail_fast and because == problems[0]
            )
        else:
            assert needs_ok, r  # ran only because every need passed
        if not fail_fast:
            expected = {"pass": LaneStatus.PASSED, "fail": LaneStatus.FAILED,
                        "raise": LaneStatus.ERRORED}
            kind = next(k for n, _, k in lanes if n == r.name)
            assert r.status is (expected[kind] if needs_ok else LaneStatus.SKIPPED)
    if fail_fast:
        assert len(problems) <= 1  # the first problem cancels or skips everything else


async def test_a_broken_progress_callback_does_not_stop_the_run():
    def broken(event):
        raise BrokenPipeError(32, "Broken pipe")

    result = await run(Graph([Lane("a", passing()), Lane("b", passing(), needs=("a",))]),
                       on_event=broken)
    assert result.exit_code == 0


async def test_critical_path_of_a_finished_run():
    async def naps(ctx):
        await anyio.sleep(0.2 if ctx.lane == "slow" else 0.0)  # a margin a loaded CI keeps
        return LaneOutcome.success()

    graph = Graph([Lane("fast", naps), Lane("slow", naps), Lane("join", naps,
                                                                 needs=("fast", "slow"))])
    result = await run(graph)
    path = critical_path_of(result)
    assert path.lanes == ("slow", "join")
    assert path.duration == pytest.approx(result["slow"].duration + result["join"].duration)
    assert path.duration <= result.duration


def test_status_predicates():
    assert [s for s in LaneStatus if s.is_success] == [LaneStatus.PASSED]
    assert {s for s in LaneStatus if s.is_problem} == {LaneStatus.FAILED, LaneStatus.ERRORED}


async def test_a_lane_reads_outputs_of_what_its_needs_need():
    """A test lane gated on contract lanes still reads the images their builds made, once."""
    async def reads(ctx):
        return LaneOutcome.success(outputs={"seen": ctx.upstream["build"]["digest"],
                                            "lanes": ",".join(ctx.upstream)})

    graph = Graph([Lane("build", passing(digest="sha256:abc")),
                   Lane("contract", passing(), needs=("build",)),
                   Lane("side", passing()),
                   Lane("integration", reads, needs=("contract",), after=("side",))])
    result = await run(graph)
    assert dict(result["integration"].outputs) == {"seen": "sha256:abc", "lanes": "contract,build"}
