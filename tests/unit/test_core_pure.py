"""The core (``streams/core/``) is pure, checked on its source with ``ast``: its modules import
each other in one direction only (no circle, not even through an import inside a function or
under ``TYPE_CHECKING``)."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "streams" / "core"
PACKAGE = "streams.core"


def core_modules() -> dict[str, Path]:
    return {f"{PACKAGE}.{path.stem}": path for path in sorted(CORE.glob("*.py"))
            if path.stem != "__init__"}


def imported_names(source: str, package: str = PACKAGE) -> list[tuple[int, str]]:
    """(line, dotted name) for every import anywhere in ``source``, a module of ``package``:
    ``import a.b`` gives a.b, ``from a import b`` gives a.b (b may be a module or a name)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join([*parts[: len(parts) - node.level + 1], *([base] if base else [])])
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def import_graph(sources: dict[str, str]) -> dict[str, set[str]]:
    """Module -> the modules of ``sources`` it imports (the longest name that is one)."""
    graph: dict[str, set[str]] = {module: set() for module in sources}
    for module, source in sources.items():
        for _, name in imported_names(source):
            while name and name not in sources:
                name = name.rpartition(".")[0]
            if name and name != module:
                graph[module].add(name)
    return graph


def circle(graph: dict[str, set[str]]) -> list[str] | None:
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        return list(error.args[1])
    return None


def test_the_core_modules_import_each_other_in_one_direction() -> None:
    sources = {m: p.read_text(encoding="utf-8") for m, p in core_modules().items()}
    found = circle(import_graph(sources))
    assert found is None, "import circle in streams/core: " + " -> ".join(found or [])


def test_the_graph_sees_circles_closed_by_lazy_and_type_checking_imports() -> None:
    sources = {
        f"{PACKAGE}.a": "from streams.core.b import B\n",
        f"{PACKAGE}.b": "def f():\n    from streams.core.c import C\n",
        f"{PACKAGE}.c": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                        "    from . import a\n",
    }
    found = circle(import_graph(sources))
    assert found is not None and set(found) == set(sources)
    del sources[f"{PACKAGE}.c"]
    assert circle(import_graph(sources)) is None


@pytest.mark.parametrize("source", ["import streams.core.b.x\n", "from streams.core.b import x\n",
                                    "from .b import x\n", "from . import b\n"])
def test_every_spelling_of_an_import_is_an_edge(source: str) -> None:
    graph = import_graph({f"{PACKAGE}.a": source, f"{PACKAGE}.b": ""})
    assert graph[f"{PACKAGE}.a"] == {f"{PACKAGE}.b"}
