"""A Markdown summary of the run, for $GITHUB_STEP_SUMMARY (or any CI that renders Markdown)."""

from __future__ import annotations

from collections.abc import Iterable

from pipeline.dag.graph import critical_path_of
from pipeline.dag.status import LaneResult, LaneStatus, RunResult
from pipeline.runreport.format import count_line, detail, format_duration, lane_duration

_ICON = {
    LaneStatus.PASSED: "✅",
    LaneStatus.FAILED: "❌",
    LaneStatus.ERRORED: "💥",
    LaneStatus.SKIPPED: "⏭️",
    LaneStatus.CANCELLED: "⏹️",
    LaneStatus.RUNNING: "⏳",
    LaneStatus.PENDING: "⏳",
}


def _cell(text: str) -> str:
    # A pipe ends a table cell and a newline ends the row (GFM tables).
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def render_markdown(
    results: RunResult | Iterable[LaneResult], *, title: str = "Pipeline run",
) -> str:
    run = RunResult.of(results)
    lines = [
        f"## {title}: {_ICON[run.status]} {run.status.value} (exit {run.exit_code})",
        "",
        "| Lane | Status | Duration | Reason |",
        "| --- | --- | ---: | --- |",
    ]
    for result in run:
        lines.append(
            f"| `{result.name}` | {_ICON[result.status]} {result.status.value} "
            f"| {lane_duration(result)} | {_cell(detail(result))} |"
        )
    lines += ["", count_line(run) + "."]
    if run.duration:
        path = critical_path_of(run)
        line = f"Wall time {format_duration(run.duration)}"
        if path.lanes and path.duration:
            chain = " → ".join(f"`{name}`" for name in path.lanes)
            line += f"; critical path {format_duration(path.duration)}: {chain}"
        lines.append(line + ".")
    return "\n".join(lines) + "\n"
