"""The validation DAG, declared from the contract.

    build:<svc> ─┬─> contract:<svc> ─┬─> integration ─┐
                 │                   └─> e2e ─────────┼─> publish (only with a target)
    lint:<svc>, unit-test:<svc> (tooling containers) ─┘

A service's contract lane also needs the builds of the services it depends on
(the frontend's probes run it against the backend). Integration and E2E need
the contract lanes of every service they start: an image that breaks its
contract is never tested further, and is named as the reason they were skipped.
"""

from __future__ import annotations

from pipeline.dag import Graph, Lane, ResourceClass
from pipeline.lanes.build import build_lane
from pipeline.lanes.context import RunContext
from pipeline.lanes.image_contract import contract_lane
from pipeline.lanes.publish import PublishOptions, publish_lane
from pipeline.lanes.runners import runner_lane
from pipeline.lanes.source_checks import source_check_lane


def service_closure(ctx: RunContext, names: list[str]) -> list[str]:
    """`names` and every service they depend on, transitively, in contract order."""
    wanted: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in wanted or name not in ctx.contract.services:
            continue
        wanted.add(name)
        todo.extend(ctx.contract.services[name].runtime.depends_on)
    return [name for name in ctx.contract.services if name in wanted]


def validation_graph(ctx: RunContext, *, publish: PublishOptions | None = None) -> Graph:
    contract = ctx.contract
    graph = Graph()
    for name, spec in contract.services.items():
        graph.add(Lane(f"build:{name}", build_lane(ctx, name), kind="build",
                       inputs=(f"{spec.context}/{spec.dockerfile}",),
                       description=f"runtime image of {name}" + (f" (target {spec.target})" if spec.target else "")))
        checks = spec.checks
        if checks is not None:
            for step, kind in (("lint", "lint"), ("unit_test", "unit-test")):
                if getattr(checks, step):
                    graph.add(Lane(f"{kind}:{name}", source_check_lane(ctx, name, step), kind=kind,
                                   inputs=(spec.context, f"image {checks.image}"),
                                   description=f"{kind} of {name} in a tooling container"))
        deps = service_closure(ctx, [name])
        # Its probes time startup and shutdown: run apart from lanes loading the machine.
        graph.add(Lane(f"contract:{name}", contract_lane(ctx, name), kind="contract",
                       needs=tuple(f"build:{d}" for d in deps), resources=ResourceClass.TIMED,
                       description=f"static rules and runtime probes on the {name} image"))
    for kind in ("integration", "e2e"):
        runner = getattr(contract, kind)
        if runner is not None:
            started = service_closure(ctx, list(runner.services))
            graph.add(Lane(kind, runner_lane(ctx, kind, runner), kind=kind,
                           needs=tuple(f"contract:{s}" for s in started),
                           inputs=(runner.source, f"image {runner.image}"),
                           description=f"{kind} tests from a runner container against {', '.join(started)}"))
    if publish is not None:
        gates = tuple(lane.name for lane in graph)
        graph.add(Lane("publish", publish_lane(ctx, publish), kind="publish", needs=gates,
                       description=f"push validated images by digest to {publish.repository}"))
    graph.validate()
    return graph
