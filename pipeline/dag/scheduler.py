"""The scheduler: runs a graph's lanes concurrently with anyio, as soon as their needs pass.

- A lane starts when every lane it needs has PASSED.
- A lane whose need did not pass is SKIPPED, naming that need; this propagates
  at once through every level below it.
- With ``fail_fast``, the first FAILED or ERRORED lane cancels the running lanes
  (CANCELLED) and skips every lane not yet started.
- A lane returning ``LaneOutcome(passed=False)`` is FAILED (a gate said no); a
  lane raising is ERRORED (something broke), with a one-line message.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from types import MappingProxyType
from typing import Any, Literal

import anyio
import structlog
from anyio.abc import TaskGroup

from pipeline.dag.graph import Graph, LaneContext, NeedsView
from pipeline.dag.messages import describe_exception, one_line
from pipeline.dag.resources import LaneGate, ResourceGate
from pipeline.dag.status import LaneOutcome, LaneResult, LaneStatus, RunResult
from pipeline.errors import PipelineError

log = structlog.get_logger("pipeline.dag")


@dataclass(frozen=True, slots=True)
class LaneEvent:
    """Progress: a lane started (``result`` is None) or reached a final status."""

    kind: Literal["started", "finished"]
    lane: str
    status: LaneStatus
    result: LaneResult | None = None


EventCallback = Callable[[LaneEvent], None]

_VERB = {
    LaneStatus.FAILED: "failed",
    LaneStatus.ERRORED: "errored",
    LaneStatus.SKIPPED: "was skipped",
    LaneStatus.CANCELLED: "was cancelled",
}


async def run_graph(
    graph: Graph,
    *,
    fail_fast: bool = False,
    max_concurrency: int | None = None,
    on_event: EventCallback | None = None,
) -> RunResult:
    """Run every lane of ``graph`` and return all their results, whatever happened.

    Raises GraphError (before running anything) if the graph is malformed.
    """
    if max_concurrency is not None and max_concurrency < 1:
        raise PipelineError(f"max_concurrency must be at least 1, not {max_concurrency}")
    order = graph.order()  # validates: unknown needs and cycles fail here, before any lane runs
    run = _Run(graph, fail_fast=fail_fast, max_concurrency=max_concurrency, on_event=on_event)
    started, clock = datetime.now(UTC), time.monotonic()
    await run.execute()
    return RunResult(
        results=tuple(run.results[name] for name in order),
        started=started,
        finished=datetime.now(UTC),
        duration=time.monotonic() - clock,
    )


class _Run:
    """The mutable state of one run; lives only inside ``run_graph``."""

    def __init__(
        self, graph: Graph, *, fail_fast: bool, max_concurrency: int | None,
        on_event: EventCallback | None,
    ) -> None:
        self.graph = graph
        self.fail_fast = fail_fast
        self.limiter = anyio.CapacityLimiter(max_concurrency) if max_concurrency else None
        self.gate = ResourceGate()  # what TIMED lanes measure runs with no other lane
        self.on_event = on_event
        self.results: dict[str, LaneResult] = {}
        self.unmet = {lane.name: len(lane.needs) + len(lane.after) for lane in graph}
        self.dependants: dict[str, list[str]] = {lane.name: [] for lane in graph}
        self.followers: dict[str, list[str]] = {lane.name: [] for lane in graph}  # order only
        for lane in graph:
            for need in lane.needs:
                self.dependants[need].append(lane.name)
            for before in lane.after:
                self.followers[before].append(lane.name)
        self.scopes: dict[str, anyio.CancelScope] = {}  # scheduled lanes not yet finished
        self.cancelled: set[str] = set()  # cancelled by fail-fast (not by a timeout)
        self.root_cause: dict[str, str] = {}  # non-passed lane -> the lane where trouble began
        self.tripped: str | None = None  # the lane that tripped fail-fast
        self._group: TaskGroup | None = None

    async def execute(self) -> None:
        async with anyio.create_task_group() as group:
            self._group = group
            for lane in self.graph:
                if not lane.needs and not lane.after:
                    self._schedule(lane.name)
        for lane in self.graph:  # unreachable if the bookkeeping is right; never lose a lane
            if lane.name not in self.results:
                self._finish(LaneResult(
                    name=lane.name, status=LaneStatus.ERRORED, kind=lane.kind, needs=lane.needs,
                    message="never scheduled (scheduler bug)",
                ))

    def _schedule(self, name: str) -> None:
        # The scope exists before the task starts so fail-fast can cancel a lane
        # still waiting for a concurrency slot.
        self.scopes[name] = anyio.CancelScope()
        assert self._group is not None
        self._group.start_soon(self._run_lane, name, name=f"lane {name}")

    async def _run_lane(self, name: str) -> None:
        lane = self.graph[name]
        scope = self.scopes[name]
        started: datetime | None = None
        clock = 0.0
        outcome: Any = None
        error: BaseException | None = None
        timed_out = False
        waited: list[float] = []
        with scope:
            async with (self.limiter if self.limiter else contextlib.nullcontext(),
                        self.gate.hold()):
                # Fail-fast may have tripped while this lane waited for a slot.
                if not scope.cancel_called:
                    started, clock = datetime.now(UTC), time.monotonic()
                    self._emit(LaneEvent("started", name, LaneStatus.RUNNING))
                    log.info("lane started", lane=name, kind=lane.kind)
                    context = self._context(name, waited)
                    # A cancel scope costs tens of microseconds: only lanes with a timeout get one.
                    timer = anyio.move_on_after(lane.timeout) if lane.timeout is not None else None
                    with timer or contextlib.nullcontext():
                        try:
                            outcome = await lane.run(context)
                        except Exception as exc:  # noqa: BLE001 - any lane exception is ERRORED
                            error = exc
                    timed_out = timer is not None and timer.cancelled_caught
        self.scopes.pop(name, None)
        if started is None:  # cancelled while waiting for a slot: it never ran
            self._finish(self._tripped_result(name, LaneStatus.SKIPPED))
            return
        ran = LaneResult(
            name=name, status=LaneStatus.ERRORED, kind=lane.kind, needs=lane.needs,
            started=started, finished=datetime.now(UTC), duration=time.monotonic() - clock,
            waited=sum(waited),
        )
        if name in self.cancelled:
            tripped = self._tripped_result(name, LaneStatus.CANCELLED)
            result = replace(ran, status=tripped.status, message=tripped.message,
                             skipped_because=tripped.skipped_because)
        elif timed_out:
            result = replace(ran, message=f"timed out after {lane.timeout:g}s")
        elif error is not None:
            result = replace(ran, message=describe_exception(error))
        elif not isinstance(outcome, LaneOutcome):
            result = replace(
                ran, message=f"returned {type(outcome).__name__}, not a LaneOutcome")
        else:
            result = replace(
                ran,
                status=LaneStatus.PASSED if outcome.passed else LaneStatus.FAILED,
                message=one_line(outcome.message),
                outputs=MappingProxyType(dict(outcome.outputs)),
                findings=None if outcome.findings is None
                else MappingProxyType(dict(outcome.findings)),
                tests=outcome.tests,
                junit=tuple(outcome.junit),
                reports=tuple(outcome.reports),
                log=outcome.log,
                waivers=tuple(outcome.waivers),
            )
        self._finish(result)

    def _context(self, name: str, waited: list[float]) -> LaneContext:
        reach = partial(self.graph.needed, name)
        gate = LaneGate(self.gate, waited)
        return LaneContext(
            lane=name,
            upstream=NeedsView(name, reach, lambda need: self.results[need].outputs),
            results=NeedsView(name, reach, self.results.__getitem__),
            log=log.bind(lane=name),
            measuring=gate.measuring,
            pausing=gate.pausing,
        )

    def _tripped_result(self, name: str, status: LaneStatus) -> LaneResult:
        lane = self.graph[name]
        assert self.tripped is not None
        verb = _VERB[self.results[self.tripped].status]
        self.root_cause[name] = self.tripped
        return LaneResult(
            name=name, status=status, kind=lane.kind, needs=lane.needs,
            skipped_because=self.tripped,
            message=f"fail-fast after {self.tripped!r} {verb}",
        )

    def _finish(self, result: LaneResult) -> None:
        name = result.name
        self.results[name] = result
        if result.status.is_problem:
            self.root_cause.setdefault(name, name)
        self._emit(LaneEvent("finished", name, result.status, result))
        # A lane's trouble is its result, shown by the progress line and the reports; at
        # error level it would also land, as a second and rawer line, in the progress output.
        level = {LaneStatus.PASSED: "info", LaneStatus.SKIPPED: "info"}.get(result.status, "warning")
        getattr(log, level)(
            "lane finished", lane=name, status=result.status.value,
            duration=round(result.duration, 3), message=result.message,
            skipped_because=result.skipped_because,
        )
        # Followers wait for this lane to finish, whatever its status.
        for follower in self.followers[name]:
            self._unblock(follower)
        if result.status.is_success:
            for dependant in self.dependants[name]:
                self._unblock(dependant)
            return
        self._skip_dependants(name)
        if self.fail_fast and result.status.is_problem and self.tripped is None:
            self._trip(name)

    def _unblock(self, name: str) -> None:
        self.unmet[name] -= 1
        if (self.unmet[name] == 0 and self.tripped is None and name not in self.results
                and name not in self.scopes):
            self._schedule(name)

    def _skip_dependants(self, name: str) -> None:
        """Skip each not-yet-scheduled dependant, naming ``name``; recursion reaches every level."""
        upstream = self.results[name]
        root = self.root_cause.get(name, name)
        for dependant in self.dependants[name]:
            if dependant in self.results or dependant in self.scopes:
                continue
            reason = f"needs {name!r}, which {_VERB[upstream.status]}"
            if root != name:
                reason += f" (first: {root!r} {_VERB[self.results[root].status]})"
            self.root_cause[dependant] = root
            lane = self.graph[dependant]
            self._finish(LaneResult(
                name=dependant, status=LaneStatus.SKIPPED, kind=lane.kind, needs=lane.needs,
                skipped_because=name, message=reason,
            ))

    def _trip(self, name: str) -> None:
        self.tripped = name
        for running, scope in self.scopes.items():
            self.cancelled.add(running)
            scope.cancel()
        for lane in self.graph:
            if lane.name not in self.results and lane.name not in self.scopes:
                self._finish(self._tripped_result(lane.name, LaneStatus.SKIPPED))

    def _emit(self, event: LaneEvent) -> None:
        if self.on_event is None:
            return
        # Progress output is a convenience: a broken callback (a closed pipe) must not
        # take the run, and its reports, down with it.
        try:
            self.on_event(event)
        except Exception as exc:  # noqa: BLE001
            log.warning("progress callback failed", lane=event.lane,
                        error=describe_exception(exc))
