"""Write the run's reports directory all at once, whatever the lanes' outcome.

Layout of ``out_dir``::

    summary.json      the run as data (pipeline.report.run.summary.RunSummary)
    junit.xml         every lane as a testsuite, the lanes' own JUnit files merged in
    summary.md        for $GITHUB_STEP_SUMMARY
    summary.txt       the terminal table
    results.sarif     the lanes' SARIF reports merged (one run per file), if any
    lanes/<lane>/     files a lane declared (reports, log), copied with secrets masked

Everything is written into a temporary sibling directory which then replaces
``out_dir`` whole (pipeline.atomic.replace_directory), so a crash leaves either
the old reports or the new ones, never half of them. A non-empty ``out_dir`` without summary.json is not ours and
is never replaced.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from pipeline.atomic import replace_directory
from pipeline.dag.messages import one_line
from pipeline.dag.status import LaneResult, RunResult
from pipeline.errors import ReportError
from pipeline.report.run.junit import merged_junit, write_junit
from pipeline.report.run.markdown import render_markdown
from pipeline.report.run.summary import run_summary
from pipeline.report.run.table import render_summary
from pipeline.textsafe import mask_secret_lines

log = structlog.get_logger("pipeline.report.run")

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


@dataclass(frozen=True, slots=True)
class RunReportPaths:
    directory: Path
    summary_json: Path
    junit_xml: Path
    markdown: Path
    text: Path
    sarif: Path | None  # None when no lane produced SARIF


def write_run_reports(
    results: RunResult | Iterable[LaneResult],
    out_dir: str | Path,
    *,
    extra_junit: Iterable[str | Path] = (),
) -> RunReportPaths:
    """Write (or replace) ``out_dir`` with the run's reports; ReportError if it cannot."""
    run = RunResult.of(results)
    out = Path(out_dir)
    _refuse_foreign(out)

    def build(staging: Path) -> bool:
        files, missing, sarif_files = _copy_lane_files(run, staging)
        (staging / "summary.json").write_text(
            run_summary(run, files=files, missing=missing).to_json(), encoding="utf-8")
        write_junit(merged_junit(run, extra=[Path(p) for p in extra_junit]),
                    staging / "junit.xml")
        (staging / "summary.md").write_text(render_markdown(run), encoding="utf-8")
        (staging / "summary.txt").write_text(render_summary(run), encoding="utf-8")
        return _write_merged_sarif(sarif_files, staging / "results.sarif")

    try:
        has_sarif = replace_directory(out, build)
    except OSError as exc:
        raise ReportError(f"{out}: cannot write reports: {_why(exc)}") from exc
    log.info("run reports written", directory=str(out), status=run.status.value)
    return RunReportPaths(
        directory=out,
        summary_json=out / "summary.json",
        junit_xml=out / "junit.xml",
        markdown=out / "summary.md",
        text=out / "summary.txt",
        sarif=out / "results.sarif" if has_sarif else None,
    )


def _why(exc: OSError) -> str:
    return exc.strerror or one_line(str(exc)) or type(exc).__name__


def _refuse_foreign(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ReportError(f"{out}: exists and is not a directory; refusing to replace it")
    if out.is_dir() and any(out.iterdir()) and not (out / "summary.json").is_file():
        raise ReportError(
            f"{out}: not empty and not a reports directory (no summary.json); "
            "refusing to replace it"
        )


def lane_folder(name: str) -> str:
    """A folder name for a lane: colons and slashes are not portable in artifact paths."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-") or "lane"


def _copy_lane_files(
    run: RunResult, staging: Path,
) -> tuple[dict[str, list[str]], dict[str, list[str]], list[Path]]:
    files: dict[str, list[str]] = {}
    missing: dict[str, list[str]] = {}
    sarif: list[Path] = []
    used_folders: set[str] = set()
    for result in run:
        sources = [Path(p) for p in (*result.reports, *([result.log] if result.log else []))]
        if not sources:
            continue
        folder = lane_folder(result.name)
        while folder in used_folders:  # "build:backend" and "build-backend" would collide
            folder += "_"
        used_folders.add(folder)
        target_dir = staging / "lanes" / folder
        target_dir.mkdir(parents=True)
        for source in sources:
            if not source.exists():
                missing.setdefault(result.name, []).append(str(source))
                log.warning("lane report missing", lane=result.name, path=str(source))
                continue
            target = target_dir / source.name
            while target.exists():
                target = target.with_name("_" + target.name)
            if source.is_dir():
                shutil.copytree(source, target, symlinks=True, copy_function=copy_masked)
            else:
                copy_masked(source, target)
            files.setdefault(result.name, []).append(target.relative_to(staging).as_posix())
            if target.is_file() and target.name.endswith((".sarif", ".sarif.json")):
                sarif.append(target)
    return files, missing, sarif


def copy_masked(source: str | Path, target: str | Path) -> None:
    """Copy a lane's file with private keys, URL passwords and bearer tokens masked.

    Lane files hold what user code printed (a test that cats a key, a log line with a
    connection URL); the engine scrubs only the values it was given as secrets. The file
    is streamed line by line (bounded memory). In a file with a NUL byte near its start
    (a screenshot) only private keys are masked, so other bytes stay as they were.
    """
    with open(source, "rb") as src, open(target, "wb") as dst:
        binary = b"\0" in src.read(8192)
        src.seek(0)
        lines = (raw.decode("utf-8", "surrogateescape")
                 for raw in iter(lambda: src.readline(1 << 20), b""))
        for line in mask_secret_lines(lines, keys_only=binary):
            dst.write(line.encode("utf-8", "surrogateescape"))
    shutil.copystat(source, target)


def _write_merged_sarif(sources: list[Path], target: Path) -> bool:
    """SARIF 2.1.0 §3.13.4: a log holds many runs; merging logs is concatenating their runs."""
    runs: list[Any] = []
    for source in sources:
        try:
            document = json.loads(source.read_text(encoding="utf-8"))
            runs.extend(document["runs"])
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("lane SARIF unreadable, not merged", path=str(source),
                        error=one_line(str(exc)))
    if not runs:
        return False
    merged = {"version": "2.1.0", "$schema": SARIF_SCHEMA, "runs": runs}
    target.write_text(json.dumps(merged, indent=2) + "\n", encoding="utf-8")
    return True
