"""The plan of a graph, drawn without running it: text for the terminal, Mermaid and DOT for docs.

(Named "plan", not "render": `render` is the deployment files of a stage, pipeline.registry.)

Lane names are restricted (see graph._NAME) to characters that need no quoting
inside a double-quoted Mermaid label or DOT identifier.
"""

from __future__ import annotations

from pipeline.dag.graph import Graph
from pipeline.dag.resources import ResourceClass


def plan_text(graph: Graph) -> str:
    """Lanes by level, each with its kind, needs and inputs; a bad graph raises GraphError."""
    levels = graph.levels()
    lines = [
        f"Plan: {_count(len(graph), 'lane')} in {_count(len(levels), 'level')}"
        " (lanes of one level can run at the same time)",
    ]
    for number, level in enumerate(levels, start=1):
        lines.append(f"Level {number}")
        for name in level:
            lane = graph[name]
            head = f"  {name}"
            if lane.kind:
                head += f"  ({lane.kind})"
            if lane.description:
                head += f"  {lane.description}"
            lines.append(head)
            if lane.needs:
                lines.append(f"    needs: {', '.join(lane.needs)}")
            if lane.after:
                lines.append(f"    after (whatever their result): {', '.join(lane.after)}")
            if lane.inputs:
                lines.append(f"    inputs: {', '.join(lane.inputs)}")
            if lane.timeout is not None:
                lines.append(f"    timeout: {lane.timeout:g}s")
            if lane.resources is ResourceClass.TIMED:
                lines.append("    probes apart: it times startup, so no other lane runs while it probes")
    return "\n".join(lines) + "\n"


def plan_mermaid(graph: Graph) -> str:
    # Mermaid ids cannot hold colons, so nodes get positional ids and a label.
    ids = {name: f"l{index}" for index, name in enumerate(graph.order())}
    lines = ["flowchart LR"]
    for name, node in ids.items():
        lines.append(f'  {node}["{name}"]')
    for name in ids:
        for need in graph[name].needs:
            lines.append(f"  {ids[need]} --> {ids[name]}")
        for before in graph[name].after:
            lines.append(f"  {ids[before]} -.-> {ids[name]}")
    return "\n".join(lines) + "\n"


def plan_dot(graph: Graph) -> str:
    lines = ["digraph pipeline {", "  rankdir=LR;"]
    for name in graph.order():
        kind = graph[name].kind.replace("\\", "\\\\").replace('"', '\\"')
        label = f"{name}\\n({kind})" if kind else name
        lines.append(f'  "{name}" [label="{label}"];')
    for name in graph.order():
        for need in graph[name].needs:
            lines.append(f'  "{need}" -> "{name}";')
        for before in graph[name].after:
            lines.append(f'  "{before}" -> "{name}" [style=dashed];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
