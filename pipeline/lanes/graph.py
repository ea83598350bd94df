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

from pipeline.contract import Contract
from pipeline.dag import Graph, Lane, ResourceClass
from pipeline.lanes.build import build_lane
from pipeline.lanes.context import RunContext
from pipeline.lanes.image_contract import contract_lane
from pipeline.lanes.publish import PublishOptions, publish_lane
from pipeline.lanes.runners import runner_lane
from pipeline.lanes.source_checks import source_check_lane


def service_closure(contract: Contract, names: list[str]) -> list[str]:
    """`names` and every service they depend on, transitively, in contract order
    (dependencies, which are not built, are left out)."""
    wanted: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in wanted or name not in contract.services:
            continue
        wanted.add(name)
        todo.extend(contract.services[name].runtime.depends_on)
    return [name for name in contract.services if name in wanted]


def validation_graph(ctx: RunContext, *, publish: PublishOptions | None = None,
                     keep_going: bool = False) -> Graph:
    """`keep_going`: test lanes still wait for the contract lanes of what they start, but run
    whatever those say (gradual adoption: test results before the images are perfect)."""
    contract = ctx.contract
    graph = Graph()
    for name, spec in contract.services.items():
        graph.add(Lane(f"build:{name}", build_lane(ctx, spec), kind="build",
                       inputs=(f"{spec.context}/{spec.dockerfile}",),
                       description=f"runtime image of {name}" + (f" (target {spec.target})" if spec.target else "")))
        checks = spec.checks
        if checks is not None:
            for step, kind in (("lint", "lint"), ("unit_test", "unit-test")):
                if getattr(checks, step):
                    # Services the checks reach by name are built first (dependencies are
                    # started by the lane itself).
                    reached = service_closure(contract, list(checks.depends_on))
                    graph.add(Lane(f"{kind}:{name}", source_check_lane(ctx, spec, step), kind=kind,
                                   needs=tuple(f"build:{s}" for s in reached),
                                   inputs=(spec.context, f"image {checks.image}"),
                                   description=f"{kind} of {name} in a tooling container"))
        deps = service_closure(contract, [name])
        # Its probes time startup and shutdown: run apart from lanes loading the machine.
        graph.add(Lane(f"contract:{name}", contract_lane(ctx, spec), kind="contract",
                       needs=tuple(f"build:{d}" for d in deps), resources=ResourceClass.TIMED,
                       description=f"static rules and runtime probes on the {name} image"))
    for kind in ("integration", "e2e"):
        runner = getattr(contract, kind)
        if runner is not None:
            started = service_closure(contract, list(runner.services))
            gates = tuple(f"contract:{s}" for s in started)
            graph.add(Lane(kind, runner_lane(ctx, kind, runner), kind=kind,
                           needs=tuple(f"build:{s}" for s in started) if keep_going else gates,
                           after=gates if keep_going else (),
                           inputs=(runner.source, f"image {runner.image}"),
                           description=f"{kind} tests from a runner container against {', '.join(started)}"))
    if publish is not None:
        gates = tuple(lane.name for lane in graph)
        graph.add(Lane("publish", publish_lane(ctx, publish), kind="publish", needs=gates,
                       description=f"push validated images by digest to {publish.repository}"))
    graph.validate()
    return graph
