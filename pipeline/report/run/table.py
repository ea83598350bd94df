"""The run summary for the terminal, and progress lines for the scheduler's events."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TextIO

from pipeline.dag.graph import critical_path_of
from pipeline.dag.scheduler import EventCallback, LaneEvent
from pipeline.dag.status import LaneResult, LaneStatus, RunResult
from pipeline.report.run.format import (
    count_line,
    detail,
    format_duration,
    lane_duration,
    waiver_lines,
)
from pipeline.textsafe import printable

_HEADER = ("LANE", "STATUS", "DURATION", "REASON")


def render_summary(results: RunResult | Iterable[LaneResult]) -> str:
    """A fixed-width table (lane, status, duration, reason) and a closing count line."""
    run = RunResult.of(results)
    rows = [
        (printable(result.name), _status_cell(result.status), lane_duration(result),
         detail(result))
        for result in run
    ]
    widths = [max(len(row[column]) for row in [_HEADER, *rows]) for column in range(3)]
    lines = []
    for name, status, duration, reason in [_HEADER, *rows]:
        line = f"{name:<{widths[0]}}  {status:<{widths[1]}}  {duration:>{widths[2]}}  {reason}"
        lines.append(line.rstrip())
    lines += waiver_lines(run)
    lines.append(_closing_line(run))
    return "\n".join(lines) + "\n"


def _status_cell(status: LaneStatus) -> str:
    # Upper case marks what needs a reader's attention in a long, plain table.
    return status.value.upper() if status.is_problem else status.value


def _closing_line(run: RunResult) -> str:
    line = f"{count_line(run)}; result: {run.result} (exit {run.exit_code})"
    if run.duration:
        path = critical_path_of(run)
        line += f"; wall {format_duration(run.duration)}"
        if path.duration:
            line += f", critical path {format_duration(path.duration)}"
    return line


def progress_line(event: LaneEvent) -> str:
    if event.kind == "started":
        return f"[start] {printable(event.lane)}"
    result = event.result
    assert result is not None
    line = f"[{event.status.value}] {printable(event.lane)}"
    if result.started is not None:
        line += f" in {format_duration(result.duration)}"
    return f"{line}: {printable(result.message)}" if result.message else line


def progress_printer(stream: TextIO | None = None) -> EventCallback:
    """An ``on_event`` callback for ``run_graph`` that prints one line per event."""

    def on_event(event: LaneEvent) -> None:
        print(progress_line(event), file=stream or sys.stderr, flush=True)

    return on_event
