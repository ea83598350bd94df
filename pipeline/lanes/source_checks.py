"""Source-check lanes: lint and unit tests in a tooling container built from the source.

The tooling image is the contract's `checks.image`, never the runtime image: what
lint and tests install stays out of what ships.
"""

from __future__ import annotations

from pipeline.dag import LaneContext, LaneOutcome, LaneRun
from pipeline.lanes.context import RunContext
from pipeline.lanes.reports import collect_junit
from pipeline.lanes.tooling import run_steps, tooling_container


def source_check_lane(ctx: RunContext, service: str, step: str) -> LaneRun:
    """`step` is "lint" or "unit_test": which command list of `services.<name>.checks` to run."""

    async def run(lane: LaneContext) -> LaneOutcome:
        checks = ctx.contract.services[service].checks
        assert checks is not None  # the graph declares these lanes only when checks exist
        out = ctx.lane_dir(lane.lane)
        log = out / "output.log"
        image = ctx.image_ref(checks.image, field_name=f"services.{service}.checks.image")
        source = ctx.source.directory(ctx.contract.services[service].context)
        container = tooling_container(image, source=source, workdir=checks.workdir,
                                      ca_bundle=ctx.ca_bundle)
        container, failed = await run_steps(container, checks.install, log)
        if failed:
            return LaneOutcome.failure(f"install step {failed.describe()}", log=log)
        container, failed = await run_steps(container, getattr(checks, step), log)
        junit = ()
        if step == "unit_test" and checks.reports:
            junit = await collect_junit(container, f"{checks.workdir}/{checks.reports}", out / "junit")
        if failed:
            return LaneOutcome.failure(failed.describe(), log=log, junit=junit)
        return LaneOutcome.success(f"{len(getattr(checks, step))} command(s) passed", log=log,
                                   junit=junit)

    return run
