"""Runtime containers started as Dagger services, wired to each other by name.

A service reaches what it `depends_on` under that name (`postgres`, `backend`),
as it would in a compose file. Identical definitions are one running service
per session, so lanes probing or testing the same topology share it.
"""

from __future__ import annotations

from collections.abc import Mapping

import dagger

from pipeline.lanes.context import RunContext, with_env
from pipeline.lanes.dependencies import dependency_container


class Topology:
    """Builds `dagger.Service`s for the contract's services and dependencies."""

    def __init__(self, ctx: RunContext, images: Mapping[str, dagger.Container]) -> None:
        self.ctx = ctx
        self.images = images

    def container(self, name: str, *, without: frozenset[str] = frozenset()) -> dagger.Container:
        """The runtime container of service or dependency `name`, its dependencies bound,
        except those in `without` (to see how it behaves when they are down)."""
        contract = self.ctx.contract
        if name in contract.services:
            spec = contract.services[name]
            declared = set(spec.env.secrets)
            container = with_env(self.images[name],
                                 self.ctx.env(spec.runtime.env, f"services.{name}.runtime.env"),
                                 is_secret=lambda n: self.ctx.is_secret(n, declared))
            for dep in spec.runtime.depends_on:
                if dep not in without:
                    container = container.with_service_binding(dep, self.service(dep, without=without))
            return container.with_exposed_port(spec.port)
        return dependency_container(self.ctx, name)

    def service(self, name: str, *, without: frozenset[str] = frozenset()) -> dagger.Service:
        # The image's own ENTRYPOINT and CMD: the service runs as it would be deployed.
        return self.container(name, without=without).as_service(use_entrypoint=True)

    def bind(self, container: dagger.Container, names: list[str]) -> dagger.Container:
        for name in names:
            container = container.with_service_binding(name, self.service(name))
        return container
