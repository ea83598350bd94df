"""The DAG issue 11 declares: tooling lanes that reach services, --keep-going's order-only
edges, and the scheduler running a lane after a failed one only when told to."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from pipeline.contract import load_contract
from pipeline.dag import Graph, Lane, LaneOutcome, LaneStatus, run_graph
from pipeline.errors import GraphError
from pipeline.lanes.context import RunContext
from pipeline.lanes.graph import validation_graph
from pipeline.lanes.source import Source

SIGNUP = Path(__file__).parents[2] / "examples" / "signup"
BOUND = 10


def graph_of(tmp_path: Path, text: str, **kwargs) -> Graph:
    (tmp_path / "pipeline.toml").write_text(text)
    contract = load_contract(tmp_path / "pipeline.toml")
    ctx = RunContext(source=Source.local(tmp_path), contract=contract, scratch=tmp_path, run_id="t")
    return validation_graph(ctx, **kwargs)


CONTRACT = """\
[images]
py = "python:3.11"
[services.api]
context = "api"
port = 80
runtime = { depends_on = ["db"] }
[services.api.checks]
image = "py"
unit_test = ["pytest"]
depends_on = ["db", "web"]
[services.web]
context = "web"
port = 8080
runtime = { depends_on = ["api"] }
[dependencies.db]
image = "py"
port = 5432
[integration]
image = "py"
source = "tests"
command = ["pytest"]
services = ["web", "db"]
"""


def test_a_tooling_lane_needs_the_builds_of_the_services_it_reaches(tmp_path: Path) -> None:
    graph = graph_of(tmp_path, CONTRACT)
    # web depends on api: both images are built before the unit tests start them.
    assert set(graph["unit-test:api"].needs) == {"build:api", "build:web"}


def test_test_lanes_are_gated_by_contract_lanes_by_default(tmp_path: Path) -> None:
    lane = graph_of(tmp_path, CONTRACT)["integration"]
    assert set(lane.needs) == {"contract:api", "contract:web"} and lane.after == ()


def test_keep_going_orders_test_lanes_after_contract_lanes_without_gating(tmp_path: Path) -> None:
    lane = graph_of(tmp_path, CONTRACT, keep_going=True)["integration"]
    assert set(lane.needs) == {"build:api", "build:web"}
    assert set(lane.after) == {"contract:api", "contract:web"}


def test_the_signup_example_declares_every_lane(tmp_path: Path) -> None:
    from pipeline.contract.loader import load_contract as load

    contract = load(SIGNUP / "pipeline.toml", [SIGNUP / "pipeline.offline.toml"])
    ctx = RunContext(source=Source.local(tmp_path), contract=contract, scratch=tmp_path, run_id="t")
    graph = validation_graph(ctx)
    assert set(graph.names) == {"build:app", "lint:app", "unit-test:app", "contract:app",
                                "integration", "e2e"}
    assert graph["unit-test:app"].needs == ()      # postgres is a dependency, not a build


def outcome(passed: bool):
    async def run(ctx):
        return LaneOutcome(passed=passed, message="ok" if passed else "gate said no")
    return run


async def run(graph: Graph):
    with anyio.fail_after(BOUND):
        return await run_graph(graph)


def test_an_after_lane_runs_when_the_lane_before_it_failed() -> None:
    seen: list[str] = []

    def recording(name: str, passed: bool = True):
        async def lane_run(ctx):
            seen.append(name)
            return LaneOutcome(passed=passed, message=name)
        return lane_run

    graph = Graph([
        Lane("build", recording("build")),
        Lane("contract", recording("contract", passed=False), needs=("build",)),
        Lane("tests", recording("tests"), needs=("build",), after=("contract",)),
        Lane("publish", recording("publish"), needs=("contract", "tests")),
    ])
    result = anyio.run(run, graph)
    assert result["contract"].status is LaneStatus.FAILED
    assert result["tests"].status is LaneStatus.PASSED
    assert seen.index("tests") > seen.index("contract")      # ordered, not gated
    assert result["publish"].status is LaneStatus.SKIPPED    # a need still gates
    assert result.exit_code == 1


def test_an_after_lane_is_still_skipped_when_a_need_fails() -> None:
    graph = Graph([
        Lane("build", outcome(False)),
        Lane("contract", outcome(True), needs=()),
        Lane("tests", outcome(True), needs=("build",), after=("contract",)),
    ])
    result = anyio.run(run, graph)
    assert result["tests"].status is LaneStatus.SKIPPED
    assert result["tests"].skipped_because == "build"


def test_after_edges_are_validated_and_take_part_in_cycles() -> None:
    with pytest.raises(GraphError, match="needs unknown lane 'nope'"):
        Graph([Lane("a", outcome(True), after=("nope",))]).validate()
    with pytest.raises(GraphError, match="cycle"):
        Graph([Lane("a", outcome(True), after=("b",)),
               Lane("b", outcome(True), needs=("a",))]).validate()


def test_selecting_an_after_lane_brings_what_it_waits_for() -> None:
    graph = Graph([Lane("contract", outcome(True)),
                   Lane("tests", outcome(True), after=("contract",))])
    assert set(graph.select(["tests"]).names) == {"contract", "tests"}


def test_plan_shows_order_only_edges() -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "pipeline", "plan", "--source", str(SIGNUP),
                           "--overlay", "pipeline.offline.toml", "--keep-going"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "after (whatever their result): contract:app" in done.stdout
    mermaid = subprocess.run([sys.executable, "-m", "pipeline", "plan", "--source", str(SIGNUP),
                              "--keep-going", "--format", "mermaid"],
                             capture_output=True, text=True, timeout=60, check=False)
    assert "-.->" in mermaid.stdout
