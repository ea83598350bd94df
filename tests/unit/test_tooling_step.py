"""A failed tooling step is reported in one line that says why."""

from __future__ import annotations

from pipeline.lanes.tooling import Step

NPM_CI_WITHOUT_LOCKFILE = """\
npm ERR! code EUSAGE
npm ERR! 
npm ERR! The `npm ci` command can only install with an existing package-lock.json or
npm ERR! npm-shrinkwrap.json with lockfileVersion >= 1. Run an install with npm@5 or
npm ERR! 
npm ERR! Run "npm help ci" for more info

npm ERR! A complete log of this run can be found in:
npm ERR!     /root/.npm/_logs/2026-11-23T12_33_53_278Z-debug-0.log
"""


def step(stdout: str = "", stderr: str = "", command: str = "run") -> Step:
    return Step(command=command, exit_code=1, stdout=stdout, stderr=stderr)


def test_npm_failure_names_its_message_not_its_debug_log():
    reason = step(stderr=NPM_CI_WITHOUT_LOCKFILE, command="npm ci").describe()
    assert reason == ("`npm ci` exited 1: npm: The `npm ci` command can only install with an "
                      "existing package-lock.json or")


def test_newer_npm_error_prefix_is_understood():
    assert step(stderr="npm error code E404\nnpm error 404 Not Found - GET left-pad\n"
                       "npm error A complete log of this run can be found in: /x/y.log\n"
                ).telling_line() == "npm: 404 Not Found - GET left-pad"


def test_test_runner_verdict_is_the_last_line():
    out = "tests/unit/test_a.py F.\n\nFAILED tests/unit/test_a.py::test_x\n1 failed, 1 passed in 0.1s\n"
    assert step(stdout=out).telling_line() == \
        "pytest: 1 failed, 1 passed in 0.1s; first: tests/unit/test_a.py::test_x"


def test_stderr_wins_over_stdout_and_silence_says_only_the_exit_code():
    assert step(stdout="noise", stderr="ERROR: Could not open requirements file").telling_line() \
        == "pip: Could not open requirements file"
    assert step(stdout="noise", stderr="it broke").telling_line() == "it broke"
    assert step().describe() == "`run` exited 1"
