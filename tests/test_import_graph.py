"""The project's import graph has no circle, and the leaf modules stay leaves.

Every module under crawler/ and pipelines/ is parsed (not imported), and every import in it
counts: at module level, inside functions, under ``if TYPE_CHECKING``. A lazy import that
only hides a circle from the interpreter is still a circle in the design.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("crawler", "pipelines")

# Leaf modules: shared by spiders, pipelines and the writer, so they may import nothing of the
# project except what is listed (the standard library and third parties are fine). Identity
# uses the one definition of a URL's identity, ``url_key``, itself pure.
LEAVES = {
    "crawler.errors": set(),
    "crawler.items": set(),
    "crawler.identity": {"crawler.items", "crawler.extract.urls"},
    "crawler.extract.urls": {"crawler.extract.text"},
    "crawler.extract.text": set(),
}


def _modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules ``name`` imports anywhere in its source."""
    found: set[str] = set()
    package = name if _is_package(path) else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join([*base, node.module] if node.module else base)
            else:
                origin = node.module or ""
            # "from a.b import c" imports the module a.b.c when there is one, else a name of a.b.
            targets = [
                f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in modules else origin
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            # "import a.b.c" where only a.b is ours (a name, not a module): the longest module.
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        # Recursion depth is bounded by the number of project modules (about a hundred).
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
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
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def _path_in(component: list[str], graph: dict[str, set[str]]) -> str:
    """One circle through the component's first module, spelled out for the failure message."""
    start = component[0]
    members = set(component)
    trail = [start]
    seen = {start}
    while True:
        nxt = sorted(graph[trail[-1]] & members)
        back = [m for m in nxt if m == start]
        if back and len(trail) > 1:
            return " -> ".join([*trail, start])
        fresh = [m for m in nxt if m not in seen]
        if not fresh:
            return " <-> ".join(component)
        trail.append(fresh[0])
        seen.add(fresh[0])


def test_the_graph_sees_function_level_and_relative_imports(tmp_path):
    """The parser itself: a lazy import inside a function is an edge, so is a relative one."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text("def f():\n    from pkg import b\n")
    (tmp_path / "pkg" / "b.py").write_text("from .a import f\n")
    modules = {
        "pkg": tmp_path / "pkg" / "__init__.py",
        "pkg.a": tmp_path / "pkg" / "a.py",
        "pkg.b": tmp_path / "pkg" / "b.py",
    }
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    assert graph == {"pkg": set(), "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.a"}}
    assert cycles(graph) == [["pkg.a", "pkg.b"]]


def test_a_known_edge_is_in_the_project_graph():
    graph = import_graph()
    assert "crawler.items" in graph["pipelines.store"]
    assert "crawler.db.revisions" in graph["pipelines.store"]  # "from crawler.db import revisions"


def test_no_import_circles():
    graph = import_graph()
    found = cycles(graph)
    assert not found, "import circles:\n" + "\n".join(_path_in(c, graph) for c in found)


def layer(module: str) -> str:
    """The layer a module belongs to: its subpackage (crawler.extract, crawler.db,
    pipelines), or itself for a module at the top of crawler/ (crawler.items)."""
    return ".".join(module.split(".")[:2])


def test_no_circles_between_layers():
    """A circle between two layers is one even when no two modules close it (items imported
    extract.text while extract.page imported items)."""
    layers: dict[str, set[str]] = {}
    for module, targets in import_graph().items():
        layers.setdefault(layer(module), set()).update(
            layer(t) for t in targets if layer(t) != layer(module)
        )
    found = cycles(layers)
    assert not found, "layer circles:\n" + "\n".join(_path_in(c, layers) for c in found)


def test_extraction_needs_neither_scrapy_nor_a_database():
    """Extraction is pure: page bytes, URL and fetch time in, fields out."""
    for module, path in _modules().items():
        if layer(module) != "crawler.extract":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        } | {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        heavy = sorted(
            name
            for name in imported
            if name.split(".")[0] in ("scrapy", "twisted", "sqlalchemy", "psycopg")
            or layer(name) in ("crawler.db", "crawler.platforms", "crawler.spiders")
        )
        assert not heavy, (module, heavy)


def test_leaf_modules_import_only_what_they_are_allowed():
    graph = import_graph()
    wrong = {
        leaf: sorted(graph[leaf] - allowed) for leaf, allowed in LEAVES.items() if leaf in graph
    }
    assert set(LEAVES) <= set(graph), "a leaf module is missing"
    assert not any(wrong.values()), wrong
