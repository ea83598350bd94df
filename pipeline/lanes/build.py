"""The build lane: each service's runtime image, built once from its Dockerfile and target."""

from __future__ import annotations

import dagger

from pipeline.dag import LaneContext, LaneOutcome, LaneRun
from pipeline.lanes.context import RunContext


def build_image(ctx: RunContext, service: str) -> dagger.Container:
    """The (lazy) runtime image of `service`, as its contract says to build it."""
    spec = ctx.contract.services[service]
    return ctx.source.directory(spec.context).docker_build(
        dockerfile=spec.dockerfile,
        target=spec.target or "",
        build_args=[dagger.BuildArg(name=k, value=v) for k, v in spec.build_args.items()],
        # Mounted by RUN --mount=type=secret,id=NAME: never in a layer or the history.
        secrets=list(ctx.env(spec.build_secrets, f"services.{service}.build_secrets").values())
        or None,
    )


def build_lane(ctx: RunContext, service: str) -> LaneRun:
    async def run(lane: LaneContext) -> LaneOutcome:
        image = await build_image(ctx, service).sync()
        # Every later lane receives this very container: nothing is rebuilt downstream.
        return LaneOutcome.success(f"built {service}", outputs={"image": image})

    return run
