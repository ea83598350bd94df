"""Reason lines on real captured outputs of each tool kind (tests/unit/data/reasons/).

Each file is what the tool printed when a command failed (captured on this machine,
paths shortened); the reason must be the line a person would have looked for.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.lanes.tooling import Step
from pipeline.reasons import (
    MAX_REASON,
    build_reason,
    clean_lines,
    dockerfile_step,
    failed_process,
    last_lines,
    step_output,
    telling_line,
)

DATA = Path(__file__).parent / "data" / "reasons"


def captured(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


@pytest.mark.parametrize(("name", "expected"), [
    ("pytest-full.out", "pytest: 2 failed, 2 passed in 1.01s; first: pyt/test_a.py::test_bad - "
                        "AssertionError: arithmetic"),
    ("pytest-q.out", "pytest: 2 failed, 2 passed in 1.09s; first: pyt/test_a.py::test_bad - "
                     "AssertionError: arithmetic"),
    ("vitest.out", "vitest: 1 failed | 2 passed (3); first: vt/a.test.js > subtracts"),
    ("vitest-color.out", "vitest: 1 failed | 2 passed (3); first: vt/a.test.js > subtracts"),
    ("pw-list.out", "playwright: 1 failed, 1 skipped, 2 passed (2.9s); first: pw/a.spec.js:3:1 › two"),
    ("pw-dot.out", "playwright: 1 failed, 1 skipped, 2 passed (3.3s); first: pw/a.spec.js:3:1 › two"),
])
def test_test_runner_reason_is_its_summary(name: str, expected: str) -> None:
    assert telling_line("", captured(name)) == expected


def test_pytest_colour_output_gives_the_same_summary() -> None:
    assert telling_line("", captured("pytest-color.out")).startswith("pytest: 2 failed, 2 passed in ")


@pytest.mark.parametrize(("name", "expected"), [
    ("uv-cert.out", "uv: Failed to fetch: https://127.0.0.1:8943/simple/httpx/: "
                    "invalid peer certificate: UnknownIssuer"),
    ("uv-missing.out", "uv: No solution found when resolving dependencies: Because "
                       "nonexistent-pkg-zz9-fh was not found in the package registry"),
    ("uv-conflict.out", "uv: No solution found when resolving dependencies: Because your project "
                        "depends on httpx>=0.20 and httpx<0.10"),
    ("pip-missing.out", "pip: Could not find a version that satisfies the requirement "
                        "nonexistent-pkg-zz9-fh==99.1 (from versions: none)"),
    ("pip-cert.out", "pip: certificate verify failed: unable to get local issuer certificate "
                     "(fetching https://127.0.0.1:8943/simple/nothing-here-fh/)"),
    ("npm-404.out", "npm: 404 Not Found - GET https://registry.npmjs.org/nonexistent-pkg-zz9-fh"),
])
def test_package_manager_reason_is_its_first_error(name: str, expected: str) -> None:
    assert telling_line(captured(name), "").startswith(expected)


def test_a_test_summary_outranks_an_install_warning_on_stderr() -> None:
    # `pip install -r req.txt && pytest` in one command: pip's root warning is the last
    # line of stderr, pytest's verdict is on stdout.
    warning = ("WARNING: Running pip as the 'root' user can result in broken permissions and "
               "conflicting behaviour with the system package manager.\n")
    assert telling_line(warning, captured("pytest-q.out")).startswith("pytest: 2 failed")


def test_long_command_keeps_the_reason_in_view() -> None:
    command = "pytest -q tests/unit " + " ".join(f"--deselect tests/unit/test_{i}.py" for i in range(30))
    reason = Step(command, 1, captured("pytest-full.out"), "").describe()
    assert "2 failed, 2 passed" in reason
    assert len(reason) < 300  # one_line's bound: the summary survives it


def test_decoration_and_notices_are_never_the_reason() -> None:
    out = "compiling\nreal problem: disk full\n==========\n[notice] A new release of pip\n"
    assert telling_line(out) == "real problem: disk full"


def test_an_unknown_tool_falls_back_to_its_last_line_stderr_first() -> None:
    assert telling_line("boom: it broke\n", "stdout line\n") == "boom: it broke"
    assert telling_line("", "Found 3 errors in 2 files (checked 9 source files)\n") == \
        "Found 3 errors in 2 files (checked 9 source files)"
    assert telling_line("", "") == ""


def test_an_error_line_of_some_other_tool_is_not_taken_for_uv() -> None:
    out = "src/a.c:1:1: warning: x\nerror: linker failed\nmake: *** [all] Error 1\n"
    assert telling_line(out) == "make: *** [all] Error 1"


def test_last_lines_of_a_build_step() -> None:
    assert last_lines(captured("pip-missing.out"), 2) == [
        "ERROR: Could not find a version that satisfies the requirement nonexistent-pkg-zz9-fh==99.1 "
        "(from versions: none)",
        "ERROR: No matching distribution found for nonexistent-pkg-zz9-fh==99.1",
    ]


def test_carriage_return_progress_keeps_what_was_left_on_screen() -> None:
    assert clean_lines("10%\r50%\r100% done\n") == ["100% done"]


@given(st.text(max_size=2000), st.text(max_size=2000))
def test_any_output_gives_one_bounded_line(stderr: str, stdout: str) -> None:
    line = telling_line(stderr, stdout)
    assert "\n" not in line and len(line) <= MAX_REASON


DOCKERFILE = """\
ARG PYTHON_IMAGE=python:3.11-slim
FROM ${PYTHON_IMAGE} AS build
# dependencies first
RUN --mount=type=cache,target=/root/.cache/pip pip install \\
    # pinned
    -r requirements.txt
RUN ["python", "-m", "compileall", "app"]
"""


def test_a_failed_build_names_its_step_line_and_error() -> None:
    reason = build_reason(["/bin/sh", "-c", "pip install     -r requirements.txt"], 1, "",
                          captured("pip-missing.out"), DOCKERFILE)
    assert reason == ("Dockerfile:4 RUN pip install -r requirements.txt exited 1: pip: Could not "
                      "find a version that satisfies the requirement nonexistent-pkg-zz9-fh==99.1 "
                      "(from versions: none)")


def test_exec_form_and_unknown_steps() -> None:
    assert dockerfile_step(["python", "-m", "compileall", "app"], DOCKERFILE) == \
        'Dockerfile:7 RUN ["python", "-m", "compileall", "app"]'
    assert dockerfile_step(["/bin/sh", "-c", "make"], DOCKERFILE) == "RUN make"
    assert dockerfile_step(["/bin/sh", "-c", "make"], "") == "RUN make"


def test_the_failed_step_output_is_found_in_the_engine_progress_log() -> None:
    message = ('process "/bin/sh -c echo building; echo oops >&2; pip install --no-index '
               'nonexistent-pkg-zz9-fh" did not complete successfully: exit code: 1')
    parsed = failed_process(message)
    assert parsed == (["/bin/sh", "-c", "echo building; echo oops >&2; pip install --no-index "
                       "nonexistent-pkg-zz9-fh"], 1)
    output = step_output(captured("dagger-session-build-failure.log"), parsed[0])
    assert output[:2] == ["building", "oops"]
    assert output[-1] == "ERROR: No matching distribution found for nonexistent-pkg-zz9-fh"
    assert telling_line("\n".join(output)).startswith("pip: ")
    assert step_output(captured("dagger-session-build-failure.log"), ["/bin/sh", "-c", "other"]) == []
    assert failed_process("failed to compute cache key: \"/x\" not found") is None
