"""The layout keeps its promises: imports flow one way, without cycles.

    cli -> pipeline -> {site, delivery} -> {reader, books, feeds, state}
        -> {bundles, render, language, templating, images, output, resources, selections}
        -> {model, errors}

Books and feeds never import each other, nor the books the site.  Imports
under ``if TYPE_CHECKING`` (annotations only) do not count; imports inside
functions do, for the layers and for the cycles alike: a lazy import is no
way around either.  The package
root (``exporter/__init__.py``: the version and the public API) is left out.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "exporter"

LAYERS = {
    "model": 0, "errors": 0,
    "bundles": 1, "render": 1, "language": 1, "templating": 1, "images": 1, "output": 1, "resources": 1,
    "selections": 1,
    "reader": 2, "books": 2, "feeds": 2, "state": 2,
    "site": 3, "delivery": 3,
    "pipeline": 4,
    "cli": 5, "__main__": 6,
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def runtime_imports(path: Path) -> set[str]:
    """Absolute names of the exporter modules *path* imports at run time."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for n in ast.walk(node))
    me = module_name(path).split(".")
    package = me if path.name == "__init__.py" else me[:-1]
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip or not isinstance(node, ast.ImportFrom) or not node.level:
            continue
        base = package[: len(package) - node.level + 1]
        target = base + (node.module.split(".") if node.module else [])
        if node.module:
            found.add(".".join(target))
        else:
            for alias in node.names:  # "from . import x": x may be a module
                candidate = PACKAGE.parent.joinpath(*target, alias.name)
                if candidate.with_suffix(".py").exists() or (candidate / "__init__.py").exists():
                    found.add(".".join(target + [alias.name]))
                else:
                    found.add(".".join(target))
    return {f for f in found if f != "exporter"}


def top(module: str) -> str:
    return module.split(".")[1] if "." in module else module


GRAPH = {module_name(p): runtime_imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if m != "exporter"))
def test_imports_flow_down(module):
    mine = LAYERS[top(module)]
    for target in GRAPH[module]:
        theirs = LAYERS[top(target)]
        assert theirs <= mine, f"{module} (layer {mine}) imports {target} (layer {theirs})"
        if top(target) != top(module):
            assert {top(module), top(target)} != {"books", "feeds"}, f"{module} imports {target}"
            assert (top(module), top(target)) != ("books", "site"), f"{module} imports {target}"


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of *graph* (module -> modules it imports), as a path, or None."""
    def resolve(name: str) -> str:
        return name if name in graph else name.rsplit(".", 1)[0]

    edges = {m: {resolve(t) for t in ts if resolve(t) in graph and resolve(t) != m} for m, ts in graph.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycles():
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_a_function_level_import_cycle_is_caught(tmp_path, monkeypatch):
    """A lazy import (inside a function) that closes a circle is a cycle all the same."""
    pkg = tmp_path / "exporter"
    (pkg / "pipeline").mkdir(parents=True)
    (pkg / "site").mkdir()
    (pkg / "pipeline" / "run.py").write_text("def run():\n    from ..site.page import write\n")
    (pkg / "site" / "page.py").write_text("from ..pipeline.run import run\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", pkg)
    graph = {module_name(p): runtime_imports(p) for p in sorted(pkg.rglob("*.py"))}
    assert graph["exporter.pipeline.run"] == {"exporter.site.page"}
    assert find_cycle(graph) == ["exporter.pipeline.run", "exporter.site.page", "exporter.pipeline.run"]


def test_the_pipeline_imports_the_site_at_the_top():
    """The pipeline used to import the front page inside a function to dodge a circle."""
    tree = ast.parse((PACKAGE / "pipeline" / "run.py").read_text(encoding="utf-8"))
    lazy = [ast.unparse(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)
            for n in ast.walk(f) if isinstance(n, ast.ImportFrom) and "site" in (n.module or "")]
    assert lazy == []


def test_every_stage_is_a_folder_a_newcomer_can_find():
    for stage in ("reader", "books", "feeds", "site", "delivery", "images", "cli"):
        assert (PACKAGE / stage / "__init__.py").is_file(), stage
        assert ast.get_docstring(ast.parse((PACKAGE / stage / "__init__.py").read_text())), stage


def test_functions_stay_short():
    """No function over ~60 lines: a long one is a stage waiting to be named."""
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > 65:
                    long.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name} ({length} lines)")
    assert long == []
