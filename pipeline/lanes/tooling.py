"""Tooling containers: where lint, tests and probes run. Never a runtime image."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import dagger
from dagger import dag

# Package caches shared by every tooling container of every run: a changed
# source re-runs its installs without downloading everything again.
_CACHES = {
    "/root/.cache/pip": "pipeline-pip",
    "/root/.npm": "pipeline-npm",
}


def tooling_container(image: str, *, source: dagger.Directory, workdir: str) -> dagger.Container:
    """A container from a tooling image with `source` at `workdir` and package caches mounted."""
    container = dag.container().from_(image)
    for path, key in _CACHES.items():
        container = container.with_mounted_cache(path, dag.cache_volume(key))
    return container.with_directory(workdir, source).with_workdir(workdir)


@dataclass(frozen=True, slots=True)
class Step:
    """One shell command's result inside a tooling container."""

    command: str
    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def telling_line(self) -> str:
        """The output line that best says why the command failed, for a one-line reason."""
        for text in (self.stderr, self.stdout):
            lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
            if lines:
                return _telling(lines)[:200]
        return ""

    def describe(self) -> str:
        tail = self.telling_line()
        return f"`{self.command}` exited {self.exit_code}" + (f": {tail}" if tail else "")


# npm ends its errors with where its debug log went (inside the container, so of no
# use) after an error code; the message is the first npm error line past those.
_NPM_ERROR = re.compile(r"^npm (?:ERR!|error)\s*(.*)$")
_NPM_NOISE = re.compile(r"^(?:|code \S+|errno \S+|syscall \S+|path \S+|A complete log .*|/\S+\.log)$")


def _telling(lines: Sequence[str]) -> str:
    """The last line, which is where test runners, linters and pip put their verdict; for
    npm, its first message line."""
    npm = [m.group(1).strip() for m in map(_NPM_ERROR.match, lines) if m]
    message = next((text for text in npm if not _NPM_NOISE.match(text)), None)
    return f"npm: {message}" if message else lines[-1]


async def run_steps(
    container: dagger.Container, commands: Sequence[str], log: Path
) -> tuple[dagger.Container, Step | None]:
    """Run shell commands in order, stopping at the first that fails.

    Returns the container after the last command and the failed step (None if
    all passed). Every command's output is appended to `log`.
    """
    with log.open("a", encoding="utf-8") as out:
        for command in commands:
            container = container.with_exec(["sh", "-c", command], expect=dagger.ReturnType.ANY)
            step = Step(command, await container.exit_code(), await container.stdout(),
                        await container.stderr())
            out.write(f"$ {command}\n{step.stdout}{step.stderr}[exit {step.exit_code}]\n")
            if not step.ok:
                return container, step
    return container, None
