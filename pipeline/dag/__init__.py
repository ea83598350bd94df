"""The lanes' DAG: declaration, validation, plan, and the anyio scheduler. No Dagger here.

Build a ``Graph`` of ``Lane``s, then ``await run_graph(graph)`` for a ``RunResult``::

    async def build(ctx: LaneContext) -> LaneOutcome:
        return LaneOutcome.success(outputs={"digest": "sha256:..."})

    graph = Graph([Lane("build:backend", build, kind="build"),
                   Lane("contract:backend", check, needs=("build:backend",))])
    print(plan_text(graph))
    run = await run_graph(graph, fail_fast=False)
"""

from pipeline.dag.graph import (
    CriticalPath,
    Graph,
    Lane,
    LaneContext,
    LaneRun,
    critical_path_of,
)
from pipeline.dag.plan import plan_dot, plan_mermaid, plan_text
from pipeline.dag.resources import ResourceClass
from pipeline.dag.scheduler import EventCallback, LaneEvent, run_graph
from pipeline.dag.status import CaseCounts, LaneOutcome, LaneResult, LaneStatus, RunResult

__all__ = [
    "CaseCounts",
    "CriticalPath",
    "EventCallback",
    "Graph",
    "Lane",
    "LaneContext",
    "LaneEvent",
    "LaneOutcome",
    "LaneResult",
    "LaneRun",
    "LaneStatus",
    "ResourceClass",
    "RunResult",
    "critical_path_of",
    "plan_dot",
    "plan_mermaid",
    "plan_text",
    "run_graph",
]
