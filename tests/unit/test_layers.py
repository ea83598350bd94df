"""The layers of docs/architecture.md, checked on the source: the domain imports no Dagger
and nothing above it, and no two modules import each other (directly or round a cycle)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "pipeline"
DOMAIN = ("contract", "image", "rules", "findings", "waivers", "dag", "report", "registry",
          "deploy", "errors", "textsafe", "atomic", "reasons", "probes", "resources",
          "startup_policy", "scaffold")
ABOVE_DOMAIN = ("pipeline.lanes", "pipeline.module", "pipeline.cli", "pipeline.validate",
                "pipeline.actions")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(path: Path) -> set[str]:
    """What a module imports when it is imported: module level, not under TYPE_CHECKING,
    not inside functions (those load on use)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.If):
                test = ast.unparse(node.test)
                if "TYPE_CHECKING" not in test:
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)

    visit(tree.body)
    return found


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}


def _is_domain(name: str) -> bool:
    return name.split(".")[1] in DOMAIN if name.count(".") else False


def test_the_domain_imports_no_dagger_and_nothing_above_it():
    offenders = []
    for name, path in sorted(MODULES.items()):
        if not _is_domain(name):
            continue
        for imported in _top_level_imports(path):
            if imported == "dagger" or imported.startswith("dagger."):
                offenders.append(f"{name} imports {imported}")
            if imported.startswith(ABOVE_DOMAIN):
                offenders.append(f"{name} imports {imported}")
    assert not offenders, offenders
    assert len([n for n in MODULES if _is_domain(n)]) > 50  # the walk did see the domain


def _edges() -> dict[str, set[str]]:
    """Module -> the pipeline modules it imports; a package's __init__ re-exporting its own
    submodules is not an edge (that is how a package shows its API)."""
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        targets = set()
        for imported in _top_level_imports(path):
            while imported and imported not in MODULES:
                imported = imported.rpartition(".")[0]
            if not imported or imported == name:
                continue
            if path.name == "__init__.py" and imported.startswith(name + "."):
                continue
            targets.add(imported)
        graph[name] = targets
    return graph


def test_no_import_cycle():
    graph = _edges()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def strongconnect(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                strongconnect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            strongconnect(node)
    assert not cycles, cycles
