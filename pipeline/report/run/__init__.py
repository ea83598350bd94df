"""Run reports: the terminal table, summary.json, merged JUnit, Markdown, written atomically.

    run = await run_graph(graph, on_event=progress_printer())
    print(render_summary(run), end="")
    paths = write_run_reports(run, "reports", extra_junit=[...])
    append_step_summary(paths.markdown.read_text(), os.environ.get("GITHUB_STEP_SUMMARY"))
    return run.exit_code
"""

from pipeline.report.run.junit import merged_junit
from pipeline.report.run.markdown import append_step_summary, render_markdown
from pipeline.report.run.summary import RunSummary, run_summary
from pipeline.report.run.table import progress_line, progress_printer, render_summary
from pipeline.report.run.writer import RunReportPaths, lane_folder, write_run_reports

__all__ = [
    "RunReportPaths",
    "RunSummary",
    "append_step_summary",
    "lane_folder",
    "merged_junit",
    "progress_line",
    "progress_printer",
    "render_markdown",
    "render_summary",
    "run_summary",
    "write_run_reports",
]
