"""Report writers: each format parses and says the same thing as the findings."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pipeline.errors import ReportError
from pipeline.findings import Evidence, Finding, Severity, Verdict
from pipeline.report import findings as reports

FINDINGS = [
    Finding("user.root", "the image runs as root", (Evidence(detail="no USER"),), subject="api"),
    Finding("fs.setuid", "/usr/bin/su is setuid", (Evidence(layer="sha256:" + "a" * 64,
                                                            path="usr/bin/su"),)),
    Finding("forbidden.compilers", "compilers present: gcc | cc", (Evidence(path="usr/bin/gcc"),)),
    Finding("history.secret", "history[3] records a secret", (Evidence(history=3),)),
]
CHECKED = ["user.root", "fs.setuid", "port.not-exposed", "forbidden.compilers", "history.secret"]


def test_verdict_is_derived_from_findings() -> None:
    assert Verdict.of([], Severity.HIGH).passed
    verdict = Verdict.of(FINDINGS, Severity.HIGH)
    assert not verdict.passed and verdict.failing == 3
    assert verdict.counts == {"high": 2, "medium": 1, "critical": 1}
    assert Verdict.of(FINDINGS, Severity.CRITICAL).failing == 1
    assert Verdict.of(FINDINGS[1:2], Severity.HIGH).passed


def test_unknown_rule_id_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        Finding("no.such-rule", "x")


def test_write_all_writes_every_format(tmp_path: Path) -> None:
    written = reports.write_all(FINDINGS, tmp_path / "out", name="img", checked=CHECKED,
                                artifact="image.tar")
    assert set(written) == set(reports.FORMATS)
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]

    doc = json.loads(written["json"].read_text())
    assert doc["passed"] is False and [f["rule"] for f in doc["findings"]] == [
        "history.secret", "forbidden.compilers", "user.root", "fs.setuid"]

    suite = ET.fromstring(written["junit"].read_text()).find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures")) == ("5", "3")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert cases["port.not-exposed"].find("failure") is None
    assert cases["user.root"].find("failure") is not None
    assert cases["fs.setuid"].find("failure") is None            # medium: below fail_on
    assert "setuid" in (cases["fs.setuid"].findtext("system-out") or "")

    sarif = json.loads(written["sarif"].read_text())
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    for result in run["results"]:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note")
    assert {r["level"] for r in run["results"]} == {"error", "warning"}

    markdown = written["markdown"].read_text()
    assert markdown.startswith("## ❌ img") and "gcc \\| cc" in markdown
    assert "failed: 1 critical, 2 high, 1 medium" in written["text"].read_text()


def test_junit_testsuite_is_reusable_for_lanes() -> None:
    suite = reports.junit.testsuite("lanes", [
        reports.junit.Case("build", time=1.5),
        reports.junit.Case("lint", failure="ruff found 3 problems", details="a.py:1 E501"),
        reports.junit.Case("e2e", error="browser did not start"),
        reports.junit.Case("publish", skipped="an upstream lane failed"),
    ])
    root = ET.fromstring(reports.junit.render([suite]))
    node = root.find("testsuite")
    assert node is not None
    assert (node.get("tests"), node.get("failures"), node.get("errors"), node.get("skipped")) == \
        ("4", "1", "1", "1")


def test_unwritable_directory_is_a_report_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ReportError):
        reports.write_all(FINDINGS, blocker / "out")
