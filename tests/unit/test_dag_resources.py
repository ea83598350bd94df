"""Resource classes: what a TIMED lane (runtime probes) measures never runs beside another
lane, and the time it waits for that is not counted as its work.

Overlap is observed by counting running lanes at each lane's start and end, and
every run is bounded by fail_after; no wall-clock thresholds.
"""

from __future__ import annotations

import anyio
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.dag import Graph, Lane, LaneOutcome, LaneStatus, ResourceClass, run_graph

BOUND = 10


async def start_together(group, lane, names: str, go, *args) -> None:
    """Start `lane(name, *args)` for each name; once every one holds a place and waits on
    `go`, let them all go (so they ask to measure together)."""
    from anyio import wait_all_tasks_blocked

    for name in names:
        group.start_soon(lane, name, *args)
    await wait_all_tasks_blocked()
    go.set()


class Tracker:
    """Lanes that record who else is mid-step at each of their steps. A TIMED lane takes a
    step before and after measuring, and measures inside `ctx.measuring()`."""

    def __init__(self) -> None:
        self.running: dict[str, str] = {}          # lane -> "shared" or "alone"
        self.overlaps: list[tuple[str, tuple[str, ...]]] = []

    # Which modes may not be mid-step together: a measuring lane beside anything but a
    # paused one; a shared lane beside a paused one (no lane starts while one pauses).
    CLASHES = {("alone", "alone"), ("alone", "shared"), ("shared", "alone"),
               ("shared", "paused"), ("paused", "shared")}

    async def _steps(self, name: str, mode: str, steps: int) -> None:
        self.running[name] = mode
        for _ in range(steps):
            others = tuple(n for n in self.running
                           if n != name and (mode, self.running[n]) in self.CLASHES)
            if others:
                self.overlaps.append((name, others))
            await anyio.sleep(0)
        del self.running[name]

    def lane(self, name: str, resources: ResourceClass, *, steps: int = 3,
             pause: bool = False):
        async def lane_run(ctx):
            if resources is ResourceClass.TIMED:
                await self._steps(name, "shared", 1)
                async with ctx.measuring():
                    await self._steps(name, "alone", steps)
                    if pause:
                        async with ctx.pausing():
                            await self._steps(name, "paused", steps)
                        await self._steps(name, "alone", 1)
                await self._steps(name, "shared", 1)
            else:
                await self._steps(name, "shared", steps)
            return LaneOutcome.success()
        return lane_run


async def test_a_timed_lane_runs_alone_and_shared_lanes_still_overlap():
    tracker = Tracker()
    graph = Graph([
        Lane("lint", tracker.lane("lint", ResourceClass.SHARED, steps=20)),
        Lane("unit", tracker.lane("unit", ResourceClass.SHARED, steps=20)),
        Lane("build", tracker.lane("build", ResourceClass.SHARED, steps=1)),
        Lane("probe", tracker.lane("probe", ResourceClass.TIMED), needs=("build",),
             resources=ResourceClass.TIMED),
        Lane("e2e", tracker.lane("e2e", ResourceClass.SHARED), needs=("probe",)),
    ])
    peak = 0

    async def watch():
        nonlocal peak
        while True:
            peak = max(peak, len(tracker.running))
            await anyio.sleep(0)

    with anyio.fail_after(BOUND):
        async with anyio.create_task_group() as group:
            group.start_soon(watch)
            result = await run_graph(graph)
            group.cancel_scope.cancel()
    assert all(r.status is LaneStatus.PASSED for r in result)
    assert tracker.overlaps == []
    assert peak >= 2  # lint, unit and build ran together


async def test_a_lane_waiting_to_measure_is_not_starved_by_later_lanes():
    from anyio import wait_all_tasks_blocked

    from pipeline.dag.resources import ResourceGate

    gate, order, waited = ResourceGate(), [], []
    release = anyio.Event()

    async def first():
        async with gate.hold():
            await release.wait()
            order.append("first")

    async def probe():
        async with gate.hold(), gate.alone(waited):
            order.append("probe")

    async def late():
        async with gate.hold():
            order.append("late")

    with anyio.fail_after(BOUND):
        async with anyio.create_task_group() as group:
            group.start_soon(first)
            await wait_all_tasks_blocked()
            group.start_soon(probe)       # waits to measure: `first` still runs
            await wait_all_tasks_blocked()
            group.start_soon(late)        # may not start while the probe waits
            await wait_all_tasks_blocked()
            assert order == []
            release.set()
    assert order == ["first", "probe", "late"]
    assert len(waited) == 2 and waited[0] > 0   # before measuring, and after (a place back)


async def test_time_waiting_to_measure_is_not_on_the_critical_path():
    from pipeline.dag import critical_path_of

    async def slow(ctx):
        await anyio.sleep(0.3)
        return LaneOutcome.success()

    async def probe(ctx):
        async with ctx.measuring():
            return LaneOutcome.success()

    graph = Graph([Lane("slow", slow), Lane("probe", probe, resources=ResourceClass.TIMED)])
    with anyio.fail_after(BOUND):
        result = await run_graph(graph)
    by_name = {r.name: r for r in result}
    assert by_name["probe"].waited > 0 and by_name["probe"].waited <= by_name["probe"].duration
    assert critical_path_of(result).lanes == ("slow",)


async def test_fail_fast_while_waiting_gives_the_place_back():
    async def boom(ctx):
        return LaneOutcome.failure("no")

    async def slow(ctx):
        await anyio.sleep(5)
        return LaneOutcome.success()

    async def probe(ctx):
        async with ctx.measuring():  # waits for `slow`, until fail-fast cancels it
            return LaneOutcome.success()

    graph = Graph([Lane("slow", slow), Lane("boom", boom),
                   Lane("probe", probe, resources=ResourceClass.TIMED)])
    with anyio.fail_after(BOUND):
        result = await run_graph(graph, fail_fast=True)
    statuses = {r.name: r.status for r in result}
    assert statuses["slow"] is LaneStatus.CANCELLED
    assert statuses["probe"] in (LaneStatus.CANCELLED, LaneStatus.PASSED)


async def test_a_paused_lane_lets_another_measure_but_no_lane_start():
    """Two TIMED lanes: the first to measure pauses (its service idles) until the other
    has measured, which it can only do meanwhile; a SHARED lane asking to start during
    the pause waits until both are done measuring."""

    from pipeline.dag.resources import ResourceGate

    gate, order = ResourceGate(), []
    waited: dict[str, list[float]] = {"a": [], "b": []}
    measured = {"a": anyio.Event(), "b": anyio.Event()}
    go = anyio.Event()

    async def late():
        async with gate.hold():
            order.append("late")

    async def timed(me: str, group) -> None:
        other = "b" if me == "a" else "a"
        async with gate.hold():
            await go.wait()
            async with gate.alone(waited[me]) as turn:
                order.append(f"{me} measures")
                measured[me].set()
                async with gate.pause(waited[me], turn):
                    if not measured[other].is_set():     # the first to pause
                        group.start_soon(late)
                    await measured[other].wait()   # set only if the other measures now
                order.append(f"{me} stops")

    with anyio.fail_after(BOUND):
        async with anyio.create_task_group() as group:
            await start_together(group, timed, "ab", go, group)
    assert sorted(order[:2]) == ["a measures", "b measures"]
    assert sorted(order[2:4]) == ["a stops", "b stops"] and order[4] == "late"
    # Each: to measure, back from the pause, and for its place again.
    assert len(waited["a"]) == len(waited["b"]) == 3


async def test_a_lane_cancelled_while_paused_gives_the_machine_back():
    from pipeline.dag.resources import ResourceGate

    gate, order = ResourceGate(), []

    async def a():
        with anyio.move_on_after(0.05):
            async with gate.hold(), gate.alone([]) as turn, gate.pause([], turn):
                await anyio.sleep_forever()

    async def later():
        await anyio.sleep(0.1)
        async with gate.hold(), gate.alone([]):
            order.append("measured")
        async with gate.hold():
            order.append("ran")

    with anyio.fail_after(BOUND):
        async with anyio.create_task_group() as group:
            group.start_soon(a)
            group.start_soon(later)
    assert order == ["measured", "ran"]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 3), st.booleans()), min_size=1,
                max_size=8),
       st.one_of(st.none(), st.integers(1, 3)))
def test_no_timed_lane_ever_overlaps(specs, jobs):
    tracker = Tracker()
    graph = Graph()
    for i, (timed, steps, pause) in enumerate(specs):
        resources = ResourceClass.TIMED if timed else ResourceClass.SHARED
        needs = (f"l{i - 1}",) if i and i % 3 == 0 else ()
        graph.add(Lane(f"l{i}", tracker.lane(f"l{i}", resources, steps=steps, pause=pause),
                       needs=needs, resources=resources))

    async def main():
        with anyio.fail_after(BOUND):
            return await run_graph(graph, max_concurrency=jobs)

    result = anyio.run(main)
    assert all(r.status is LaneStatus.PASSED for r in result)
    assert tracker.overlaps == []


def at_rest(gate) -> bool:
    return (gate._running, gate._alone, gate._waiting_alone, gate._returning) == (0, False, 0, 0)


async def test_a_paused_lane_has_the_machine_back_only_once_the_other_is_done_measuring():
    from anyio import wait_all_tasks_blocked

    from pipeline.dag.resources import ResourceGate

    gate, order = ResourceGate(), []
    release, go = anyio.Event(), anyio.Event()

    async def a():
        async with gate.hold():
            await go.wait()
            async with gate.alone([]) as turn:
                async with gate.pause([], turn):
                    pass                        # back at once: b measures first
                order.append("a stops")

    async def b():
        async with gate.hold():
            await go.wait()
            await anyio.sleep(0.01)             # a is alone first
            async with gate.alone([]):
                order.append("b measures")
                await release.wait()
                order.append("b measured")

    with anyio.fail_after(BOUND):
        async with anyio.create_task_group() as group:
            group.start_soon(a)
            group.start_soon(b)
            await wait_all_tasks_blocked()
            go.set()
            with anyio.fail_after(BOUND):
                while order != ["b measures"]:
                    await anyio.sleep(0.01)
            await wait_all_tasks_blocked()
            assert order == ["b measures"]      # a waits for b's measurement to end
            release.set()
    assert order == ["b measures", "b measured", "a stops"]
    assert at_rest(gate)


async def test_a_lane_back_from_its_pause_goes_before_lanes_yet_to_measure():
    """Three TIMED lanes ask to measure together: the first pauses until a second has
    measured, then stops its service before the third measures (which waited longer)."""

    from pipeline.dag.resources import ResourceGate

    gate, order, first = ResourceGate(), [], []
    go = anyio.Event()

    async def timed(name: str):
        async with gate.hold():
            await go.wait()
            async with gate.alone([]) as turn:
                order.append(f"{name} measures")
                if not first:
                    first.append(name)
                    async with gate.pause([], turn):
                        while len(order) < 2:       # until another lane has measured
                            await anyio.sleep(0.01)
                    order.append(f"{name} stops")
                else:
                    await anyio.sleep(0.05)         # the third queues to measure meanwhile

    with anyio.fail_after(BOUND):
        async with anyio.create_task_group() as group:
            await start_together(group, timed, "xyz", go)
    assert len(order) == 4 and order[2] == f"{first[0]} stops", order
    assert at_rest(gate)


async def test_no_lane_starts_while_a_lone_lane_pauses():
    from anyio import wait_all_tasks_blocked

    from pipeline.dag.resources import ResourceGate

    gate, order = ResourceGate(), []
    resume = anyio.Event()

    async def late():
        async with gate.hold():
            order.append("late")

    async def a(group):
        async with gate.hold(), gate.alone([]) as turn:
            async with gate.pause([], turn):
                group.start_soon(late)
                await resume.wait()
            order.append("a stops")

    with anyio.fail_after(BOUND):
        async with anyio.create_task_group() as group:
            group.start_soon(a, group)
            await wait_all_tasks_blocked()
            assert order == []                  # late waits while a pauses
            resume.set()
    assert order == ["a stops", "late"]
    assert at_rest(gate)


async def test_a_lane_cancelled_coming_back_from_a_pause_leaves_the_gate_at_rest():

    from pipeline.dag.resources import ResourceGate

    gate, order, first = ResourceGate(), [], []
    go, release = anyio.Event(), anyio.Event()
    scopes: dict[str, anyio.CancelScope] = {}

    async def timed(name: str):
        with anyio.CancelScope() as scope:
            scopes[name] = scope
            async with gate.hold():
                await go.wait()
                async with gate.alone([]) as turn:
                    if not first:
                        first.append(name)
                        async with gate.pause([], turn):
                            await anyio.sleep(0.01)  # back while the other measures
                        await anyio.sleep(0)     # cancelled on the way back: ends here
                        order.append(f"{name} stops")
                    else:
                        order.append(f"{name} measures")
                        await release.wait()

    with anyio.fail_after(BOUND):
        async with anyio.create_task_group() as group:
            await start_together(group, timed, "ab", go)
            while len(order) < 1:
                await anyio.sleep(0.01)
            await anyio.sleep(0.05)             # the first is waiting to come back
            scopes[first[0]].cancel()
            release.set()
    assert order == [f"{'b' if first[0] == 'a' else 'a'} measures"]
    assert at_rest(gate)
    async with gate.hold():                     # the gate still admits lanes
        pass


async def test_pausing_outside_measuring_raises_instead_of_hanging():
    async def misuse(ctx):
        async with ctx.pausing():
            pass
        return LaneOutcome.success()

    async def nested(ctx):
        async with ctx.measuring(), ctx.pausing(), ctx.pausing():
            pass
        return LaneOutcome.success()

    graph = Graph([Lane("misuse", misuse, resources=ResourceClass.TIMED),
                   Lane("nested", nested, resources=ResourceClass.TIMED),
                   Lane("after", tracker_free_lane, needs=("misuse",))])
    with anyio.fail_after(BOUND):
        result = await run_graph(graph)
    by_name = {r.name: r for r in result}
    assert by_name["misuse"].status is LaneStatus.ERRORED
    assert "pausing() is only for a lane inside measuring()" in by_name["misuse"].message
    assert by_name["nested"].status is LaneStatus.ERRORED
    assert by_name["after"].status is LaneStatus.SKIPPED


async def tracker_free_lane(ctx):
    return LaneOutcome.success()


async def test_fail_fast_while_a_lane_pauses_ends_the_run():
    async def boom(ctx):
        await anyio.sleep(0.05)
        return LaneOutcome.failure("no")

    async def probe(ctx):
        async with ctx.measuring(), ctx.pausing():
            await anyio.sleep(BOUND * 2)       # far past the bound unless cancelled
        return LaneOutcome.success()

    graph = Graph([Lane("probe", probe, resources=ResourceClass.TIMED), Lane("boom", boom)])
    with anyio.fail_after(BOUND):
        result = await run_graph(graph, fail_fast=True)
    statuses = {r.name: r.status for r in result}
    assert statuses["boom"] is LaneStatus.FAILED
    assert statuses["probe"] is LaneStatus.CANCELLED


async def test_a_lane_cancelled_while_paused_ends_without_waiting_for_the_other():
    # Its timeout or fail-fast: it neither waits for the machine back nor for its place
    # while the other lane measures (it used to, shielded, overshooting its timeout).
    from anyio import wait_all_tasks_blocked

    from pipeline.dag.resources import ResourceGate

    gate, order, first = ResourceGate(), [], []
    go, release = anyio.Event(), anyio.Event()
    scopes: dict[str, anyio.CancelScope] = {}

    async def timed(name: str):
        with anyio.CancelScope() as scope:
            scopes[name] = scope
            async with gate.hold():
                await go.wait()
                async with gate.alone([]) as turn:
                    if not first:
                        first.append(name)
                        async with gate.pause([], turn):
                            await anyio.sleep_forever()
                    else:
                        order.append(f"{name} measures")
                        await release.wait()
                        order.append(f"{name} done")
        if scope.cancel_called:
            order.append(f"{name} ended")

    with anyio.fail_after(BOUND):
        async with anyio.create_task_group() as group:
            await start_together(group, timed, "ab", go)
            while not order:
                await anyio.sleep(0.01)
            scopes[first[0]].cancel()
            await wait_all_tasks_blocked()
            other = "b" if first[0] == "a" else "a"
            assert order == [f"{other} measures", f"{first[0]} ended"]
            assert gate._alone and gate._running == 0   # the other still has the machine
            release.set()
    assert order[-1] == f"{other} done"
    assert at_rest(gate)
    async with gate.hold(), gate.alone([]):      # the gate still admits and measures
        pass


async def test_a_lane_that_catches_a_cancellation_and_measures_on_is_told():
    # Its own scope around pausing() swallows the cancellation: it has no machine back, and
    # leaving measuring() says so instead of counting what it measured alone.
    async def probe(ctx):
        async with ctx.measuring():
            with anyio.move_on_after(0.01):
                async with ctx.pausing():
                    await anyio.sleep(BOUND * 2)
        return LaneOutcome.success()

    graph = Graph([Lane("probe", probe, resources=ResourceClass.TIMED)])
    with anyio.fail_after(BOUND):
        result = await run_graph(graph)
    (probe_result,) = result
    assert probe_result.status is LaneStatus.ERRORED
    assert "went on without the machine" in probe_result.message
