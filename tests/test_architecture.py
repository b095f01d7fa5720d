"""The layout keeps its promises: imports flow one way, without cycles, and
untrusted input comes in only through its gate.

    cli -> pipeline -> {site, delivery} -> {reader, books, feeds, state}
        -> {bundles, render, language, templating, images, output, resources, selections, procs}
        -> {model, errors, gates}

The gates (``exporter/gates/``) import nothing from the package but other
gates and the model.

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
    "model": 0, "errors": 0, "gates": 0,
    "bundles": 1, "render": 1, "language": 1, "templating": 1, "images": 1, "output": 1, "resources": 1,
    "selections": 1, "procs": 1,
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


def test_gates_import_only_gates():
    # and the model: its frozen data and its one text cleaning (clean_text), which the documents
    # gate applies to what foreign books say
    for module, targets in GRAPH.items():
        if top(module) == "gates":
            assert {top(t) for t in targets} <= {"gates", "model"}, (module, targets)


# -- the gates are the only way in --------------------------------------------------------------

def _calls(path: Path):
    """(line, text) of every call in *path*, as source text."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            yield node.lineno, ast.unparse(node.func), node


def _source_files():
    return [p for p in sorted(PACKAGE.rglob("*.py"))]


def _rel(path: Path) -> str:
    return path.relative_to(PACKAGE.parent).as_posix()


#: Code that opens files without the file gate, and why it may.
OPEN_ALLOWED = {
    "exporter/gates/files.py": "the gate itself",
    "exporter/output.py": "the one writer: opens the output folders (by descriptor, no link followed), its "
                          "temporary files and the lock files of runs (send's, a folder's), never read",
    "exporter/cli/crash.py": "writes a new crash report into the cache folder",
}


def test_files_are_opened_only_through_the_file_gate():
    """``open(``, ``os.open(``, ``io.open(``, ``.read_text(``, ``.read_bytes(`` outside
    exporter/gates/files.py would read a named pipe (blocking) or a device (without end)."""
    found = []
    for path in _source_files():
        if _rel(path) in OPEN_ALLOWED and _rel(path) == "exporter/gates/files.py":
            continue
        for line, func, node in _calls(path):
            name = func.rsplit(".", 1)[-1]
            opens = func in ("open", "os.open", "io.open", "codecs.open", "tomllib.load", "shutil.copy",
                             "shutil.copyfile", "shutil.copy2", "Image.open") and not (
                func == "Image.open" and node.args and "BytesIO" in ast.unparse(node.args[0]))
            reads = name in ("read_text", "read_bytes") and func not in ("gate_files.read_bytes",)
            if reads or (opens and _rel(path) not in OPEN_ALLOWED):
                found.append(f"{_rel(path)}:{line}: {func}(")
    assert found == []


#: Code that writes, renames or removes files without the one writer (exporter/output.py, which
#: refuses to replace or remove a file the program did not write), and why it may.
CHANGE_ALLOWED = {
    "exporter/output.py": "the one writer",
    "exporter/images/cache.py": "the thumbnail cache: its own entries in the program's cache folder",
    "exporter/cli/run.py": "removes the temporary folder it made itself (tempfile.mkdtemp) for epub -o FILE",
}
#: Calls that write, rename or remove a file (making a folder harms no file: not among them).
CHANGES = ("os.replace", "os.rename", "os.renames", "os.unlink", "os.remove", "os.rmdir", "os.removedirs",
           "os.truncate", "os.link", "os.symlink", "shutil.rmtree", "shutil.move", "shutil.copytree")
CHANGE_METHODS = ("write_bytes", "write_text", "unlink", "rmdir", "touch", "symlink_to", "hardlink_to", "rename")


def test_files_are_changed_only_through_the_one_writer():
    """A file is written, renamed or removed only by exporter/output.py, which refuses to replace
    or remove a file the program did not write: any other way would be a way around that rule."""
    found = [f"{_rel(p)}:{line}: {func}(" for p in _source_files() if _rel(p) not in CHANGE_ALLOWED
             for line, func, node in _calls(p)
             if func in CHANGES or (isinstance(node.func, ast.Attribute) and node.func.attr in CHANGE_METHODS)]
    assert found == []


def test_the_architecture_test_sees_a_forbidden_change(tmp_path):
    sample = tmp_path / "x.py"
    sample.write_text("import os, shutil\nfrom pathlib import Path\nPath('a').write_bytes(b'')\n"
                      "os.replace('a', 'b')\nshutil.rmtree('c')\nPath('d').unlink()\n")
    calls = [(func, node) for _, func, node in _calls(sample)]
    assert {f for f, _ in calls if f in CHANGES} == {"os.replace", "shutil.rmtree"}
    assert {n.func.attr for _, n in calls if isinstance(n.func, ast.Attribute)} >= {"write_bytes", "unlink"}


def test_input_folders_are_walked_only_through_the_file_gate():
    found = []
    for path in _source_files():
        if _rel(path) == "exporter/gates/files.py":
            continue
        for line, func, node in _calls(path):
            recursive_glob = func.endswith(".glob") and any(
                isinstance(a, ast.Constant) and "**" in str(a.value) for a in node.args)
            if func in ("os.walk", "os.fwalk", "glob.glob", "glob.iglob") or func.endswith(".rglob") \
                    or func.endswith(".walk") and func != "ast.walk" and not func.startswith("gate_files") \
                    or recursive_glob:
                found.append(f"{_rel(path)}:{line}: {func}(")
    assert found == []


def test_digest_bytes_are_decoded_only_through_the_text_gate():
    """Decoding a digest or config from bytes happens in exporter/gates/text.py: a BOM in the
    middle, NUL bytes and legacy encodings are handled there once."""
    found = []
    for path in _source_files():
        rel = _rel(path)
        if rel.startswith(("exporter/gates/", "exporter/images/", "exporter/feeds/opds.py")):
            continue  # images and foreign EPUBs are not text; opds parses XML from bytes
        for line, func, node in _calls(path):
            if func.endswith(".decode") and any(isinstance(a, ast.Constant) and a.value in ("cp949", "euc-kr",
                                                                                             "utf-16")
                                                for a in node.args):
                found.append(f"{rel}:{line}")
    assert found == []


def test_documents_are_loaded_only_through_the_schema_gate():
    """``json.load``/``json.loads`` only in exporter/gates/documents.py, once that gate exists."""
    if not (PACKAGE / "gates" / "documents.py").exists():
        pytest.skip("exporter/gates/documents.py (the schema gate) is not there yet")
    found = [f"{_rel(p)}:{line}" for p in _source_files() if _rel(p) != "exporter/gates/documents.py"
             for line, func, _ in _calls(p) if func in ("json.load", "json.loads")]
    assert found == []


def test_no_idna_codec_anywhere():
    """Python's "idna" codec is IDNA 2003: hosts go through the URL gate (UTS #46) instead."""
    if not (PACKAGE / "gates" / "urls.py").exists():
        pytest.skip("exporter/gates/urls.py (the URL gate) is not there yet")
    found = [f"{_rel(p)}:{line}" for p in _source_files() for line, func, node in _calls(p)
             if func.endswith(".encode") and any(isinstance(a, ast.Constant) and str(a.value).lower() == "idna"
                                                 for a in node.args)]
    assert found == []


def test_paths_are_resolved_only_through_the_file_gate():
    """``Path.resolve()`` raises RuntimeError on a symbolic link loop (Python before 3.13): a
    traceback where the file gate says "a symbolic link loop".  Paths are resolved with
    ``gate_files.real_path``; only the package's own location may use ``resolve``."""
    found = [f"{_rel(p)}:{line}" for p in _source_files() if _rel(p) != "exporter/gates/files.py"
             for line, func, node in _calls(p)
             if func.endswith(".resolve") and not node.args  # Path.resolve(strict=...); not a DNS resolver's
             and "__file__" not in ast.unparse(node)]
    assert found == []


def test_the_architecture_test_sees_a_forbidden_read(tmp_path):
    """The scan is not vacuous: it finds the calls it forbids in a sample."""
    sample = tmp_path / "x.py"
    sample.write_text("from pathlib import Path\nPath('a').read_text()\nopen('b')\nimport os\nos.walk('.')\n")
    funcs = [func for _, func, _ in _calls(sample)]
    assert {"Path('a').read_text", "open", "os.walk"} <= set(funcs)


def test_every_gate_is_documented():
    """Each gate module has its paragraph in docs/architecture.md."""
    doc = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    for path in sorted((PACKAGE / "gates").glob("*.py")):
        if path.name != "__init__.py":
            assert f"gates/{path.name}" in doc, path.name


#: Where a pattern means what Python itself reads as a digit (str.format takes a width in any
#: Unicode digit), ``\d`` is right.
UNICODE_DIGITS_ALLOWED = {"exporter/templating.py"}


def _strings(tree: ast.AST):
    """The string constants of *tree* that are not docstrings."""
    docs = {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body
            and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            yield node


def test_digits_in_patterns_are_ascii():
    """A date, a count, a list marker or an arXiv id is ASCII digits (the dates and numbers
    gates): ``\\d`` in a pattern takes every Unicode decimal digit (``２０２４``, ``٢٠٢٤``), which
    int() and date() then convert.  Patterns say ``[0-9]``."""
    found = [f"{_rel(p)}:{node.lineno}" for p in _source_files() if _rel(p) not in UNICODE_DIGITS_ALLOWED
             for node in _strings(ast.parse(p.read_text(encoding="utf-8"))) if "\\d" in node.value]
    assert found == []


def test_the_digit_scan_sees_a_pattern(tmp_path):
    sample = '"""Docs may say \\\\d."""\nimport re\nX = re.compile(r"\\d{4}")\n'
    assert [n.lineno for n in _strings(ast.parse(sample)) if "\\d" in n.value] == [3]
