"""Graph declaration, validation, ordering, critical path and plan rendering (no running)."""

from __future__ import annotations

import pytest

from pipeline.dag import Graph, Lane, LaneOutcome, plan_dot, plan_mermaid, plan_text
from pipeline.errors import GraphError


async def _noop(ctx):  # pragma: no cover - never run in these tests
    return LaneOutcome.success()


def lane(name: str, *needs: str, **kwargs) -> Lane:
    return Lane(name, _noop, needs=needs, **kwargs)


def release_graph() -> Graph:
    """The shape of the real pipeline for one service plus publish."""
    return Graph([
        lane("lint:backend", kind="lint", inputs=("source:backend",)),
        lane("build:backend", kind="build", inputs=("source:backend", "contract")),
        lane("contract:backend", "build:backend", kind="contract"),
        lane("integration", "build:backend", kind="integration", description="black-box tests"),
        lane("publish", "lint:backend", "contract:backend", "integration", kind="publish",
             timeout=60),
    ])


def test_unknown_need_is_one_line_naming_both_lanes():
    graph = Graph([lane("contract:backend", "build:backnd")])
    with pytest.raises(GraphError) as info:
        graph.validate()
    assert str(info.value) == "lane 'contract:backend' needs unknown lane 'build:backnd'"
    assert "\n" not in str(info.value)


def test_cycle_names_the_lanes_in_need_order():
    graph = Graph([lane("a", "b"), lane("b", "c"), lane("c", "a"), lane("d")])
    with pytest.raises(GraphError) as info:
        graph.order()
    message = str(info.value)
    assert message.startswith("lane needs form a cycle: ")
    chain = message.removeprefix("lane needs form a cycle: ").split(" -> ")
    assert chain[0] == chain[-1] and sorted(chain[:-1]) == ["a", "b", "c"]
    # Each arrow reads "needs": every lane in the chain needs the next one.
    for lane_name, need in zip(chain, chain[1:], strict=False):
        assert need in graph[lane_name].needs


def test_self_need_is_a_cycle():
    with pytest.raises(GraphError, match=r"cycle: a -> a$"):
        Graph([lane("a", "a")]).validate()


def test_duplicate_and_invalid_names_are_refused():
    graph = Graph([lane("build:backend")])
    with pytest.raises(GraphError, match="'build:backend' is declared twice"):
        graph.add(lane("build:backend"))
    with pytest.raises(GraphError, match="lane name 'bad name' is invalid"):
        graph.add(lane("bad name"))
    with pytest.raises(GraphError, match="lists need 'build:backend' twice"):
        Graph([lane("build:backend"), lane("x", "build:backend", "build:backend")]).validate()


def test_order_is_topological_with_declaration_order_for_ties():
    graph = release_graph()
    assert graph.order() == (
        "lint:backend", "build:backend", "contract:backend", "integration", "publish",
    )
    assert graph.levels() == (
        ("lint:backend", "build:backend"), ("contract:backend", "integration"), ("publish",),
    )


def test_critical_path_follows_the_longest_chain():
    graph = release_graph()
    durations = {
        "lint:backend": 30.0, "build:backend": 10.0, "contract:backend": 5.0,
        "integration": 25.0, "publish": 2.0,
    }
    path = graph.critical_path(durations)
    assert path.lanes == ("build:backend", "integration", "publish")
    assert path.duration == pytest.approx(37.0)
    # Make lint the long pole: the path moves to it.
    path = graph.critical_path({**durations, "lint:backend": 50.0})
    assert path.lanes == ("lint:backend", "publish")
    assert path.duration == pytest.approx(52.0)


def test_critical_path_counts_missing_durations_as_zero_and_empty_graph():
    graph = Graph([lane("a"), lane("b", "a")])
    path = graph.critical_path({"b": 1.5})
    assert path.lanes == ("a", "b") and path.duration == pytest.approx(1.5)
    empty = Graph().critical_path({})
    assert empty.lanes == () and empty.duration == 0.0


def test_plan_text_shows_levels_needs_inputs():
    assert plan_text(release_graph()) == (
        "Plan: 5 lanes in 3 levels (lanes of one level can run at the same time)\n"
        "Level 1\n"
        "  lint:backend  (lint)\n"
        "    inputs: source:backend\n"
        "  build:backend  (build)\n"
        "    inputs: source:backend, contract\n"
        "Level 2\n"
        "  contract:backend  (contract)\n"
        "    needs: build:backend\n"
        "  integration  (integration)  black-box tests\n"
        "    needs: build:backend\n"
        "Level 3\n"
        "  publish  (publish)\n"
        "    needs: lint:backend, contract:backend, integration\n"
        "    timeout: 60s\n"
    )


def test_plan_text_refuses_a_bad_graph():
    with pytest.raises(GraphError):
        plan_text(Graph([lane("a", "ghost")]))


def test_plan_mermaid_and_dot_have_every_edge():
    graph = release_graph()
    mermaid = plan_mermaid(graph)
    assert mermaid.startswith("flowchart LR\n")
    ids = {name: f"l{index}" for index, name in enumerate(graph.order())}
    for name in graph.names:
        assert f'{ids[name]}["{name}"]' in mermaid
        for need in graph[name].needs:
            assert f"{ids[need]} --> {ids[name]}" in mermaid
    dot = plan_dot(graph)
    assert dot.startswith("digraph pipeline {") and dot.rstrip().endswith("}")
    assert '"build:backend" -> "contract:backend";' in dot
    assert dot.count("->") == sum(len(graph[name].needs) for name in graph.names)


def test_upstream_and_select_keep_everything_a_lane_needs():
    graph = release_graph()
    assert graph.upstream("publish") == (
        "lint:backend", "build:backend", "contract:backend", "integration")
    assert graph.upstream("build:backend") == ()
    selected = graph.select(["contract:backend"])
    assert selected.names == ("build:backend", "contract:backend")
    selected.validate()
    with pytest.raises(GraphError, match=r"no lane named 'e2e' \(lanes: lint:backend, "):
        graph.select(["e2e"])
