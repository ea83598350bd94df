"""Timing helpers for benchmarks: a stopwatch, the critical-path ratio, figure lines.

The critical-path ratio is a run's wall time over its critical path (the longest
chain of lanes by their measured durations, pipeline.dag.critical_path_of): 1.0
means the scheduler lost nothing to overhead or to lanes waiting for a slot.
Figures are printed, never asserted: benchmarks report, tests judge.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pipeline.dag import RunResult, critical_path_of


@dataclass
class Stopwatch:
    started: float = 0.0
    seconds: float = 0.0


@contextmanager
def stopwatch() -> Iterator[Stopwatch]:
    """``with stopwatch() as sw: ...`` then ``sw.seconds`` (monotonic wall time)."""
    watch = Stopwatch(started=time.perf_counter())
    try:
        yield watch
    finally:
        watch.seconds = time.perf_counter() - watch.started


def critical_path_ratio(run: RunResult, wall: float | None = None) -> float:
    """``wall`` (default: the run's own wall time) over the run's critical path."""
    path = critical_path_of(run).duration
    elapsed = run.duration if wall is None else wall
    return elapsed / path if path > 0 else float("nan")


def figure(label: str, value: float, unit: str = "s", *, target: str | None = None) -> str:
    line = f"{label:<44} {value:>10.3f} {unit}"
    return f"{line}   (target {target})" if target else line


def validate_figures(cold_wall: float, warm_wall: float, cold_run: RunResult) -> list[str]:
    """The three lines of the `validate` benchmark (issue 5): cold, warm/cold, critical path."""
    path = critical_path_of(cold_run)
    return [
        figure("cold wall time", cold_wall),
        figure("warm wall time (no change)", warm_wall),
        figure("warm / cold", warm_wall / cold_wall if cold_wall else float("nan"), "x",
               target="<= 0.10"),
        figure("critical path (cold, from lane durations)", path.duration),
        figure("cold wall / critical path", critical_path_ratio(cold_run, cold_wall), "x",
               target="<= 1.20"),
        "critical path: " + " -> ".join(path.lanes),
    ]
