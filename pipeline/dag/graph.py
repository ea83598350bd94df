"""Lanes and the graph they form: declaration, validation, order, critical path.

Lanes are declared with the lanes they need; names may carry a colon for lanes
generated per service ("build:backend"). Validation errors are one line naming
the lanes at fault.
"""

from __future__ import annotations

import collections
import contextlib
import graphlib
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline.dag.resources import ResourceClass
from pipeline.dag.status import LaneOutcome, LaneResult, RunResult
from pipeline.errors import GraphError, LaneError

if TYPE_CHECKING:
    from structlog.typing import FilteringBoundLogger

# Colons, dots, slashes and dashes let callers namespace lanes ("contract:backend").
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9:._/@+-]*")


class NeedsView(Mapping[str, Any]):
    """Read-only view of the values of the lanes a lane needs, directly or through its other
    needs (they all passed, or it would not run): a lane reads an image built two levels up
    without a direct need on its build. Asking for any other lane is a bug, said plainly.

    The lanes in view are found on first use, so lanes that read nothing cost nothing.
    """

    def __init__(self, lane: str, reach: Callable[[], Iterable[str]],
                 value: Callable[[str], Any]) -> None:
        self._lane, self._reach, self._value = lane, reach, value
        self._names: tuple[str, ...] | None = None

    @property
    def _known(self) -> tuple[str, ...]:
        if self._names is None:
            self._names = tuple(self._reach())
        return self._names

    def __getitem__(self, name: str) -> Any:
        if name not in self._known:
            raise LaneError(f"lane {self._lane!r} reads {name!r}, which it does not need")
        return self._value(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._known)

    def __len__(self) -> int:
        return len(self._known)


@dataclass(frozen=True, slots=True)
class LaneContext:
    """What a running lane sees: the outputs and results of the lanes it needs (directly or
    through other needs: see NeedsView), and a logger. Lanes on Dagger read outputs typed,
    by service (pipeline.lanes.outputs), never by parsing these names."""

    lane: str
    upstream: Mapping[str, Mapping[str, Any]]  # needed lane -> its outputs
    results: Mapping[str, LaneResult]  # needed lane -> its full result
    log: FilteringBoundLogger
    # `async with ctx.measuring():` what must run with no other lane running (a probe's
    # startup timing), see pipeline.dag.resources. Outside a scheduler: no gate.
    measuring: Callable[[], contextlib.AbstractAsyncContextManager[None]] = contextlib.nullcontext
    # `async with ctx.pausing():` inside `measuring`, while the lane only waits: another
    # lane may measure meanwhile (see ResourceGate.pause).
    pausing: Callable[[], contextlib.AbstractAsyncContextManager[None]] = contextlib.nullcontext


LaneRun = Callable[[LaneContext], Awaitable[LaneOutcome]]


@dataclass(frozen=True, slots=True)
class Lane:
    """One unit of the DAG: what it needs, what it consumes (for the plan) and how it runs."""

    name: str
    run: LaneRun
    needs: tuple[str, ...] = ()
    kind: str = ""  # build, lint, unit-test, contract, integration, e2e, publish...
    description: str = ""
    inputs: tuple[str, ...] = ()  # declared inputs shown by the plan ("source:backend", "contract")
    timeout: float | None = None  # seconds; past it the lane is ERRORED
    # Order only: the lane starts after these finish, whatever their status (a test lane
    # that runs even when a contract lane failed: validate --keep-going).
    after: tuple[str, ...] = ()
    resources: ResourceClass = ResourceClass.SHARED  # TIMED: measures apart (pipeline.dag.resources)

    def __post_init__(self) -> None:
        # Accept any iterable of names (a list from a config loop) but store a tuple.
        object.__setattr__(self, "needs", tuple(self.needs))
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "after", tuple(self.after))


@dataclass(frozen=True, slots=True)
class CriticalPath:
    """The chain of lanes whose durations add up to the longest path through the graph."""

    lanes: tuple[str, ...]
    duration: float


class Graph:
    """Lanes by name, in declaration order (which breaks ties in every ordering)."""

    __slots__ = ("_lanes",)

    def __init__(self, lanes: Iterable[Lane] = ()) -> None:
        self._lanes: dict[str, Lane] = {}
        for lane in lanes:
            self.add(lane)

    def add(self, lane: Lane) -> Lane:
        if not _NAME.fullmatch(lane.name):
            raise GraphError(
                f"lane name {lane.name!r} is invalid: use letters, digits and : . _ / @ + -"
            )
        if lane.name in self._lanes:
            raise GraphError(f"lane {lane.name!r} is declared twice")
        self._lanes[lane.name] = lane
        return lane

    def __contains__(self, name: object) -> bool:
        return name in self._lanes

    def __getitem__(self, name: str) -> Lane:
        return self._lanes[name]

    def __iter__(self) -> Iterator[Lane]:
        return iter(self._lanes.values())

    def __len__(self) -> int:
        return len(self._lanes)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._lanes)

    def validate(self) -> None:
        """Raise GraphError (one line) on an unknown need, a repeated need or a cycle."""
        for lane in self._lanes.values():
            seen: set[str] = set()
            for need in (*lane.needs, *lane.after):
                if need not in self._lanes:
                    raise GraphError(f"lane {lane.name!r} needs unknown lane {need!r}")
                if need in seen:
                    raise GraphError(f"lane {lane.name!r} lists need {need!r} twice")
                seen.add(need)
        try:
            graphlib.TopologicalSorter(self._needs_map()).prepare()
        except graphlib.CycleError as exc:
            # graphlib gives [a, b, ..., a] where each node is needed by the next;
            # reversed it reads as "x needs y needs ... x".
            cycle = list(reversed(exc.args[1]))
            raise GraphError("lane needs form a cycle: " + " -> ".join(cycle)) from None

    def _needs_map(self) -> dict[str, tuple[str, ...]]:
        return {name: (*lane.needs, *lane.after) for name, lane in self._lanes.items()}

    def order(self) -> tuple[str, ...]:
        """Topological order; among lanes ready together, declaration order."""
        self.validate()
        position = {name: index for index, name in enumerate(self._lanes)}
        sorter = graphlib.TopologicalSorter(self._needs_map())
        sorter.prepare()
        ordered: list[str] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready(), key=position.__getitem__)
            ordered.extend(ready)
            sorter.done(*ready)
        return tuple(ordered)

    def needed(self, name: str) -> tuple[str, ...]:
        """Every lane ``name`` needs, directly or through its needs (not ``after``): the lanes
        that passed whenever it runs. Its direct needs first, then breadth first."""
        reached: dict[str, None] = {}
        frontier = collections.deque(self._lanes[name].needs)
        while frontier:
            need = frontier.popleft()
            if need not in reached:
                reached[need] = None
                frontier.extend(self._lanes[need].needs)
        return tuple(reached)

    def upstream(self, name: str) -> tuple[str, ...]:
        """Every lane ``name`` needs directly or through others, in topological order."""
        reached: set[str] = set()
        frontier = [name]
        while frontier:
            lane = self._lanes[frontier.pop()]
            for need in (*lane.needs, *lane.after):
                if need not in reached:
                    reached.add(need)
                    frontier.append(need)
        return tuple(lane for lane in self.order() if lane in reached)

    def select(self, names: Iterable[str]) -> Graph:
        """The lanes named and everything they need (e.g. ``--lane contract:backend``)."""
        wanted: set[str] = set()
        for name in names:
            if name not in self._lanes:
                known = ", ".join(self._lanes) or "none"
                raise GraphError(f"no lane named {name!r} (lanes: {known})")
            wanted.add(name)
            wanted.update(self.upstream(name))
        return Graph(lane for lane in self._lanes.values() if lane.name in wanted)

    def levels(self) -> tuple[tuple[str, ...], ...]:
        """Lanes grouped by depth: a level's lanes need only lanes of earlier levels."""
        depth: dict[str, int] = {}
        for name in self.order():
            needs = self._needs_map()[name]
            depth[name] = 1 + max((depth[need] for need in needs), default=-1)
        grouped: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
        for name in self.order():
            grouped[depth[name]].append(name)
        return tuple(tuple(level) for level in grouped)

    def critical_path(self, durations: Mapping[str, float]) -> CriticalPath:
        """The longest chain by summed lane durations (a lane missing from durations counts 0).

        With unlimited concurrency no schedule can finish faster than this, so a
        run's wall time over it measures the scheduler's overhead and lost parallelism.
        """
        finish: dict[str, float] = {}
        via: dict[str, str | None] = {}
        for name in self.order():
            needs = self._lanes[name].needs
            before = max(needs, key=lambda need: finish[need], default=None)
            start = finish[before] if before is not None else 0.0
            finish[name] = start + max(0.0, float(durations.get(name, 0.0)))
            via[name] = before
        if not finish:
            return CriticalPath(lanes=(), duration=0.0)
        # Ties go to the lane first in topological order, so the answer is stable.
        end = max(finish, key=lambda name: finish[name])
        chain: list[str] = []
        cursor: str | None = end
        while cursor is not None:
            chain.append(cursor)
            cursor = via[cursor]
        return CriticalPath(lanes=tuple(reversed(chain)), duration=finish[end])


async def _never_run(ctx: LaneContext) -> LaneOutcome:  # pragma: no cover - shape only
    raise LaneError(f"lane {ctx.lane!r} is a shape rebuilt from results; it cannot run")


def critical_path_of(run: RunResult) -> CriticalPath:
    """The critical path of a finished run, rebuilt from its results' needs and durations.

    Wall time over this is the scheduling overhead ratio (the benchmark's target: <= 1.2).
    """
    names = {result.name for result in run}
    shape = Graph(
        Lane(result.name, _never_run, needs=tuple(n for n in result.needs if n in names))
        for result in run
    )
    # Waiting for the machine alone is not work: unlimited parallelism would not wait.
    return shape.critical_path({result.name: result.duration - result.waited for result in run})
