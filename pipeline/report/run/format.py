"""Small text helpers shared by the terminal table, Markdown and progress lines."""

from __future__ import annotations

from pipeline.dag.status import LaneResult, LaneStatus, RunResult
from pipeline.textsafe import mask_secrets, printable

# Report order of statuses in count lines: problems first.
STATUS_ORDER = (
    LaneStatus.FAILED, LaneStatus.ERRORED, LaneStatus.CANCELLED, LaneStatus.SKIPPED,
    LaneStatus.PASSED, LaneStatus.RUNNING, LaneStatus.PENDING,
)


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.2f}s" if seconds < 10 else f"{seconds:.1f}s"
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes}m{rest:02d}s"


def lane_duration(result: LaneResult) -> str:
    """A lane that never started has no duration, which is not the same as 0s."""
    return "-" if result.started is None else format_duration(result.duration)


def detail(result: LaneResult) -> str:
    """The reason column: the lane's message, then test and finding counts if it reported them."""
    parts = [printable(result.message)] if result.message else []
    if result.tests is not None:
        tests = result.tests
        text = f"tests: {tests.passed} passed"
        for label, count in (("failed", tests.failures), ("errors", tests.errors),
                             ("skipped", tests.skipped)):
            if count:
                text += f", {count} {label}"
        parts.append(text)
    if result.findings:
        counted = ", ".join(f"{count} {severity}" for severity, count in result.findings.items()
                            if count)
        if counted:
            parts.append(f"findings: {counted}")
    return "; ".join(parts)


def count_line(run: RunResult) -> str:
    """'5 lanes: 1 failed, 2 skipped, 2 passed'."""
    counts = run.counts
    noun = "lane" if len(run) == 1 else "lanes"
    parts = [f"{counts[status]} {status.value}" for status in STATUS_ORDER if counts.get(status)]
    return f"{len(run)} {noun}: " + (", ".join(parts) if parts else "none")


def waiver_lines(run: RunResult) -> list[str]:
    """One line per contract waiver, and one if the contract lanes did not gate the tests."""
    lines = [f"waiver: {printable(mask_secrets(w.describe()))}" for w in run.waivers]
    if not run.gating:
        lines.append("not gating: test lanes ran whatever the contract lanes said (--keep-going)")
    return lines
