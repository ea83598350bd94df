"""Dependencies and one-shot steps: what must be up, healthy and initialised before a lane
starts the services it names.

- A dependency (`[dependencies.X]`) is an image or a Dockerfile build, with an optional
  command, env and health check. Its health check runs from the dependency's own image,
  in a container that reaches it by name, until it exits 0.
- A service's `runtime.init` steps run from the service's own image, with its env and
  dependencies, before it starts; each must exit 0 (compose's
  service_completed_successfully).

Both happen once per run, whichever lane asks first: every lane binds the same
definitions, so they share the one running instance (Dagger deduplicates services by
definition), and a migration run twice at once would race with itself. The per-run
memo lives in `RunContext.shared`. Each step's output goes to the asking lane's log.
A dependency with neither is not started ahead (`Preparer.prepare`).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import dagger
from dagger import dag

from pipeline.dag.messages import one_line
from pipeline.lanes.context import RunContext
from pipeline.lanes.tooling import Step

if TYPE_CHECKING:  # topology imports this module
    from pipeline.lanes.topology import Topology

_MEMO = "pipeline.lanes.dependencies"


class NotReady(Exception):
    """A dependency stayed unhealthy or an init step failed; the message says which and why."""


def dependency_container(ctx: RunContext, name: str) -> dagger.Container:
    """The container of dependency `name`: its image or build, command, env and ports."""
    dep = ctx.contract.dependencies[name]
    if dep.context is not None:
        container = ctx.source.at(dep.context).docker_build(
            dockerfile=dep.dockerfile, target=dep.target or "",
            build_args=[dagger.BuildArg(name=k, value=v) for k, v in dep.build_args.items()])
    else:
        assert dep.image is not None  # the model requires image or context
        image = ctx.contract.images[dep.image]
        container = dag.container().from_(image)
    if dep.command is not None:
        container = container.with_default_args(list(dep.command))
    container = container.with_(ctx.with_env(dep.env, f"dependencies.{name}.env"))
    for port in dep.ports:
        container = container.with_exposed_port(port)
    return container


async def _once(ctx: RunContext, key: str, make: Callable[[], Awaitable[None]],
                log: Path | None = None) -> None:
    """Run `make` once per run for `key`; concurrent callers wait for the first one's result
    (a failure is theirs too, noted in their `log`). A first caller cancelled on the way
    (its lane timed out) leaves no result: the next caller runs `make` itself."""
    memo: dict[str, tuple[anyio.Event, list[BaseException | None]]] = ctx.shared.setdefault(_MEMO, {})
    while key in memo:
        entry = memo[key]
        done, outcome = entry
        await done.wait()
        if memo.get(key) is not entry:
            continue                     # cancelled: ask again
        if outcome[0] is not None:
            if log is not None:
                with log.open("a", encoding="utf-8") as out:
                    out.write(f"$ {key}: failed earlier in this run: {outcome[0]}\n")
            raise outcome[0]
        return
    entry = done, outcome = anyio.Event(), [None]
    memo[key] = entry
    try:
        await make()
    except Exception as exc:
        outcome[0] = exc
        raise
    except BaseException:
        del memo[key]
        raise
    finally:
        done.set()


async def _run(container: dagger.Container, args: Sequence[str]) -> Step:
    # A fresh value each time: the engine must run the step now, never answer from its cache
    # (the dependency it talks to is a new instance in every run).
    container = container.with_env_variable("PIPELINE_ONCE", secrets.token_hex(8))
    ran = container.with_exec(list(args), expect=dagger.ReturnType.ANY)
    return Step(" ".join(args), await ran.exit_code(), await ran.stdout(), await ran.stderr())


def _append(log: Path | None, title: str, step: Step) -> None:
    if log is not None:
        with log.open("a", encoding="utf-8") as out:
            out.write(f"$ {title}: {step.command}\n{step.stdout}{step.stderr}[exit {step.exit_code}]\n")


class Preparer:
    """Readies what one lane names, in dependency order, before the lane starts it: health
    checks, init steps, and the dependencies that must be up for them or for the lane."""

    def __init__(self, topology: Topology, log: Path | None = None) -> None:
        self.topology, self.ctx, self.log = topology, topology.ctx, log

    async def prepare(self, names: Sequence[str], *, hold: bool = False) -> None:
        """Every dependency under `names` healthy, every service's init done. Raises NotReady
        naming the dependency or step that failed.

        A dependency is started here only when something must happen to it first, or it
        must keep its state from one exec to the next (`hold`): its health check, an init
        step above it, or a lane of several steps (the engine stops a service its last exec
        is done with, and starts it afresh for the next). Any other is left to the engine,
        which starts it with the exec that binds it: a lane answered from Dagger's cache
        then starts none of them (a health check or an init step runs in every run)."""
        for name in names:
            if name in self.ctx.contract.dependencies:
                if hold or self.ctx.contract.dependencies[name].health is not None:
                    await _once(self.ctx, f"dependency:{name}",
                                lambda n=name: self._dependency(n), self.log)
            else:
                spec = self.ctx.contract.services[name]
                init = bool(spec.runtime.init)
                await self.prepare(spec.runtime.depends_on, hold=hold or init)
                if init:
                    await _once(self.ctx, f"init:{name}", lambda n=name: self._init(n), self.log)

    async def _dependency(self, name: str) -> None:
        dep = self.ctx.contract.dependencies[name]
        service = self.topology.service(name)
        try:
            await service.start()
        except dagger.DaggerError as exc:
            raise NotReady(f"dependency {name} did not start: {one_line(str(exc))}") from None
        if dep.health is None:
            return
        probe = dependency_container(self.ctx, name).with_service_binding(name, service)
        step = None
        for attempt in range(dep.health.retries):
            if attempt:
                await anyio.sleep(dep.health.interval_seconds)
            step = await _run(probe, dep.health.command)
            if step.ok:
                _append(self.log, f"health of {name}", step)
                return
        assert step is not None
        _append(self.log, f"health of {name}", step)
        tail = step.telling_line()
        raise NotReady(f"dependency {name} not healthy after {dep.health.retries} checks: "
                       f"`{step.command}` exited {step.exit_code}" + (f": {tail}" if tail else ""))

    async def _init(self, name: str) -> None:
        container = self.topology.container(name)
        for index, args in enumerate(self.ctx.contract.services[name].runtime.init):
            step = await _run(container, args)
            _append(self.log, f"init {name}[{index}]", step)
            if not step.ok:
                tail = step.telling_line()
                raise NotReady(f"init step {index} of {name} `{step.command}` exited "
                               f"{step.exit_code}" + (f": {tail}" if tail else ""))
