"""A Markdown summary of the run, for $GITHUB_STEP_SUMMARY (or any CI that renders Markdown)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pipeline.dag.graph import critical_path_of
from pipeline.dag.status import LaneResult, LaneStatus, RunResult
from pipeline.errors import ReportError
from pipeline.report.findings.markdown import cell, table
from pipeline.report.run.format import (
    count_line,
    detail,
    format_duration,
    lane_duration,
    waiver_lines,
)
from pipeline.textsafe import markdown

_ICON = {
    LaneStatus.PASSED: "✅",
    LaneStatus.FAILED: "❌",
    LaneStatus.ERRORED: "💥",
    LaneStatus.SKIPPED: "⏭️",
    LaneStatus.CANCELLED: "⏹️",
    LaneStatus.RUNNING: "⏳",
    LaneStatus.PENDING: "⏳",
}


def _icon(run: RunResult) -> str:
    # A pass that a waiver or --keep-going qualified is not shown as a clean pass.
    if run.status is LaneStatus.PASSED and run.result != "passed":
        return "⚠️"
    return _ICON[run.status]


def render_markdown(
    results: RunResult | Iterable[LaneResult], *, title: str = "Pipeline run",
) -> str:
    run = RunResult.of(results)
    rows = [(f"`{result.name}`", f"{_ICON[result.status]} {result.status.value}",
             lane_duration(result), markdown(detail(result))) for result in run]
    lines = [
        f"## {title}: {_icon(run)} {run.result} (exit {run.exit_code})",
        "",
        table(("Lane", "Status", "Duration", "Reason"), rows),
    ]
    lines += ["", count_line(run) + "."]
    notes = waiver_lines(run)
    if notes:
        lines += ["", "### Waivers", "", *(f"- {cell(line)}" for line in notes)]
    if run.duration:
        path = critical_path_of(run)
        line = f"Wall time {format_duration(run.duration)}"
        if path.lanes and path.duration:
            chain = " → ".join(f"`{name}`" for name in path.lanes)
            line += f"; critical path {format_duration(path.duration)}: {chain}"
        lines.append(line + ".")
    return "\n".join(lines) + "\n"


def append_step_summary(markdown: str, path: str | Path | None) -> Path | None:
    """Append to the CI's step-summary file (the caller passes $GITHUB_STEP_SUMMARY); None: no-op.

    Appending, not replacing: the file collects every step's summary of the job.
    """
    if not path:
        return None
    target = Path(path)
    try:
        with target.open("a", encoding="utf-8") as handle:
            handle.write(markdown if markdown.endswith("\n") else markdown + "\n")
    except OSError as exc:
        raise ReportError(f"{target}: cannot append the step summary: {exc.strerror}") from exc
    return target
