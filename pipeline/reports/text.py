"""Human-readable report: one block per finding, most severe first, then the verdict."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.findings import Finding, Verdict, sort_findings
from pipeline.textsafe import printable


def render(findings: Sequence[Finding], verdict: Verdict, *, title: str = "") -> str:
    # Messages and evidence quote the image (file names, ENV): `printable` keeps each on
    # its one line, so no crafted name can print a line of its own.
    lines = [printable(title)] if title else []
    for f in sort_findings(findings):
        lines.append(f"{f.level.label.upper():8} {f.rule_id}: {printable(f.message)}")
        for evidence in f.evidence[:5]:
            lines.append(f"         at {printable(evidence.describe())}")
        if len(f.evidence) > 5:
            lines.append(f"         ... {len(f.evidence) - 5} more")
        if f.level >= verdict.fail_on and f.remediation:
            lines.append(f"         fix: {printable(f.remediation)}")
    lines.append(verdict.summary())
    return "\n".join(lines) + "\n"
