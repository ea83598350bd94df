"""One JUnit XML file for the whole run: a testsuite per lane, plus the lanes' own JUnit files.

Each lane becomes a testsuite holding one testcase (the lane itself): failed ->
<failure>, errored -> <error>, skipped or cancelled -> <skipped> with the reason.
JUnit files a lane produced (pytest's --junitxml) are merged in after it, their
suites renamed "<lane>/<suite>" so a reader knows where they came from. A file
that is missing or unreadable becomes an <error> testcase: the report is still
written and the problem is visible to any JUnit consumer.

Lane suites are built with pipeline.report.findings.junit (the findings reports' writer),
so both JUnit outputs share one shape (testsuites > testsuite > testcase >
failure|error|skipped); this module adds the merge and the recounted totals.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.dag.messages import one_line
from pipeline.dag.status import LaneResult, LaneStatus, RunResult
from pipeline.report.findings import junit
from pipeline.textsafe import mask_secrets, portable


@dataclass(frozen=True, slots=True)
class JUnitSource:
    """A JUnit file to merge, and the lane it belongs to (None: the run's own extra file)."""

    path: Path
    lane: str | None = None


def _seconds(value: float) -> str:
    return f"{value:.3f}"  # as pipeline.report.findings.junit writes times


def lane_suite(result: LaneResult) -> ET.Element:
    """The testsuite standing for one lane (built with the findings reports' JUnit writer)."""
    message = portable(result.message)
    status = result.status
    case = junit.Case(
        name=result.name,
        classname=f"pipeline.lane.{result.kind}" if result.kind else "pipeline.lane",
        time=result.duration,
        failure=message if status is LaneStatus.FAILED else None,
        error=message if status is LaneStatus.ERRORED else None,
        # A cancelled lane did not fail on its own: it is reported like a skipped one.
        skipped=message if status in (LaneStatus.SKIPPED, LaneStatus.CANCELLED) else None,
        output="\n".join(portable(mask_secrets(f"waiver: {w.describe()}")) for w in result.waivers),
    )
    suite = junit.testsuite(result.name, [case])
    if result.started is not None:
        suite.set("timestamp", result.started.isoformat(timespec="seconds"))
    properties = ET.Element("properties")
    for name, value in (("lane.kind", result.kind), ("lane.status", status.value),
                        ("lane.needs", ",".join(result.needs)),
                        ("lane.skipped_because", result.skipped_because or "")):
        if value:
            ET.SubElement(properties, "property", {"name": name, "value": portable(value)})
    for waiver in result.waivers:
        ET.SubElement(properties, "property", {"name": f"waiver.{waiver.rule}",
                                               "value": portable(mask_secrets(waiver.describe()))})
    suite.insert(0, properties)  # JUnit schema: <properties> comes before the test cases
    return suite


def _problem_suite(name: str, message: str) -> ET.Element:
    suite = ET.Element("testsuite", {
        "name": name, "tests": "1", "failures": "0", "errors": "1", "skipped": "0", "time": "0",
    })
    case = ET.SubElement(suite, "testcase", {"classname": "pipeline.junit", "name": name})
    ET.SubElement(case, "error", {"message": portable(message), "type": "junit"}).text = portable(message)
    return suite


def read_suites(source: JUnitSource) -> list[ET.Element]:
    """The testsuites of one JUnit file (root <testsuites> or a bare <testsuite>)."""
    label = f"{source.lane}/{source.path.name}" if source.lane else source.path.name
    try:
        root = ET.parse(source.path).getroot()
    except FileNotFoundError:
        return [_problem_suite(label, f"JUnit file {source.path} is missing")]
    except (OSError, ET.ParseError) as exc:
        reason = one_line(str(exc)) or type(exc).__name__
        return [_problem_suite(label, f"JUnit file {source.path} is unreadable: {reason}")]
    # A lane's own JUnit holds what user code printed (a failing test's output): masked
    # like the lane's copied files, since it is merged into the run's junit.xml.
    for element in root.iter():
        element.text = mask_secrets(element.text) if element.text else element.text
        element.tail = mask_secrets(element.tail) if element.tail else element.tail
        for name, value in element.attrib.items():
            element.set(name, mask_secrets(value))
    if root.tag not in ("testsuites", "testsuite"):
        return [_problem_suite(label, f"JUnit file {source.path} has root <{root.tag}>, "
                                      "not <testsuites> or <testsuite>")]
    # Suites may nest; flatten to those holding test cases so nothing is counted twice.
    suites = [suite for suite in root.iter("testsuite") if suite.find("testcase") is not None]
    if not suites and root.tag == "testsuite":
        suites = [root]
    for suite in suites:
        for nested in suite.findall("testsuite"):
            suite.remove(nested)
        if source.lane:
            suite.set("name", f"{source.lane}/{suite.get('name') or source.path.stem}")
    return suites


_OUTCOMES = (("failure", "failures"), ("error", "errors"), ("skipped", "skipped"))


def _tally(suites: Sequence[ET.Element]) -> dict[str, int]:
    # Counted from the test cases, not trusted from attributes that tools fill in differently.
    tally = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in suites:
        for case in suite.iter("testcase"):
            tally["tests"] += 1
            for child, key in _OUTCOMES:
                if case.find(child) is not None:
                    tally[key] += 1
                    break
    return tally


def merged_junit(
    results: RunResult | Iterable[LaneResult], *, extra: Iterable[Path] = (),
) -> ET.ElementTree:
    """The run's JUnit tree: lane suites (each followed by its own files), then ``extra`` files."""
    run = RunResult.of(results)
    suites: list[ET.Element] = []
    for result in run:
        suites.append(lane_suite(result))
        for path in result.junit:
            suites.extend(read_suites(JUnitSource(Path(path), result.name)))
    for path in extra:
        suites.extend(read_suites(JUnitSource(Path(path))))
    root = ET.Element("testsuites", {"name": "pipeline"})
    for key, value in _tally(suites).items():
        root.set(key, str(value))
    root.set("time", _seconds(run.duration or sum(r.duration for r in run)))
    root.extend(suites)
    tree = ET.ElementTree(root)
    ET.indent(tree)
    return tree


def write_junit(tree: ET.ElementTree, path: Path) -> None:
    tree.write(path, encoding="utf-8", xml_declaration=True)
