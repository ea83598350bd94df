"""Multi-file outputs are swapped in whole: a failure part-way leaves the previous set intact."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.atomic import replace_directory
from pipeline.dag.status import LaneResult, LaneStatus, RunResult
from pipeline.deploy.files import ServiceImage, write_deploy_files
from pipeline.errors import PipelineError, ReportError
from pipeline.findings import Evidence, Finding
from pipeline.report import findings as reports
from pipeline.report.run import write_run_reports
from tests.hostile.harness import run_cli
from tests.imagebuilder import ImageBuilder, write_contract

DIGEST = "sha256:" + "d" * 64


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def _no_leftovers(parent: Path) -> None:
    assert not [p for p in parent.iterdir() if p.name.startswith(".")], list(parent.iterdir())


class Boom(Exception):
    pass


def test_replace_directory_failure_keeps_the_old_set(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "a.txt").write_text("old a")
    (target / "keep.txt").write_text("not ours")
    before = _snapshot(target)

    def half_then_fail(staging: Path) -> None:
        (staging / "a.txt").write_text("new a")
        raise Boom

    with pytest.raises(Boom):
        replace_directory(target, half_then_fail, keep=lambda name: name == "keep.txt")
    assert _snapshot(target) == before
    _no_leftovers(tmp_path)


def test_replace_directory_swaps_and_carries_what_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "out"
    (target / "sub").mkdir(parents=True)
    (target / "a.txt").write_text("old a")
    (target / "sub" / "other.txt").write_text("other")
    (target / "stale.txt").write_text("stale")

    def write(staging: Path) -> str:
        (staging / "a.txt").write_text("new a")
        return "done"

    assert replace_directory(target, write, keep=lambda name: name == "sub") == "done"
    assert _snapshot(target) == {"a.txt": b"new a", "sub/other.txt": b"other"}
    _no_leftovers(tmp_path)


def test_replace_directory_refuses_files_symlinks_and_the_cwd(tmp_path: Path,
                                                              monkeypatch) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path)
    for bad in (tmp_path / "file", tmp_path / "link"):
        with pytest.raises(OSError):
            replace_directory(bad, lambda staging: None)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OSError):
        replace_directory(Path("."), lambda staging: None)
    assert (tmp_path / "file").read_text() == "x"


def test_render_failing_part_way_leaves_the_previous_files(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "deploy"
    services = [ServiceImage("api", f"127.0.0.1:5000/team/api@{DIGEST}", 8000),
                ServiceImage("web", f"127.0.0.1:5000/team/web@{DIGEST}", 80)]
    write_deploy_files(out, "prod", services)
    (out / "README.md").write_text("the user's own file")
    before = _snapshot(out)
    real_write = Path.write_text
    calls = {"n": 0}

    def fail_on_second(self: Path, *args, **kwargs):   # compose.yaml written, then a full disk
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device")
        return real_write(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", fail_on_second)
    with pytest.raises(PipelineError, match="No space left"):
        write_deploy_files(out, "staging", services)
    monkeypatch.setattr(Path, "write_text", real_write)
    assert _snapshot(out) == before
    write_deploy_files(out, "staging", services[:1])  # web is gone from the new set
    assert sorted(_snapshot(out)) == ["README.md", "compose.yaml", "k8s/api.yaml"]
    _no_leftovers(tmp_path)


def test_render_refuses_a_file_where_the_directory_goes(tmp_path: Path) -> None:
    (tmp_path / "deploy").write_text("not a directory")
    with pytest.raises(PipelineError):
        write_deploy_files(tmp_path / "deploy", "prod",
                           [ServiceImage("api", f"127.0.0.1:5000/team/api@{DIGEST}")])


def test_reports_failing_part_way_leave_the_previous_set(tmp_path: Path, monkeypatch) -> None:
    findings = [Finding("fs.setuid", "setuid x", (Evidence(path="x"),))]
    out = tmp_path / "reports"
    reports.write_all(findings, out, name="check-image-api")
    reports.write_all([], out, name="check-image-web")     # another service, same directory
    before = _snapshot(out)
    real = reports.sarif.render
    monkeypatch.setattr(reports.sarif, "render", lambda *a, **k: (_ for _ in ()).throw(Boom))
    with pytest.raises(Boom):
        reports.write_all([], out, name="check-image-api")
    assert _snapshot(out) == before
    monkeypatch.setattr(reports.sarif, "render", real)
    reports.write_all([], out, name="check-image-api")
    after = _snapshot(out)
    assert after["check-image-web.json"] == before["check-image-web.json"]   # carried over
    assert after["check-image-api.json"] != before["check-image-api.json"]
    _no_leftovers(tmp_path)


def test_reports_into_a_file_is_one_line(tmp_path: Path) -> None:
    write_contract(tmp_path)
    ImageBuilder.clean().write(tmp_path / "clean.tar")
    (tmp_path / "reports").write_text("a file")
    outcome = run_cli("check-image", "clean.tar", "--service", "backend", "--reports", "reports",
                      cwd=tmp_path)
    assert outcome.code == 2 and len(outcome.stderr_lines) == 1, outcome.stderr
    assert (tmp_path / "reports").read_text() == "a file"


def test_run_reports_failing_part_way_leave_the_previous_set(tmp_path: Path,
                                                            monkeypatch) -> None:
    from pipeline.report.run import writer

    out = tmp_path / "reports"
    write_run_reports(RunResult((LaneResult(name="lint", status=LaneStatus.PASSED),)), out)
    before = _snapshot(out)

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer, "render_summary", broken)
    with pytest.raises(ReportError):
        write_run_reports(RunResult((LaneResult(name="lint", status=LaneStatus.FAILED),)), out)
    assert _snapshot(out) == before
    _no_leftovers(tmp_path)
