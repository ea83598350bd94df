"""Reports over findings: text, JSON, JUnit XML, SARIF 2.1.0, Markdown.

Each writer is a small module with a `render(...) -> str`; `junit.testsuite`
and `markdown.table` are reusable for other results (lane results).
`write_all` writes every format as one set (swapped in whole) and returns where each went.
The writers load when first used (PEP 562): `check-image` prints one format, most often
text, and need not import XML nor the atomic directory swap.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.errors import ReportError
from pipeline.findings import Finding, Severity, Verdict

if TYPE_CHECKING:
    from pipeline.waivers import WaiverStatus

FORMATS = ("text", "json", "junit", "sarif", "markdown")
FILE_NAMES = {"text": "{name}.txt", "json": "{name}.json", "junit": "{name}.junit.xml",
              "sarif": "{name}.sarif", "markdown": "{name}.md"}


def render(fmt: str, findings: Sequence[Finding], *, name: str = "check-image",
           fail_on: Severity = Severity.HIGH, checked: Iterable[str] = (),
           artifact: str | None = None, not_run: Mapping[str, str] | None = None,
           waivers: Sequence[WaiverStatus] = ()) -> str:
    """`waivers`: every waiver's status (applied, unused, expired), shown in each format."""
    verdict = Verdict.of(findings, fail_on)
    if fmt == "text":
        from pipeline.report.findings import text
        return text.render(findings, verdict, title=name, waivers=waivers)
    if fmt == "json":
        from pipeline.report.findings import jsonreport
        return jsonreport.render(findings, verdict, name=name,
                                 **({"artifact": artifact} if artifact else {}),
                                 **({"waivers": [w.as_dict() for w in waivers]} if waivers else {}))
    if fmt == "junit":
        from pipeline.report.findings import junit
        return junit.render([junit.testsuite(name, junit.finding_cases(
            findings, checked, fail_on, not_run=not_run, waivers=waivers))])
    if fmt == "sarif":
        from pipeline.report.findings import sarif
        return sarif.render(findings, artifact=artifact, waivers=waivers)
    if fmt == "markdown":
        from pipeline.report.findings import markdown
        return markdown.render(findings, verdict, title=name, waivers=waivers)
    raise ValueError(f"unknown report format {fmt!r} (one of: {', '.join(FORMATS)})")


def write_all(findings: Sequence[Finding], out_dir: Path, *, name: str = "check-image",
              fail_on: Severity = Severity.HIGH, checked: Iterable[str] = (),
              artifact: str | None = None, not_run: Mapping[str, str] | None = None,
              formats: Sequence[str] = FORMATS,
              waivers: Sequence[WaiverStatus] = ()) -> dict[str, Path]:
    """Write each format to `out_dir/<name>.<ext>`; returns {format: path}. `not_run` names
    checked rules that never ran (rule id -> why): JUnit reports them skipped, not passed.

    All or nothing: the set is written into a copy of `out_dir` that is then
    swapped in whole, so a failure leaves the previous reports as they were.
    Other files in `out_dir` (another service's reports) are carried over.
    """
    checked = list(checked)
    rendered = {fmt: render(fmt, findings, name=name, fail_on=fail_on, checked=checked,
                            artifact=artifact, not_run=not_run, waivers=waivers)
                for fmt in formats}
    names = {fmt: FILE_NAMES[fmt].format(name=name) for fmt in rendered}
    ours = {FILE_NAMES[fmt].format(name=name) for fmt in FORMATS}
    out = Path(out_dir)

    def build(staging: Path) -> None:
        for fmt, body in rendered.items():
            (staging / names[fmt]).write_text(body, encoding="utf-8")

    from pipeline.atomic import replace_directory

    try:
        replace_directory(out, build, keep=lambda entry: entry not in ours)
    except OSError as exc:
        raise ReportError(f"{out}: cannot write reports ({exc.strerror or exc})") from None
    return {fmt: out / file_name for fmt, file_name in names.items()}


_WRITERS = ("jsonreport", "junit", "markdown", "sarif", "text")


def __getattr__(name: str) -> Any:
    if name not in _WRITERS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return importlib.import_module(f"{__name__}.{name}")


__all__ = ["FORMATS", "jsonreport", "junit", "markdown", "render", "sarif", "text",
           "write_all"]
