"""Runtime containers started as Dagger services, wired to each other by name.

A service reaches what it `depends_on` under that name (`postgres`, `backend`),
as it would in a compose file. Identical definitions are one running service
per session, so lanes probing or testing the same topology share it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

import dagger

from pipeline.lanes.context import ContainerStep, RunContext
from pipeline.lanes.dependencies import dependency_container

if TYPE_CHECKING:
    from pipeline.lanes.servicewrap import ServiceWrapper


class Topology:
    """Builds `dagger.Service`s for the contract's services and dependencies."""

    def __init__(self, ctx: RunContext, images: Mapping[str, dagger.Container],
                 wrapper: ServiceWrapper | None = None) -> None:
        self.ctx = ctx
        self.images = images
        self.wrapper = wrapper  # keeps each started service's output (pipeline.lanes.servicewrap)
        self.started: list[str] = []  # instances declared, for collecting their output

    def container(self, name: str, *, without: frozenset[str] = frozenset()) -> dagger.Container:
        """The runtime container of service or dependency `name`, its dependencies bound,
        except those in `without` (to see how it behaves when they are down)."""
        contract = self.ctx.contract
        if name in contract.services:
            spec = contract.services[name]
            container = self.images[name].with_(self.ctx.with_env(
                spec.runtime.env, f"services.{name}.runtime.env", set(spec.env.secrets)))
            for dep in spec.runtime.depends_on:
                if dep not in without:
                    container = container.with_service_binding(dep, self.service(dep, without=without))
            return container.with_exposed_port(spec.port)
        return dependency_container(self.ctx, name)

    def service(self, name: str, *, without: frozenset[str] = frozenset()) -> dagger.Service:
        # The image's own ENTRYPOINT and CMD: the service runs as it would be deployed.
        return self.as_service(name, self.container(name, without=without), without=without)

    def as_service(self, name: str, container: dagger.Container, *,
                   without: frozenset[str] = frozenset(), role: str = "") -> dagger.Service:
        if role:
            # A lane's own instance (a probe) measures again in every run: the run id in its
            # definition keeps it, and all that reads it, out of Dagger's cache and apart
            # from any other run's. The others carry nothing of the run (servicewrap).
            container = container.with_env_variable("PIPELINE_RUN", self.ctx.run_id)
        if self.wrapper is None:
            return container.as_service(use_entrypoint=True)
        from pipeline.lanes.servicewrap import instance_name

        # The instance's name says what it runs without, as its definition does: a
        # dependency's definition never changes, a service's changes with any service
        # or dependency below it that is left out.
        instance = instance_name(name, without=without & self._below(name), role=role)
        self.started.append(instance)
        return self.wrapper.service(name, container, instance=instance, run_scoped=bool(role))

    def _init_digest(self, names: list[str]) -> str:
        services = self.ctx.contract.services
        steps = {name: services[name].runtime.init
                 for name in sorted({*names, *(b for n in names for b in self._below(n))})
                 if name in services and services[name].runtime.init}
        if not steps:
            return ""
        text = json.dumps({name: [list(args) for args in init] for name, init in steps.items()})
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def _below(self, name: str) -> set[str]:
        services, below, todo = self.ctx.contract.services, set(), [name]
        while todo:
            spec = services.get(todo.pop())
            for dep in spec.runtime.depends_on if spec else ():
                if dep not in below:
                    below.add(dep)
                    todo.append(dep)
        return below

    def bindings(self, names: list[str]) -> ContainerStep:
        """The step binding `names` (services or dependencies) under their own names."""
        # The services' init steps (pipeline.lanes.dependencies.Preparer) run before the
        # lane, outside its container: their digest in it makes a changed step run the
        # lane's tests again instead of answering from Dagger's cache.
        init = self._init_digest(names)

        def step(container: dagger.Container) -> dagger.Container:
            for name in names:
                container = container.with_service_binding(name, self.service(name))
            return container.with_env_variable("PIPELINE_INIT", init) if init else container

        return step
