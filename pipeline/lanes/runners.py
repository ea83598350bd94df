"""Black-box lanes: integration and browser E2E tests from a separate runner container.

The runner reaches the started runtime containers over the network by their
service names; it never runs inside them.
"""

from __future__ import annotations

from pipeline.contract import Runner
from pipeline.dag import LaneContext, LaneOutcome, LaneRun
from pipeline.lanes.context import RunContext
from pipeline.lanes.dependencies import NotReady, Preparer
from pipeline.lanes.outputs import Upstream
from pipeline.lanes.reports import collect_junit
from pipeline.lanes.servicewrap import topology_names, wrapper_for
from pipeline.lanes.tooling import run_steps, tooling_container
from pipeline.lanes.topology import Topology

REPORTS = "/reports"


def runner_lane(ctx: RunContext, kind: str, runner: Runner) -> LaneRun:
    async def run(lane: LaneContext) -> LaneOutcome:
        images = Upstream(lane).images()
        out = ctx.lane_dir(lane.lane)
        log = out / "output.log"
        container = tooling_container(ctx.contract.images[runner.image],
                                      source=ctx.source.at(runner.source),
                                      workdir=runner.workdir, ca_bundle=ctx.ca_bundle)
        # Installs come before the services are bound: they do not depend on them,
        # so a change to an image does not redo them.
        container, failed = await run_steps(container, runner.install, log)
        if failed:
            return LaneOutcome.failure(f"install step {failed.describe()}", log=log)
        wrapper = await wrapper_for(ctx, images, topology_names(ctx, runner.services))
        topology = Topology(ctx, images, wrapper)
        try:
            await Preparer(topology, log).prepare(runner.services,
                                                    hold=len(runner.command) > 1)
        except NotReady as exc:
            return LaneOutcome.failure(str(exc), log=log)
        # The reports folder before the bindings: every exec after them starts the services.
        container = (container.with_exec(["mkdir", "-p", REPORTS])
                     .with_(topology.bindings(runner.services))
                     .with_(ctx.with_env(runner.env, f"{kind}.env")))
        container, failed = await run_steps(container, runner.command, log)
        junit = await collect_junit(container, REPORTS, out / "junit")
        # What the services said while the tests ran: where a 500's traceback is.
        kept = await wrapper.collect(topology.started, out / "services", log=log)
        reports = (out / "services",) if kept else ()
        if failed:
            return LaneOutcome.failure(failed.describe(), log=log, junit=junit, reports=reports)
        return LaneOutcome.success(f"{kind} tests passed", log=log, junit=junit, reports=reports)

    return run
