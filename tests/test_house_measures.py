"""The measures the framework's structure is held to (issue "the house rebuilt around its pipeline"):
no import cycles between its modules, no module over 600 lines, ``Any`` at most 3 times per 1,000
lines. Complexity (ruff's C90), typing (mypy --strict) and upward imports (import-linter) are
checked by CI's own tools."""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"mhhs_sit": ROOT / "mhhs_sit", "mhhs_stubs": ROOT / "stubs"}  # import name -> folder
MAX_LINES = 600
MAX_ANY_PER_1000 = 3.0


def _modules() -> dict[str, Path]:
    """Every module of both packages by its import name (``mhhs_sit.collection.items``)."""
    found = {}
    for name, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            dotted = ".".join((name, *parts[:-1])) if parts[-1] == "__init__" else ".".join((name, *parts))
            found[dotted] = path
    return found


def _imported(path: Path, module: str, known: set[str]) -> set[str]:
    """The project modules ``module`` imports anywhere in its file (functions and TYPE_CHECKING too:
    a cycle through a deferred import is a cycle in the design all the same)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            out.add(base)
            out.update(f"{base}.{alias.name}" for alias in node.names)
    return {m for m in out if m in known and m != module}


def _reach(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph[start])
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return seen


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Groups of more than one module that each reach the others through imports, each sorted."""
    reach = {node: _reach(graph, node) for node in graph}
    groups = {tuple(sorted(n for n in reach[node] if node in reach[n])) for node in graph if node in reach[node]}
    return sorted(list(g) for g in groups if len(g) > 1)


def _without_packages(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """A package's ``__init__`` re-exporting its modules is not a cycle of theirs: edges into a
    package are kept, edges out of an ``__init__`` into its own submodules are not."""
    packages = {m for m, p in _modules().items() if p.name == "__init__.py"}
    return {m: {d for d in deps if not (m in packages and d.startswith(m + "."))} for m, deps in graph.items()}


def test_no_module_imports_one_that_imports_it_back() -> None:
    modules = _modules()
    known = set(modules)
    graph = {m: _imported(p, m, known) for m, p in modules.items()}
    assert _cycles(_without_packages(graph)) == []


def test_the_cycle_finder_finds_a_cycle_through_a_deferred_import(tmp_path: Path) -> None:
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("from pkg import b\n")
    b.write_text("def f():\n    from pkg.a import thing\n")
    known = {"pkg.a", "pkg.b"}
    graph = {"pkg.a": _imported(a, "pkg.a", known), "pkg.b": _imported(b, "pkg.b", known)}
    assert _cycles(graph) == [["pkg.a", "pkg.b"]]


def test_no_module_is_over_600_lines() -> None:
    over = {
        str(p.relative_to(ROOT)): n for p in _modules().values() if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert over == {}, f"split these by responsibility: {over}"


def test_any_is_rare() -> None:
    lines = uses = 0
    for path in _modules().values():
        text = path.read_text()
        lines += len(text.splitlines())
        tokens = tokenize.generate_tokens(io.StringIO(text).readline)
        uses += sum(1 for t in tokens if t.type == tokenize.NAME and t.string == "Any")
    assert uses * 1000 / lines <= MAX_ANY_PER_1000, f"Any {uses} times in {lines} lines"
