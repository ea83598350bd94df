"""Resource classes: a TIMED lane (runtime probes) never runs beside another lane.

Overlap is observed by counting running lanes at each lane's start and end, and
every run is bounded by fail_after; no wall-clock thresholds.
"""

from __future__ import annotations

import anyio
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.dag import Graph, Lane, LaneOutcome, LaneStatus, ResourceClass, run_graph

BOUND = 10


class Tracker:
    def __init__(self) -> None:
        self.running: dict[str, ResourceClass] = {}
        self.overlaps: list[tuple[str, tuple[str, ...]]] = []

    def lane(self, name: str, resources: ResourceClass, *, steps: int = 3):
        async def lane_run(ctx):
            self.running[name] = resources
            for _ in range(steps):
                others = tuple(n for n in self.running if n != name)
                timed = resources is ResourceClass.TIMED or any(
                    self.running[n] is ResourceClass.TIMED for n in others)
                if timed and others:
                    self.overlaps.append((name, others))
                await anyio.sleep(0)
            del self.running[name]
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


async def test_a_waiting_timed_lane_is_not_starved_by_later_shared_lanes():
    order: list[str] = []
    release = anyio.Event()

    async def first(ctx):
        order.append("first")
        await release.wait()
        return LaneOutcome.success()

    def note(name):
        async def lane_run(ctx):
            order.append(name)
            if name == "probe":
                release.set()
            return LaneOutcome.success()
        return lane_run

    async def opener(ctx):  # starts the probe while `first` still runs
        return LaneOutcome.success()

    graph = Graph([
        Lane("first", first),
        Lane("opener", opener),
        Lane("probe", note("probe"), needs=("opener",), resources=ResourceClass.TIMED),
        Lane("late", note("late"), needs=("opener",)),
    ])

    async def unblock():
        # `first` only ends once the probe has run, unless the gate let `late` in first;
        # then this releases it so the test fails on the order, not by hanging.
        await anyio.sleep(1)
        release.set()

    with anyio.fail_after(BOUND):
        async with anyio.create_task_group() as group:
            group.start_soon(unblock)
            await run_graph(graph)
            group.cancel_scope.cancel()
    # The probe cannot run beside `first`; `late` may not jump the queue while it waits.
    assert order.index("probe") < order.index("late")


async def test_fail_fast_while_waiting_gives_the_place_back():
    async def boom(ctx):
        return LaneOutcome.failure("no")

    async def slow(ctx):
        await anyio.sleep(5)
        return LaneOutcome.success()

    graph = Graph([Lane("slow", slow), Lane("boom", boom),
                   Lane("probe", boom, resources=ResourceClass.TIMED)])
    with anyio.fail_after(BOUND):
        result = await run_graph(graph, fail_fast=True)
    assert {r.name: r.status for r in result}["slow"] is LaneStatus.CANCELLED


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 3)), min_size=1, max_size=8),
       st.one_of(st.none(), st.integers(1, 3)))
def test_no_timed_lane_ever_overlaps(specs, jobs):
    tracker = Tracker()
    graph = Graph()
    for i, (timed, steps) in enumerate(specs):
        resources = ResourceClass.TIMED if timed else ResourceClass.SHARED
        needs = (f"l{i - 1}",) if i and i % 3 == 0 else ()
        graph.add(Lane(f"l{i}", tracker.lane(f"l{i}", resources, steps=steps), needs=needs,
                       resources=resources))

    async def main():
        with anyio.fail_after(BOUND):
            return await run_graph(graph, max_concurrency=jobs)

    result = anyio.run(main)
    assert all(r.status is LaneStatus.PASSED for r in result)
    assert tracker.overlaps == []
