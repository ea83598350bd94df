"""Tooling containers: where lint, tests and probes run. Never a runtime image."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import dagger
from dagger import dag

from pipeline.dag.messages import one_line
from pipeline.lanes.context import ContainerStep
from pipeline.reasons import telling_line

# Package caches shared by every tooling container of every run: a changed
# source re-runs its installs without downloading everything again.
_CACHES = {
    "/root/.cache/pip": "pipeline-pip",
    "/root/.npm": "pipeline-npm",
    "/root/.cache/uv": "pipeline-uv",
}


# One CA bundle, named by every variable the tools read: pip and requests, uv, npm and
# Node, OpenSSL and curl. A TLS-intercepting proxy's root then reaches them all, uv
# included (it bundles its own roots and ignores the system store).
CA_PATH = "/etc/pipeline/ca-bundle.pem"
CA_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT", "CURL_CA_BUNDLE",
                "NODE_EXTRA_CA_CERTS", "NPM_CONFIG_CAFILE")


def with_ca_bundle(bundle: dagger.File | None) -> ContainerStep:
    """The step making every package manager trust `bundle` (nothing without one)."""
    def step(container: dagger.Container) -> dagger.Container:
        if bundle is None:
            return container
        container = container.with_mounted_file(CA_PATH, bundle)
        for name in CA_VARIABLES:
            container = container.with_env_variable(name, CA_PATH)
        return container

    return step


def tooling_container(image: str, *, source: dagger.Directory, workdir: str,
                      ca_bundle: dagger.File | None = None) -> dagger.Container:
    """A container from a tooling image with `source` at `workdir`, package caches mounted
    and, when given, `ca_bundle` trusted by every package manager."""
    container = dag.container().from_(image).with_(with_ca_bundle(ca_bundle))
    for path, key in _CACHES.items():
        container = container.with_mounted_cache(path, dag.cache_volume(key))
    # A cache volume is another filesystem: uv would warn on every install that it
    # cannot hardlink from its cache, then copy anyway.
    container = container.with_env_variable("UV_LINK_MODE", "copy")
    return container.with_directory(workdir, source).with_workdir(workdir)


@dataclass(frozen=True, slots=True)
class Step:
    """One shell command's result inside a tooling container."""

    command: str
    exit_code: int
    stdout: str
    stderr: str
    not_run: str = ""   # why the engine never ran it (a service it binds did not start)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.not_run

    def telling_line(self) -> str:
        """The output line that best says why the command failed (pipeline.reasons)."""
        return telling_line(self.stderr, self.stdout)

    def describe(self) -> str:
        if self.not_run:
            return f"`{short_command(self.command)}` did not run: {self.not_run}"
        tail = self.telling_line()
        return f"`{short_command(self.command)}` exited {self.exit_code}" + (f": {tail}" if tail else "")


def short_command(command: str, limit: int = 60) -> str:
    """A command as a reason line quotes it: long ones would push the reason itself out."""
    command = " ".join(command.split())
    return command if len(command) <= limit else command[: limit - 1] + "…"


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
            try:
                step = Step(command, await container.exit_code(), await container.stdout(),
                            await container.stderr())
            except dagger.QueryError as exc:
                # The engine starts the services an exec binds; one that does not start
                # fails the exec before the command runs, and the engine's error says which.
                step = Step(command, -1, "", "", not_run=one_line(str(exc)))
                out.write(f"$ {command}\n[did not run: {step.not_run}]\n")
                return container, step
            out.write(f"$ {command}\n{step.stdout}{step.stderr}[exit {step.exit_code}]\n")
            if not step.ok:
                return container, step
    return container, None
