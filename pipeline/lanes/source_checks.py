"""Source-check lanes: lint and unit tests in a tooling container built from the source.

The tooling image is the contract's `checks.image`, never the runtime image: what
lint and tests install stays out of what ships.
"""

from __future__ import annotations

from pipeline.contract import Service
from pipeline.dag import LaneContext, LaneOutcome, LaneRun
from pipeline.errors import LaneError
from pipeline.lanes.context import RunContext
from pipeline.lanes.dependencies import NotReady, Preparer
from pipeline.lanes.outputs import Upstream
from pipeline.lanes.reports import collect_junit
from pipeline.lanes.tooling import run_steps, tooling_container
from pipeline.lanes.topology import Topology


def source_check_lane(ctx: RunContext, spec: Service, step: str) -> LaneRun:
    """`step` is "lint" or "unit_test": which command list of `services.<name>.checks` to run."""
    checks = spec.checks
    if checks is None:
        raise LaneError(f"service {spec.name!r} declares no checks: no {step} lane")

    async def run(lane: LaneContext) -> LaneOutcome:
        out = ctx.lane_dir(lane.lane)
        log = out / "output.log"
        container = tooling_container(ctx.contract.images[checks.image],
                                      source=ctx.source.at(spec.context), workdir=checks.workdir,
                                      ca_bundle=ctx.ca_bundle)
        container, failed = await run_steps(container, checks.install, log)
        if failed:
            return LaneOutcome.failure(f"install step {failed.describe()}", log=log)
        # What the checks reach by name (a database), bound after the installs so a changed
        # image does not redo them; healthy and initialised before the first command.
        if checks.depends_on:
            topology = Topology(ctx, Upstream(lane).images())
            try:
                await Preparer(topology, log).prepare(
                    checks.depends_on, hold=len(getattr(checks, step)) > 1)
            except NotReady as exc:
                return LaneOutcome.failure(str(exc), log=log)
            container = container.with_(topology.bindings(checks.depends_on))
        container = container.with_(ctx.with_env(checks.env, f"services.{spec.name}.checks.env"))
        container, failed = await run_steps(container, getattr(checks, step), log)
        junit = ()
        if step == "unit_test" and checks.reports:
            junit = await collect_junit(container, f"{checks.workdir}/{checks.reports}", out / "junit")
        if failed:
            return LaneOutcome.failure(failed.describe(), log=log, junit=junit)
        return LaneOutcome.success(f"{len(getattr(checks, step))} command(s) passed", log=log,
                                   junit=junit)

    return run
