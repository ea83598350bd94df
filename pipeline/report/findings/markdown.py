"""Markdown for a CI step summary: verdict line, counts, then a findings table."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pipeline.findings import Finding, Verdict, sort_findings
from pipeline.textsafe import markdown, printable

_BARE_PIPE = re.compile(r"(?<!\\)\|")

if TYPE_CHECKING:
    from pipeline.waivers import WaiverStatus


def cell(text: str) -> str:
    """Make `text` safe inside a table cell (callers escape untrusted text with `markdown`)."""
    return _BARE_PIPE.sub(r"\\|", printable(text))


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(str(c)) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render(findings: Sequence[Finding], verdict: Verdict, *, title: str = "Image contract",
           waivers: Sequence[WaiverStatus] = ()) -> str:
    mark = ("⚠️" if verdict.waived else "✅") if verdict.passed else "❌"
    out = [f"## {mark} {markdown(title)}", "", verdict.summary(), ""]
    if findings:
        rows = [(f.level.label, f"`{f.rule_id}`",
                 markdown(f.message + (f" ({f.waived.describe()})" if f.waived else "")),
                 markdown("; ".join(e.describe() for e in f.evidence[:3])))
                for f in sort_findings(findings)]
        out += [table(("severity", "rule", "message", "evidence"), rows), ""]
    if waivers:
        out += ["### Waivers", "", *(f"- {cell(w.describe())}" for w in waivers), ""]
    return "\n".join(out) + "\n"
