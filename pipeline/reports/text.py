"""Human-readable report: one block per finding, most severe first, then the verdict."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pipeline.findings import Finding, Verdict, sort_findings

if TYPE_CHECKING:
    from pipeline.waivers import WaiverStatus


def render(findings: Sequence[Finding], verdict: Verdict, *, title: str = "",
           waivers: Sequence[WaiverStatus] = ()) -> str:
    lines = [title] if title else []
    for f in sort_findings(findings):
        lines.append(f"{f.level.label.upper():8} {f.rule_id}: {f.message}")
        for evidence in f.evidence[:5]:
            lines.append(f"         at {evidence.describe()}")
        if len(f.evidence) > 5:
            lines.append(f"         ... {len(f.evidence) - 5} more")
        if f.waived is not None:
            lines.append(f"         {f.waived.describe()}")
        elif f.level >= verdict.fail_on and f.remediation:
            lines.append(f"         fix: {f.remediation}")
    if waivers:
        lines.append("waivers:")
        lines += [f"  {w.describe()}" for w in waivers]
    lines.append(verdict.summary())
    return "\n".join(lines) + "\n"
