"""The shape of the code, as the import graph shows it: the transparency log at the bottom
(it imports nothing of the project's), the site build independent of the web service, no
import cycle, and files of the consent API a newcomer reads in one sitting."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.harness import ROOT

PACKAGES = ("consent_log", "consent_api", "consent_widget", "legal_pages")


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Each module of the project and the project's modules it imports at run time (at any
    depth of its code: an import inside a function is an edge too)."""
    graph: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = _module(path)
            base = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
            found: set[str] = set()
            tree = ast.parse(path.read_text(), str(path))
            typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                           and ast.unparse(block.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
                           for n in ast.walk(block)}  # for the type checker only: no import at run time
            for node in ast.walk(tree):
                if id(node) in typing_only:
                    continue
                if isinstance(node, ast.Import):
                    found.update(a.name for a in node.names)
                elif isinstance(node, ast.ImportFrom):
                    origin = node.module or ""
                    if node.level:
                        anchor = base.split(".")[: len(base.split(".")) - node.level + 1]
                        origin = ".".join(anchor + ([node.module] if node.module else []))
                    found.add(origin)
                    found.update(f"{origin}.{a.name}" for a in node.names)
            graph[name] = {m for m in found if m.split(".")[0] in PACKAGES and m != name}
    modules = set(graph)
    return {name: {m for m in targets if m in modules} for name, targets in graph.items()}


def test_the_log_library_imports_nothing_of_the_project() -> None:
    graph = import_graph()
    outside = {m: sorted(t for t in targets if not t.startswith("consent_log"))
               for m, targets in graph.items() if m.startswith("consent_log")}
    assert {m: t for m, t in outside.items() if t} == {}


def test_the_site_build_takes_only_the_log_library_from_the_consent_side() -> None:
    graph = import_graph()
    found = {m: sorted(t for t in targets if t.startswith("consent_api"))
             for m, targets in graph.items() if m.startswith(("legal_pages", "consent_widget"))}
    assert {m: t for m, t in found.items() if t} == {}


def test_no_module_imports_itself_through_others() -> None:
    graph = import_graph()
    cycles = []
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target):], target] if target in path else [name, target])
            elif target not in state:
                visit(target, [*path, target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    # A package's __init__ that imports its own modules is no cycle by itself; one of them
    # importing the package back is.
    assert cycles == []


def test_every_module_of_the_consent_api_reads_in_one_sitting() -> None:
    long = {str(p.relative_to(ROOT)): n for p in sorted((ROOT / "consent_api").rglob("*.py"))
            if (n := len(p.read_text().splitlines())) > 300}
    assert long == {}
