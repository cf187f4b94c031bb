"""buildmock's packages import one another in one direction: the graph of their imports is acyclic."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import buildmock

ROOT = Path(buildmock.__file__).parent


def _unit(module: str) -> str | None:
    """``buildmock.<pkg>`` for a module of ours (``buildmock.server.app`` -> ``server``), else None."""
    parts = module.split(".")
    return parts[1] if parts[0] == "buildmock" and len(parts) > 1 else None


def _imports(source: Path) -> Iterator[str]:
    """Every module ``source`` imports, ``TYPE_CHECKING`` ones included (they are dependencies too)."""
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            # ``from buildmock import fixtures`` imports the unit ``fixtures``.
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def import_graph() -> dict[str, set[str]]:
    """``pkg -> {pkg it imports}`` over buildmock's subpackages and top-level modules."""
    units = {path.stem for path in ROOT.iterdir() if path.suffix == ".py" or path.is_dir()}
    graph: dict[str, set[str]] = {}
    for source in ROOT.rglob("*.py"):
        relative = source.relative_to(ROOT).with_suffix("")
        unit = relative.parts[0] if len(relative.parts) > 1 else relative.name
        if unit in ("__init__", "__main__"):
            continue
        edges = graph.setdefault(unit, set())
        for module in _imports(source):
            target = _unit(module)
            if target in units and target != unit:
                edges.add(target)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path (first node repeated last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target, [*path, target])):
                return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_the_package_import_graph_has_no_cycle() -> None:
    graph = import_graph()
    assert {"core", "server", "vendors", "domain"} <= graph.keys()
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_core_imports_nothing_of_ours() -> None:
    assert import_graph()["core"] == set()


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The finder itself: a cycle is reported as a path, an acyclic graph as None."""
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
