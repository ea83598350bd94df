"""Run reports from a real scheduler run, with a real pytest JUnit file merged in.

Every report is read back: JUnit XML parsed with ElementTree, summary.json
validated by its pydantic model, the directory swap checked for leftovers.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import anyio
import pytest

from pipeline.dag import CaseCounts, Graph, Lane, LaneOutcome, LaneStatus, RunResult, run_graph
from pipeline.errors import ReportError
from pipeline.report.run import (
    RunSummary,
    append_step_summary,
    progress_printer,
    render_markdown,
    render_summary,
    write_run_reports,
)
from pipeline.report.run import writer as writer_module


@pytest.fixture(scope="module")
def pytest_junit(tmp_path_factory) -> Path:
    """A JUnit file written by a real pytest run: one pass, one failure, one skip."""
    root = tmp_path_factory.mktemp("pytest-run")
    (root / "test_sample.py").write_text(textwrap.dedent("""
        import pytest

        def test_ok():
            assert True

        def test_broken():
            assert 1 == 2, "one is not two"

        @pytest.mark.skip(reason="not today")
        def test_later():
            pass
    """))
    junit = root / "unit.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}",
         "--rootdir", str(root), str(root / "test_sample.py")],
        cwd=root, capture_output=True, check=False, timeout=120,
    )
    assert junit.is_file()
    return junit


class Engineish:
    """Stands for an engine object (a Dagger Container) in a lane's outputs."""


@pytest.fixture
def finished_run(tmp_path, pytest_junit) -> RunResult:
    sarif = tmp_path / "contract.sarif"
    sarif.write_text(json.dumps({"version": "2.1.0", "runs": [
        {"tool": {"driver": {"name": "pipeline-contract"}}, "results": []}]}))
    log = tmp_path / "build.log"
    log.write_text("step 1/4\n")

    async def build(ctx):
        return LaneOutcome.success("built sha256:abc", log=log, outputs={
            "digest": "sha256:abc", "container": Engineish(),
            "db_url": "postgresql://app:hunter2@db/app", "registry_password": "hunter2"})

    async def unit(ctx):
        return LaneOutcome.failure("1 test failed", junit=(pytest_junit,),
                                   tests=CaseCounts(total=3, failures=1, skipped=1))

    async def contract(ctx):
        return LaneOutcome.failure("2 findings at or above high", reports=(
            sarif, tmp_path / "never-written.json"), findings={"high": 2, "low": 1})

    graph = Graph([
        Lane("build:backend", build, kind="build"),
        Lane("unit-test:backend", unit, kind="unit-test"),
        Lane("contract:backend", contract, needs=("build:backend",), kind="contract"),
        Lane("integration", _never, needs=("contract:backend",), kind="integration"),
        Lane("publish", _never, needs=("integration",), kind="publish"),
    ])
    return anyio.run(run_graph, graph)


async def _never(ctx):  # pragma: no cover - these lanes are skipped
    raise AssertionError("a skipped lane ran")


def test_reports_are_written_for_a_failed_run(tmp_path, finished_run, pytest_junit):
    out = tmp_path / "reports"
    extra = tmp_path / "e2e.xml"
    extra.write_text('<testsuite name="e2e" tests="1"><testcase classname="e2e" name="login"/>'
                     "</testsuite>")
    paths = write_run_reports(finished_run, out, extra_junit=[extra])
    assert paths.directory == out
    assert sorted(p.name for p in out.iterdir()) == [
        "junit.xml", "lanes", "results.sarif", "summary.json", "summary.md", "summary.txt"]
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []

    root = ET.parse(paths.junit_xml).getroot()
    assert root.tag == "testsuites"
    suites = {suite.get("name"): suite for suite in root.findall("testsuite")}
    assert list(suites) == [
        "build:backend", "unit-test:backend", "unit-test:backend/pytest", "contract:backend",
        "integration", "publish", "e2e",
    ]
    # Lane suites: one case each, outcome as a child element.
    publish_case = suites["publish"].find("testcase")
    assert publish_case.get("name") == "publish"
    skipped = publish_case.find("skipped")
    assert skipped is not None and "needs 'integration'" in skipped.get("message")
    assert suites["contract:backend"].find("testcase/failure").get("message") == (
        "2 findings at or above high")
    assert suites["build:backend"].find("testcase").find("failure") is None
    # pytest's own cases are merged in unchanged.
    cases = {c.get("name"): c for c in suites["unit-test:backend/pytest"].iter("testcase")}
    assert set(cases) == {"test_ok", "test_broken", "test_later"}
    assert "one is not two" in cases["test_broken"].find("failure").get("message")
    assert cases["test_later"].find("skipped") is not None
    # Totals are recounted over every merged case: 5 lanes + 3 pytest + 1 extra.
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == (
        "9", "3", "0", "3")

    summary = RunSummary.from_json(paths.summary_json.read_text())
    assert summary.status is LaneStatus.FAILED and summary.exit_code == 1
    assert json.loads(paths.summary_json.read_text())["schema"] == "pipeline/run-summary@1"
    lanes = {lane.name: lane for lane in summary.lanes}
    assert lanes["integration"].skipped_because == "contract:backend"
    assert lanes["publish"].skipped_because == "integration"
    assert lanes["unit-test:backend"].tests.failures == 1
    assert lanes["contract:backend"].findings == {"high": 2, "low": 1}
    assert lanes["build:backend"].outputs == {
        "digest": "sha256:abc", "container": "<Engineish>",
        "db_url": "postgresql://app:***@db/app", "registry_password": "<redacted>"}
    assert lanes["build:backend"].files == ["lanes/build-backend/build.log"]
    assert lanes["contract:backend"].files == ["lanes/contract-backend/contract.sarif"]
    assert lanes["contract:backend"].missing_files == [str(tmp_path / "never-written.json")]
    assert summary.critical_path.lanes[0] in {"build:backend", "unit-test:backend"}
    for report in out.rglob("*"):
        if report.is_file():
            assert "hunter2" not in report.read_text(), report

    sarif = json.loads(paths.sarif.read_text())
    assert sarif["version"] == "2.1.0" and len(sarif["runs"]) == 1
    assert (out / "lanes/build-backend/build.log").read_text() == "step 1/4\n"

    markdown = paths.markdown.read_text()
    assert markdown.startswith("## Pipeline run: ❌ failed (exit 1)\n")
    assert "| `publish` | ⏭️ skipped | - | needs 'integration', which was skipped" in markdown
    assert paths.text.read_text() == render_summary(finished_run)


def test_unreadable_junit_becomes_an_error_case(tmp_path):
    broken = tmp_path / "broken.xml"
    broken.write_text("<testsuite><testcase name='x'>")  # truncated, as after a crash
    wrong = tmp_path / "wrong.xml"
    wrong.write_text("<html/>")
    run = RunResult((
        _result("unit:backend", LaneStatus.PASSED, junit=(broken, tmp_path / "absent.xml")),
    ))
    paths = write_run_reports(run, tmp_path / "reports", extra_junit=[wrong])
    root = ET.parse(paths.junit_xml).getroot()
    errors = {s.get("name"): s.find("testcase/error").get("message")
              for s in root.findall("testsuite") if s.find("testcase/error") is not None}
    assert errors[f"unit:backend/{broken.name}"].startswith(f"JUnit file {broken} is unreadable")
    assert errors["unit:backend/absent.xml"] == f"JUnit file {tmp_path / 'absent.xml'} is missing"
    assert "has root <html>" in errors["wrong.xml"]
    assert root.get("errors") == "3"


def _result(name, status, **kwargs):
    from pipeline.dag import LaneResult

    return LaneResult(name=name, status=status, **kwargs)


def test_control_characters_do_not_break_the_xml(tmp_path):
    run = RunResult((_result("lint", LaneStatus.FAILED, message="\x1b[31mred\x1b[0m \x00x"),))
    paths = write_run_reports(run, tmp_path / "reports")
    failure = ET.parse(paths.junit_xml).getroot().find("testsuite/testcase/failure")
    # Escaped, not dropped: the reader sees that the message held control characters.
    assert failure.get("message") == "\\x1b[31mred\\x1b[0m \\x00x"


def test_rewrite_replaces_the_previous_reports(tmp_path):
    out = tmp_path / "reports"
    write_run_reports([_result("old-lane", LaneStatus.PASSED, reports=(_file(tmp_path, "a"),))],
                      out)
    assert (out / "lanes/old-lane/a").exists()
    write_run_reports([_result("new-lane", LaneStatus.FAILED)], out)
    assert not (out / "lanes").exists()
    assert RunSummary.from_json((out / "summary.json").read_text()).lanes[0].name == "new-lane"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "reports"]


def _file(directory: Path, name: str) -> Path:
    path = directory / name
    path.write_text(name)
    return path


def test_failure_mid_write_leaves_the_old_reports_and_no_debris(tmp_path, monkeypatch):
    out = tmp_path / "reports"
    write_run_reports([_result("first", LaneStatus.PASSED)], out)
    before = (out / "summary.json").read_text()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer_module, "render_markdown", disk_full)
    with pytest.raises(ReportError) as info:
        write_run_reports([_result("second", LaneStatus.FAILED)], out)
    assert str(info.value) == f"{out}: cannot write reports: No space left on device"
    assert info.value.exit_code == 2
    assert (out / "summary.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports"]

    # A first write that fails leaves no directory at all.
    fresh = tmp_path / "fresh"
    with pytest.raises(ReportError):
        write_run_reports([_result("x", LaneStatus.PASSED)], fresh)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports"]


def test_refuses_to_replace_a_directory_that_is_not_reports(tmp_path):
    precious = tmp_path / "src"
    _file(precious.mkdir() or precious, "main.py")
    with pytest.raises(ReportError, match="not a reports directory"):
        write_run_reports([_result("x", LaneStatus.PASSED)], precious)
    assert (precious / "main.py").read_text() == "main.py"
    a_file = _file(tmp_path, "file")
    with pytest.raises(ReportError, match="not a directory"):
        write_run_reports([_result("x", LaneStatus.PASSED)], a_file)


def test_lane_folders_do_not_collide(tmp_path):
    run = [_result("build:backend", LaneStatus.PASSED, reports=(_file(tmp_path, "one"),)),
           _result("build-backend", LaneStatus.PASSED, reports=(_file(tmp_path, "two"),))]
    out = tmp_path / "reports"
    write_run_reports(run, out)
    summary = RunSummary.from_json((out / "summary.json").read_text())
    assert [lane.files for lane in summary.lanes] == [
        ["lanes/build-backend/one"], ["lanes/build-backend_/two"]]


def test_terminal_summary_table(finished_run):
    text = render_summary(finished_run)
    lines = text.splitlines()
    assert lines[0].split() == ["LANE", "STATUS", "DURATION", "REASON"]
    rows = {line.split()[0]: line for line in lines[1:-1]}
    assert rows["contract:backend"].split()[1] == "FAILED"
    assert "findings: 2 high, 1 low" in rows["contract:backend"]
    assert "tests: 1 passed, 1 failed, 1 skipped" in rows["unit-test:backend"]
    assert rows["publish"].split()[1:3] == ["skipped", "-"]
    assert "needs 'integration', which was skipped (first: 'contract:backend' failed)" in (
        rows["publish"])
    # Columns line up: every status starts at the same offset.
    offsets = {line.index(line.split()[1], len(line.split()[0])) for line in lines[:-1]}
    assert len(offsets) == 1
    assert lines[-1].startswith("5 lanes: 2 failed, 2 skipped, 1 passed; result: failed (exit 1)")


def test_markdown_escapes_cells():
    run = RunResult((_result("lint", LaneStatus.FAILED, message="a | b"),))
    row = render_markdown(run).splitlines()[4]
    assert row == "| `lint` | ❌ failed | - | a \\| b |"


def test_progress_printer_lines(capsys):
    graph = Graph([Lane("a", _fails), Lane("b", _never, needs=("a",))])
    anyio.run(lambda: run_graph(graph, on_event=progress_printer()))
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "[start] a"
    assert err[1].startswith("[failed] a in ") and err[1].endswith(": no")
    assert err[2] == "[skipped] b: needs 'a', which failed"


async def _fails(ctx):
    return LaneOutcome.failure("no")


def test_step_summary_appends(tmp_path):
    target = tmp_path / "step-summary.md"
    target.write_text("## earlier step\n")
    run = RunResult((_result("lint", LaneStatus.PASSED),))
    assert append_step_summary(render_markdown(run), target) == target
    text = target.read_text()
    assert text.startswith("## earlier step\n## Pipeline run: ✅ passed (exit 0)\n")
    assert append_step_summary("x", None) is None
    with pytest.raises(ReportError, match="cannot append the step summary"):
        append_step_summary("x", tmp_path / "no" / "such" / "dir.md")
