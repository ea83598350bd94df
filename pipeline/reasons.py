"""The one line that says why a command failed, read from its output.

Each tool puts its verdict somewhere else: pytest, vitest and Playwright print a
summary near the end (Playwright's last line is only the *passed* count); pip,
uv and npm print their error first and follow it with retries, hints and
where their debug log went. A recogniser per tool kind finds that line; when
none recognises the output, the last line that is not decoration or a known
warning is the reason. Pure text: no Dagger, so it is unit-tested on real
captured outputs (tests/unit/data/reasons/).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence

MAX_REASON = 200

# Colours and cursor moves (CSI and OSC sequences) that tools print to a terminal.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
# A line of rules only (pytest's =====, vitest's ⎯⎯⎯, box drawing): never a reason.
_DECORATION = re.compile(r"^[\W_]*$")
# Lines tools print after the verdict that say nothing about the failure.
_NOISE = re.compile(
    r"^(?:WARNING: Running pip as the 'root' user.*|\[notice\] .*|npm (?:notice|warn)\b.*"
    r"|WARNING: You are using pip version.*|hint: .*)$", re.I)


def clean_lines(text: str) -> list[str]:
    """Non-empty lines, stripped of terminal escapes and surrounding blanks."""
    text = _ANSI.sub("", text).replace("\r\n", "\n")
    # A progress bar rewrites its line with \r: only what was left on screen counts.
    lines = (line.rsplit("\r", 1)[-1].strip() for line in text.split("\n"))
    return [line for line in lines if line]


# ---------------------------------------------------------------- test runners

# pytest's final line: "==== 2 failed, 39 passed, 1 warning in 12.31s ====", or bare with -q.
_PYTEST_SUMMARY = re.compile(
    r"^=*\s*((?:\d+ (?:failed|passed|errors?|skipped|xfailed|xpassed|warnings?|deselected|rerun)"
    r"(?:, )?)+ in [\d.]+s(?: \([^)]*\))?|no tests ran in [\d.]+s)\s*=*$")
_PYTEST_FIRST = re.compile(r"^(?:FAILED|ERROR) (\S+)(?: - (.*))?$")


def _pytest(lines: Sequence[str]) -> str | None:
    summary = next((m.group(1) for m in map(_PYTEST_SUMMARY.match, reversed(lines)) if m), None)
    if summary is None:
        return None
    first = next((m for m in map(_PYTEST_FIRST.match, lines) if m), None)
    if first is None:
        return f"pytest: {summary}"
    what = first.group(1) + (f" - {first.group(2)}" if first.group(2) else "")
    return f"pytest: {summary}; first: {what}"


# vitest: "      Tests  2 failed | 39 passed (41)" (and "Test Files  1 failed (1)" above it).
_VITEST_TESTS = re.compile(r"^Tests\s+(.*\d.*\(\d+\))$")
_VITEST_FILES = re.compile(r"^Test Files\s+(.*\(\d+\))$")
_VITEST_FAIL = re.compile(r"^FAIL\s+(.+)$")


def _vitest(lines: Sequence[str]) -> str | None:
    tests = next((m.group(1) for m in map(_VITEST_TESTS.match, reversed(lines)) if m), None)
    if tests is None:
        files = next((m.group(1) for m in map(_VITEST_FILES.match, reversed(lines)) if m), None)
        return f"vitest: test files {_spaced(files)}" if files else None
    first = next((m.group(1) for m in map(_VITEST_FAIL.match, lines) if m), None)
    return f"vitest: {_spaced(tests)}" + (f"; first: {first}" if first else "")


# Playwright Test ends with one count per line: "2 failed", "1 flaky", "39 passed (12.3s)".
_PLAYWRIGHT_COUNT = re.compile(
    r"^(\d+) (failed|flaky|skipped|did not run|interrupted|passed)(?: \(([\d.]+m?s|[\dm.]+s)\))?$")
_PLAYWRIGHT_RUNNING = re.compile(r"^Running \d+ tests? using \d+ workers?")
_PLAYWRIGHT_TEST = re.compile(r"^(?:\[\w+\] › )?\S+:\d+:\d+ › .*?[\s─]*$")


def _playwright(lines: Sequence[str]) -> str | None:
    if not any(_PLAYWRIGHT_RUNNING.match(line) for line in lines):
        return None
    counts: list[str] = []
    duration = ""
    first = ""
    # The counts block is the tail; between counts Playwright lists the tests that failed.
    for line in reversed(lines):
        match = _PLAYWRIGHT_COUNT.match(line)
        if match:
            counts.insert(0, f"{match.group(1)} {match.group(2)}")
            duration = duration or (match.group(3) or "")
        elif _PLAYWRIGHT_TEST.match(line) and counts:
            first = line.rstrip(" ─")
        elif counts:
            break
    if not counts:
        return None
    text = "playwright: " + ", ".join(counts) + (f" ({duration})" if duration else "")
    return text + (f"; first: {first}" if first and not counts[0].endswith("passed") else "")


def _spaced(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# ------------------------------------------------------------ package managers

# uv: "error: Failed to fetch: URL" then "  cause: ..." (or "Caused by: ...") lines, the
# deepest cause last; in a terminal the same comes as "× ..." and "╰─▶ ..." lines.
_UV_ERROR = re.compile(r"^error: (.*)$|^× (.*)$")
_UV_CAUSE = re.compile(r"^(?:cause|Caused by):\s*(.*)$|^╰─▶\s*(.*)$")


def _uv(lines: Sequence[str]) -> str | None:
    for i, line in enumerate(lines):
        match = _UV_ERROR.match(line)
        if not match:
            continue
        error = (match.group(1) or match.group(2) or "").rstrip(":")
        causes = [(c.group(1) or c.group(2)) for c in map(_UV_CAUSE.match, lines[i + 1:]) if c]
        if not causes and line.startswith("error:") and not _looks_like_uv(lines):
            return None  # some other tool's "error:" line; left to the fallback
        return f"uv: {error}" + (f": {causes[-1]}" if causes and causes[-1] not in error else "")
    return None


def _looks_like_uv(lines: Sequence[str]) -> bool:
    return any(line.startswith(("Using Python ", "Using CPython ", "Resolved ", "Prepared ",
                                "Audited ")) for line in lines)


# pip: "ERROR: ..." lines, the first the message; a network cause comes earlier as
# "Could not fetch URL ...: <why> - skipping" or "WARNING: Retrying ... after ... <why>".
_PIP_ERROR = re.compile(r"^ERROR: (.*)$")
_PIP_FETCH = re.compile(r"^Could not fetch URL (\S+): (There was a problem confirming the ssl "
                        r"certificate|.*?)(?::|$)")
_SSL_WHY = re.compile(r"certificate verify failed: ([^(')]+)")


def _pip(lines: Sequence[str]) -> str | None:
    errors = [m.group(1) for m in map(_PIP_ERROR.match, lines) if m]
    if not errors:
        return None
    for line in lines:
        fetch = _PIP_FETCH.match(line)
        if fetch:
            why = _SSL_WHY.search(line)
            cause = f"certificate verify failed: {why.group(1).strip()}" if why else fetch.group(2)
            return f"pip: {cause} (fetching {fetch.group(1)}); {errors[-1]}"
    return f"pip: {errors[0]}"


# npm ends its errors with where its debug log went (inside the container, so of no
# use) after an error code; the message is the first npm error line past those.
_NPM_ERROR = re.compile(r"^npm (?:ERR!|error)\s*(.*)$")
_NPM_NOISE = re.compile(r"^(?:|code \S+|errno \S+|syscall \S+|path \S+|A complete log .*|/\S+\.log)$")


def _npm(lines: Sequence[str]) -> str | None:
    npm = [m.group(1).strip() for m in map(_NPM_ERROR.match, lines) if m]
    message = next((text for text in npm if not _NPM_NOISE.match(text)), None)
    return f"npm: {message}" if message else None


# Most specific first: a test run's summary outranks an install warning printed beside it.
RECOGNISERS: tuple[Callable[[Sequence[str]], str | None], ...] = (
    _pytest, _playwright, _vitest, _npm, _uv, _pip,
)


def telling_line(*outputs: str) -> str:
    """The line of `outputs` (stderr first, then stdout) that best says why a command failed."""
    streams = [clean_lines(text) for text in outputs]
    everything = [line for lines in streams for line in lines]
    for recognise in RECOGNISERS:
        found = recognise(everything)
        if found:
            return _bounded(found)
    for lines in streams:
        meaningful = [line for line in lines if not _DECORATION.match(line) and not _NOISE.match(line)]
        if meaningful:
            return _bounded(meaningful[-1])
    return ""


def last_lines(text: str, count: int = 5) -> list[str]:
    """The last `count` meaningful lines of `text` (a build step's error tail)."""
    lines = [line for line in clean_lines(text) if not _DECORATION.match(line)]
    return lines[-count:]


def _bounded(text: str) -> str:
    text = _spaced(text)
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "..."


# ------------------------------------------------------------------------ builds

def dockerfile_step(command: Sequence[str], dockerfile: str) -> str:
    """The Dockerfile instruction a failed build process ran, as `Dockerfile:LINE RUN ...`
    when it can be found in `dockerfile` (shell or exec form), else `RUN <command>`."""
    command = list(command)
    shell = command[2] if len(command) == 3 and command[:2] in (["/bin/sh", "-c"], ["sh", "-c"]) else None
    wanted = _spaced(shell if shell is not None else " ".join(command))
    for line_no, body in _run_instructions(dockerfile):
        if body.startswith("["):
            try:
                same = json.loads(body) == command
            except ValueError:
                same = False
        else:
            same = bool(wanted) and _spaced(body) == wanted
        if same:
            return f"Dockerfile:{line_no} RUN {_bounded_text(body, 80)}"
    return f"RUN {_bounded_text(wanted, 80)}"


def _run_instructions(dockerfile: str) -> list[tuple[int, str]]:
    """(first line, body) of each RUN instruction, continuation lines joined, comments dropped."""
    found: list[tuple[int, str]] = []
    logical, first = "", 0
    for number, raw in enumerate(dockerfile.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("#") or (not line and logical):
            continue
        first = first or number
        if line.endswith("\\"):
            logical += " " + line[:-1]
            continue
        match = re.match(r"(?i)^RUN\s+(?:--\S+\s+)*(.*)$", _spaced(logical + " " + line))
        if match:
            found.append((first, match.group(1)))
        logical, first = "", 0
    return found


def _bounded_text(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def build_reason(command: Sequence[str], exit_code: int, stdout: str, stderr: str,
                 dockerfile: str = "") -> str:
    """A failed build's reason: the failing step, its exit code, and its telling line."""
    step = dockerfile_step(command, dockerfile)
    why = telling_line(stderr, stdout)
    return f"{step} exited {exit_code}" + (f": {why}" if why else "")


# The engine's error for a failed Dockerfile step names the process, not its output.
_PROCESS_FAILED = re.compile(r'process "(?P<command>.*)" did not complete successfully: '
                             r"exit code: (?P<code>\d+)", re.S)
# A line of the engine's plain progress: "14  : ┆ ┆ [1.0s] | output text".
_SPAN_LINE = re.compile(r"^(?P<span>\d+)\s*:\s[┆\s]*(?P<rest>.*)$")


def failed_process(message: str) -> tuple[list[str], int] | None:
    """(command, exit code) from the engine's "process ... did not complete" error."""
    match = _PROCESS_FAILED.search(message)
    if not match:
        return None
    command = match.group("command")
    shell = "/bin/sh -c "
    argv = ["/bin/sh", "-c", command[len(shell):]] if command.startswith(shell) else command.split()
    return argv, int(match.group("code"))


def step_output(session_log: str, command: Sequence[str]) -> list[str]:
    """The output lines the engine's progress log shows for the build step running `command`
    (its `RUN ...` span); empty when the log does not hold it."""
    body = command[2] if len(command) == 3 and command[1] == "-c" else " ".join(command)
    wanted = _spaced(body)
    spans: set[str] = set()
    output: list[str] = []
    for raw in _ANSI.sub("", session_log).splitlines():
        match = _SPAN_LINE.match(raw.strip())
        if not match:
            continue
        span, rest = match.group("span"), match.group("rest")
        step = re.match(r"^(?:\[\d+/\d+\] )?RUN (.*?)(?: (?:ERROR|DONE|CACHED)(?: \[[\d.]+m?s\])?)?$", rest)
        if step and _spaced(step.group(1)) == wanted:
            if span not in spans:
                spans.add(span)
                output = []  # a retried step: its last attempt is the one that failed
            continue
        if span in spans:
            line = re.match(r"^\[[\d.]+m?s\] \| ?(.*)$", rest)
            if line:
                output.append(line.group(1))
    return output
