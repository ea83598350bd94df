"""Human-readable report: one block per finding, most severe first, then the verdict."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pipeline.findings import Finding, Verdict, sort_findings
from pipeline.textsafe import printable

if TYPE_CHECKING:
    from pipeline.waivers import WaiverStatus


def render(findings: Sequence[Finding], verdict: Verdict, *, title: str = "",
           waivers: Sequence[WaiverStatus] = ()) -> str:
    # Messages and evidence quote the image (file names, ENV): `printable` keeps each on
    # its one line, so no crafted name can print a line of its own.
    lines = [printable(title)] if title else []
    for f in sort_findings(findings):
        lines.append(f"{f.level.label.upper():8} {f.rule_id}: {printable(f.message)}")
        for evidence in f.evidence[:5]:
            lines.append(f"         at {printable(evidence.describe())}")
        if len(f.evidence) > 5:
            lines.append(f"         ... {len(f.evidence) - 5} more")
        if f.waived is not None:
            lines.append(f"         {printable(f.waived.describe())}")
        elif f.level >= verdict.fail_on and f.remediation:
            lines.append(f"         fix: {printable(f.remediation)}")
    if waivers:
        lines.append("waivers:")
        lines += [f"  {printable(w.describe())}" for w in waivers]
    lines.append(verdict.summary())
    return "\n".join(lines) + "\n"
