"""Waivers and non-gating runs: reported everywhere, never a plain "passed".

Findings are real catalogue findings; reports are rendered by the writers every lane
uses and read back (JSON, SARIF and JUnit parsed). Run reports come from a real
scheduler run whose lanes carry waivers.
"""

from __future__ import annotations

import datetime
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import anyio
import pytest

from pipeline.contract.models import Waiver
from pipeline.dag import Graph, Lane, LaneOutcome, LaneStatus, run_graph
from pipeline.findings import Finding, Severity, Verdict
from pipeline.report import findings as reports
from pipeline.report.run import RunSummary, render_markdown, render_summary, write_run_reports
from pipeline.waivers import apply_waivers

DAY = datetime.date(2026, 6, 1)
FINDINGS = [
    Finding("user.root", "image runs as root", subject="api"),
    Finding("port.extra", "exposes 9000 too", subject="api"),
    Finding("size.exceeded", "412 MB > 300 MB", subject="api"),
]


def waivers(*specs: tuple[str, str | None]) -> list[Waiver]:
    return [Waiver(rule=rule, reason=f"adopting {rule}",
                   until=datetime.date.fromisoformat(until) if until else None)
            for rule, until in specs]


def test_a_waived_rule_is_reported_but_does_not_gate() -> None:
    marked, statuses = apply_waivers(FINDINGS, waivers(("user.root", "2026-06-01")),
                                     subject="api", on=DAY)
    assert [f.rule_id for f in marked] == [f.rule_id for f in FINDINGS]   # nothing hidden
    root = next(f for f in marked if f.rule_id == "user.root")
    assert root.waived is not None and root.waived.until == "2026-06-01"   # last day still holds
    verdict = Verdict.of(marked)
    assert not verdict.passed                            # size.exceeded still gates
    assert verdict.waived == 1 and verdict.failing == 1
    assert statuses[0].findings == 1 and not statuses[0].expired


def test_waiving_every_failing_rule_passes_with_waivers() -> None:
    marked, _ = apply_waivers(FINDINGS, waivers(("user.root", None), ("size.exceeded", None)),
                              subject="api", on=DAY)
    verdict = Verdict.of(marked)
    assert verdict.passed and verdict.summary().startswith("passed with waivers")


def test_an_expired_waiver_waives_nothing_and_says_so() -> None:
    marked, statuses = apply_waivers(FINDINGS, waivers(("user.root", "2026-05-31")),
                                     subject="api", on=DAY)
    assert all(f.waived is None for f in marked)
    assert Verdict.of(marked).failing == 2
    assert statuses[0].expired
    assert "expired on 2026-05-31, not applied" in statuses[0].describe()


def test_an_unused_waiver_is_listed_as_waiving_nothing() -> None:
    _, statuses = apply_waivers(FINDINGS[1:2], waivers(("user.root", None)), subject="api", on=DAY)
    assert statuses[0].findings == 0 and "(no finding)" in statuses[0].describe()


@pytest.fixture
def waived_reports():
    marked, statuses = apply_waivers(
        FINDINGS, waivers(("user.root", None), ("size.exceeded", "2026-01-01")),
        subject="api", on=DAY)
    render = {fmt: reports.render(fmt, marked, name="contract-api", artifact="api",
                                  checked=["user.root", "size.exceeded", "port.extra"],
                                  waivers=statuses)
              for fmt in reports.FORMATS}
    return render


def test_every_findings_format_shows_the_waivers(waived_reports) -> None:
    text = waived_reports["text"]
    assert "waived: adopting user.root" in text
    assert "api: waiver of size.exceeded expired on 2026-01-01" in text

    document = json.loads(waived_reports["json"])
    root = next(f for f in document["findings"] if f["rule"] == "user.root")
    assert root["waived"] == {"reason": "adopting user.root"}
    assert {w["rule"]: w["expired"] for w in document["waivers"]} == {
        "user.root": False, "size.exceeded": True}

    sarif = json.loads(waived_reports["sarif"])
    results = {r["ruleId"]: r for r in sarif["runs"][0]["results"]}
    assert results["user.root"]["suppressions"] == [{
        "kind": "external", "status": "accepted", "justification": "waived: adopting user.root"}]
    assert "suppressions" not in results["size.exceeded"]
    assert len(sarif["runs"][0]["properties"]["waivers"]) == 2

    cases = {c.get("name"): c for c in ET.fromstring(waived_reports["junit"]).iter("testcase")}
    assert cases["user.root"].find("skipped") is not None
    assert "waived: adopting user.root" in cases["user.root"].find("skipped").get("message")
    failure = cases["size.exceeded"].find("failure")
    assert failure is not None and "waiver expired on 2026-01-01" in failure.get("message")

    markdown = waived_reports["markdown"]
    assert "### Waivers" in markdown and "waived: adopting user.root" in markdown


def test_check_image_cli_applies_the_contract_waivers_too(tmp_path: Path) -> None:
    """check-image and the contract lane agree: the same waivers apply to the same tarball."""
    from pipeline.cli import main
    from tests.imagebuilder import ImageBuilder, write_contract

    contract = write_contract(tmp_path)
    bad = ImageBuilder.clean()
    bad.config["User"] = ""
    bad.write(tmp_path / "bad.tar")
    args = ["check-image", str(tmp_path / "bad.tar"), "--contract", str(contract),
            "--service", "backend", "--format", "json", "--reports", str(tmp_path / "out")]
    assert main(args) == 1
    text = contract.read_text().replace(
        "[services.backend]\n",
        '[services.backend]\nwaive = [{ rule = "user.root", reason = "upstream image" }]\n', 1)
    contract.write_text(text)
    assert main(args) == 0
    document = json.loads((tmp_path / "out" / "check-image-backend.json").read_text())
    assert document["passed"] and [w["rule"] for w in document["waivers"]] == ["user.root"]
    assert document["findings"][0]["waived"] == {"reason": "upstream image"}


# ------------------------------------------------------------------ run reports

def lane_with(outcome: LaneOutcome):
    async def run(ctx):
        return outcome
    return run


def run_of(*lanes: Lane, gating: bool = True):
    import dataclasses

    result = anyio.run(run_graph, Graph(lanes))
    return dataclasses.replace(result, gating=gating)


def waived_lane() -> Lane:
    _, statuses = apply_waivers(FINDINGS[:1], waivers(("user.root", None)), subject="api", on=DAY)
    return Lane("contract:api", lane_with(LaneOutcome.success(
        "no finding at high and above; waived: user.root", waivers=tuple(statuses))),
        kind="contract")


def test_a_run_with_waivers_is_never_a_plain_pass(tmp_path: Path) -> None:
    run = run_of(waived_lane(), Lane("build:api", lane_with(LaneOutcome.success("built"))))
    assert run.status is LaneStatus.PASSED and run.exit_code == 0
    assert run.result == "passed with waivers"
    table = render_summary(run)
    assert "waiver: api: user.root waived (1 finding(s)): adopting user.root" in table
    assert "result: passed with waivers (exit 0)" in table
    assert "passed with waivers" in render_markdown(run).splitlines()[0]
    paths = write_run_reports(run, tmp_path / "reports")
    summary = RunSummary.from_json(paths.summary_json.read_text())
    assert summary.result == "passed with waivers" and summary.gating
    assert [w.rule for w in summary.waivers] == ["user.root"]
    assert [w.rule for w in next(lane for lane in summary.lanes
                                 if lane.name == "contract:api").waivers] == ["user.root"]
    suites = {s.get("name"): s for s in ET.parse(paths.junit_xml).getroot().iter("testsuite")}
    properties = {p.get("name"): p.get("value") for p in suites["contract:api"].iter("property")}
    assert "adopting user.root" in properties["waiver.user.root"]
    assert "waiver: api: user.root" in suites["contract:api"].find("testcase/system-out").text


def test_a_non_gating_run_says_so_and_a_plain_one_does_not() -> None:
    plain = run_of(Lane("build:api", lane_with(LaneOutcome.success("built"))))
    assert plain.result == "passed" and "waiver" not in render_summary(plain)
    loose = run_of(Lane("build:api", lane_with(LaneOutcome.success("built"))), gating=False)
    assert loose.result == "not gating"
    assert "not gating: test lanes ran whatever" in render_summary(loose)
    assert run_of(waived_lane(), gating=False).result == "not gating, with waivers"


def test_a_failed_run_stays_failed_whatever_its_waivers() -> None:
    run = run_of(waived_lane(), Lane("unit-test:api", lane_with(LaneOutcome.failure("red"))))
    assert run.result == "failed" and run.exit_code == 1


def test_severity_floor_still_applies_to_waived_findings() -> None:
    low = [Finding("port.extra", "exposes 9000", subject="api")]
    marked, _ = apply_waivers(low, waivers(("port.extra", None)), subject="api", on=DAY)
    verdict = Verdict.of(marked, Severity.MEDIUM)
    assert verdict.passed and verdict.waived == 1
