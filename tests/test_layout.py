"""The package layout's rules, checked on the source (issue: one package per concern).

- ``widgets/``, ``notebooks/`` and ``parameterized/`` use only public names: no
  ``studio._x`` or ``studio.pkg._x``, in code or in notebook cells.
- No import cycle among ``studio``'s modules (module-level imports; imports inside
  functions and under ``TYPE_CHECKING`` run later and cannot deadlock a first import).
- ``studio.render`` never imports ``studio.jobs``: a render knows nothing of queues.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _sources(folder: str) -> Iterator[tuple[str, str]]:
    for path in sorted((ROOT / folder).rglob("*")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        if path.suffix == ".py":
            yield str(path.relative_to(ROOT)), path.read_text()
        elif path.suffix == ".ipynb":
            for index, cell in enumerate(json.loads(path.read_text())["cells"]):
                if cell["cell_type"] == "code":
                    yield f"{path.relative_to(ROOT)} cell {index}", "".join(cell["source"])


def _imported_modules(source: str) -> Iterator[str]:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def private_imports(source: str) -> list[str]:
    found = []
    for name in _imported_modules(source):
        parts = name.split(".")
        if parts[0] == "studio" and any(part.startswith("_") for part in parts[1:]):
            found.append(name)
    return sorted(set(found))


@pytest.mark.parametrize("folder", ["widgets", "notebooks", "parameterized"])
def test_front_ends_import_only_public_names(folder: str) -> None:
    offenders = {where: names for where, source in _sources(folder) if (names := private_imports(source))}
    assert offenders == {}


def test_the_private_import_check_can_fail() -> None:
    assert private_imports("from studio._video import probe") == ["studio._video", "studio._video.probe"]
    assert private_imports("from studio.render._report import x") != []
    assert private_imports("import studio.jobs._store") != []
    assert private_imports("from studio.render import render_episode\nimport studio") == []


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _top_level_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Imports that run when the module is first imported."""
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            test = ast.unparse(node.test)
            if "TYPE_CHECKING" not in test:
                stack.extend(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            stack.extend(node.body + node.orelse + node.finalbody)
            for handler in node.handlers:
                stack.extend(handler.body)


def import_graph(root: Path = ROOT / "studio") -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in _top_level_imports(ast.parse(path.read_text())):
            targets = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or "", *(f"{node.module}.{a.name}" for a in node.names)]
            )
            for target in targets:
                # Importing a.b.c first runs a and a.b: each is an edge.
                parts = target.split(".")
                for end in range(1, len(parts) + 1):
                    prefix = ".".join(parts[:end])
                    if prefix in modules and prefix != name and not name.startswith(prefix + "."):
                        graph[name].add(prefix)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle_inside_studio() -> None:
    assert find_cycle(import_graph()) is None


def test_the_cycle_check_can_fail() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_render_never_imports_jobs() -> None:
    offenders = {}
    for path in sorted((ROOT / "studio" / "render").rglob("*.py")):
        names = [n for n in _imported_modules(path.read_text()) if n == "studio.jobs" or n.startswith("studio.jobs.")]
        if names:
            offenders[str(path.relative_to(ROOT))] = names
    assert offenders == {}


def test_project_and_storage_know_nothing_of_rendering_or_jobs() -> None:
    offenders = {}
    for folder in ("project", "storage"):
        for path in sorted((ROOT / "studio" / folder).rglob("*.py")):
            names = [
                n
                for n in _imported_modules(path.read_text())
                if n.split(".")[:2] in (["studio", "render"], ["studio", "jobs"])
            ]
            if names:
                offenders[str(path.relative_to(ROOT))] = names
    assert offenders == {}
