"""JUnit XML: reusable for any result list (`testsuite(name, cases)`), and for findings.

The format followed is the one CI systems read (the Jenkins/Ant junit schema):
<testsuites><testsuite name tests failures errors skipped time><testcase
classname name time><failure message type>text</failure>...
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.findings import Finding, Severity, sort_findings
from pipeline.textsafe import portable, printable

if TYPE_CHECKING:
    from pipeline.waivers import WaiverStatus


@dataclass(frozen=True, slots=True)
class Case:
    """One test case: passed unless it has a failure or error; skipped when `skipped` is set."""

    name: str
    classname: str = ""
    time: float = 0.0
    failure: str | None = None      # one-line message
    details: str = ""               # element text: evidence, output
    error: str | None = None        # "something broke", as opposed to failure
    skipped: str | None = None
    output: str = ""                # <system-out>


def testsuite(name: str, cases: Sequence[Case]) -> ET.Element:
    """Every string is made `portable`: XML 1.0 cannot hold some characters at all."""
    suite = ET.Element("testsuite", {
        "name": portable(name),
        "tests": str(len(cases)),
        "failures": str(sum(1 for c in cases if c.failure is not None)),
        "errors": str(sum(1 for c in cases if c.error is not None)),
        "skipped": str(sum(1 for c in cases if c.skipped is not None)),
        "time": f"{sum(c.time for c in cases):.3f}",
    })
    for case in cases:
        node = ET.SubElement(suite, "testcase", {"classname": portable(case.classname or name),
                                                 "name": portable(case.name),
                                                 "time": f"{case.time:.3f}"})
        if case.failure is not None:
            ET.SubElement(node, "failure", {"message": portable(case.failure),
                                            "type": "failure"}).text = \
                portable(case.details or case.failure)
        if case.error is not None:
            ET.SubElement(node, "error", {"message": portable(case.error),
                                          "type": "error"}).text = \
                portable(case.details or case.error)
        if case.skipped is not None:
            ET.SubElement(node, "skipped", {"message": portable(case.skipped)})
        if case.output:
            ET.SubElement(node, "system-out").text = portable(case.output)
    return suite


def render(suites: Iterable[ET.Element]) -> str:
    root = ET.Element("testsuites")
    root.extend(suites)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") \
        + "\n"


def finding_cases(findings: Sequence[Finding], checked: Iterable[str],
                  fail_on: Severity, *, not_run: Mapping[str, str] | None = None,
                  waivers: Sequence[WaiverStatus] = ()) -> list[Case]:
    """One case per rule id: failed by findings at or above `fail_on`; skipped when a waiver
    let them pass, or when it never ran (`not_run`: rule id -> why) and found nothing; else
    passed."""
    not_run = not_run or {}
    notes = {w.rule: w for w in waivers}
    by_rule: dict[str, list[Finding]] = {}
    for f in sort_findings(findings):
        by_rule.setdefault(f.rule_id, []).append(f)
    cases = []
    for rule_id in sorted(set(checked) | set(by_rule)):
        found = by_rule.get(rule_id, [])
        failing = [f for f in found if f.level >= fail_on and f.gates]
        waived = [f for f in found if f.level >= fail_on and not f.gates]
        # One finding or evidence per line: what the image named is kept on its line.
        text = "\n".join(f"[{f.level.label}] {printable(f.message)}"
                         + (f" ({f.waived.describe()})" if f.waived else "")
                         + "".join(f"\n  at {printable(e.describe())}" for e in f.evidence[:10])
                         for f in found)
        note = notes.get(rule_id)
        failure = f"{len(failing)} finding(s): {printable(failing[0].message)}" if failing else None
        if failure and note is not None and note.expired:
            failure += f" (waiver expired on {note.until})"
        cases.append(Case(
            name=rule_id, classname=found[0].subject or "image" if found else "image",
            failure=failure,
            skipped=(f"{len(waived)} finding(s) {waived[0].waived.describe()}"  # type: ignore[union-attr]
                     if waived and not failing
                     else not_run.get(rule_id) if not found else None),
            details=text if failing else "", output=text if found and not failing else "",
        ))
    return cases
