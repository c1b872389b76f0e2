"""The import arrows of ``../shared/DESIGN.md`` ("Packages and who may import whom"), read
from the source with ``ast``: nothing is imported, so a broken module cannot hide an arrow.

Every project import counts: ``import x.y``, ``from x.y import z``, relative imports
(resolved against the importing module), imports inside functions (a lazy import is still a
dependency, only a later one) and imports under ``if TYPE_CHECKING:``. The last ones count
because the table is about which package must be understood, changed and tested together
with which: an annotation that names ``maild.agents`` ties ``maild.pipeline`` to it just as
much as a call does. ``TYPE_CHECKING`` only hides the cycle from the interpreter (that is
usually why it is there); it does not remove it. The messages mark such imports, so the
reader sees which arrows exist for the type checker only.

The checker is plain functions over a source tree, so the unit tests at the end run it on a
small fake tree in ``tmp_path`` and show that it does report a forbidden arrow and a cycle.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# DESIGN.md's table: top-level package -> the project packages it may import (None: any).
ALLOWED: dict[str, frozenset[str] | None] = {
    "parsing": frozenset(),
    "rules": frozenset(),
    "storage": frozenset(),
    "outbound": frozenset({"storage"}),
    "maild": None,
}
# Packages at the top of the repository that are not part of the product: like the tests,
# the benchmark harness may import anything, and nothing of the product imports it.
HARNESSES = frozenset({"tests", "bench"})


@dataclass(frozen=True, slots=True)
class Import:
    importer: str  # dotted module name of the file that imports
    target: str  # dotted name of the project module (or package) it imports
    path: Path
    line: int
    type_checking: bool

    def where(self, root: Path) -> str:
        note = "  (under TYPE_CHECKING)" if self.type_checking else ""
        return f"{self.path.relative_to(root)}:{self.line}: {self.importer} -> {self.target}{note}"


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files(root: Path, packages: Iterable[str]) -> Iterator[Path]:
    for package in sorted(packages):
        yield from sorted((root / package).rglob("*.py"))


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST, type_checking: bool = False) -> Iterator[tuple[ast.AST, bool]]:
    """Every node with whether it sits in the body of an ``if TYPE_CHECKING:``."""
    yield node, type_checking
    if isinstance(node, ast.If) and _is_type_checking(node.test):
        yield node.test, type_checking
        for child in node.body:
            yield from _walk(child, True)
        for child in node.orelse:
            yield from _walk(child, type_checking)
        return
    for child in ast.iter_child_nodes(node):
        yield from _walk(child, type_checking)


def _resolve(importer: str, is_package: bool, level: int, module: str | None) -> str:
    """The absolute name a ``from`` import names (``level`` dots before ``module``)."""
    if level == 0:
        return module or ""
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    if level > 1:
        base = base[: -(level - 1)]
    return ".".join([*base, module] if module else base)


def project_imports(root: Path, packages: Iterable[str]) -> list[Import]:
    """Every import of a module of ``packages`` by a file of ``packages`` under ``root``."""
    packages = frozenset(packages)
    files = list(source_files(root, packages))
    known = {module_name(root, path) for path in files}
    found: list[Import] = []
    for path in files:
        importer = module_name(root, path)
        tree = ast.parse(path.read_bytes(), filename=str(path))
        for node, type_checking in _walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(importer, path.name == "__init__.py", node.level, node.module)
                # ``from maild import config`` imports the module maild.config.
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                    for alias in node.names
                ]
            for target in dict.fromkeys(targets):
                if target.split(".")[0] in packages:
                    found.append(Import(importer, target, path, node.lineno, type_checking))
    return found


def forbidden_arrows(
    imports: Iterable[Import], allowed: Mapping[str, frozenset[str] | None]
) -> list[Import]:
    """Imports from one top-level package to another that the table does not allow."""
    wrong = []
    for item in imports:
        source, target = item.importer.split(".")[0], item.target.split(".")[0]
        permitted = allowed[source]
        if source != target and permitted is not None and target not in permitted:
            wrong.append(item)
    return wrong


def subpackage_node(name: str, package: str) -> str:
    """``maild.pipeline.steps`` -> ``maild.pipeline``; ``maild.config`` stays itself, as
    does ``maild`` (its ``__init__``)."""
    return ".".join(name.split(".")[:2]) if name.startswith(f"{package}.") else name


def subpackage_graph(imports: Iterable[Import], package: str) -> dict[tuple[str, str], Import]:
    """The arrows between the sub-packages and top-level modules of ``package``, each with
    the first import that makes it (by file and line)."""
    edges: dict[tuple[str, str], Import] = {}
    for item in sorted(imports, key=lambda i: (str(i.path), i.line)):
        if item.importer.split(".")[0] != package or item.target.split(".")[0] != package:
            continue
        edge = subpackage_node(item.importer, package), subpackage_node(item.target, package)
        if edge[0] != edge[1]:
            edges.setdefault(edge, item)
    return edges


def _shortest_path(graph: Mapping[str, set[str]], start: str, goal: str) -> list[str] | None:
    previous: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            path = [node]
            while (step := previous[path[-1]]) is not None:
                path.append(step)
            return path[::-1]
        for after in sorted(graph.get(node, ())):
            if after not in previous:
                previous[after] = node
                queue.append(after)
    return None


def cycles(edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """For every arrow that lies on a cycle, the shortest cycle through it, as a path that
    ends where it starts (``[a, b, a]``); each cycle once, rotated to its smallest node."""
    graph: dict[str, set[str]] = {}
    for source, target in edges:
        graph.setdefault(source, set()).add(target)
    found: set[tuple[str, ...]] = set()
    for source in sorted(graph):
        for target in sorted(graph[source]):
            back = _shortest_path(graph, target, source)
            if back is None:
                continue
            ring = [source, *back[:-1]]
            first = ring.index(min(ring))
            found.add(tuple(ring[first:] + ring[:first]))
    return [[*ring, ring[0]] for ring in sorted(found, key=lambda r: (len(r), r))]


def describe_cycles(
    found: list[list[str]], edges: Mapping[tuple[str, str], Import], root: Path
) -> str:
    """Each cycle as a path, with the import that makes each of its arrows."""
    lines = []
    for path in found:
        lines.append(" -> ".join(path))
        lines.extend(f"    {edges[step].where(root)}" for step in pairwise(path))
    return "\n".join(lines)


# --- the project -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def imports() -> list[Import]:
    return project_imports(ROOT, ALLOWED)


@pytest.fixture(scope="module")
def maild_edges(imports: list[Import]) -> dict[tuple[str, str], Import]:
    return subpackage_graph(imports, "maild")


def test_every_top_level_package_is_in_the_table() -> None:
    on_disk = {path.parent.name for path in ROOT.glob("*/__init__.py")} - HARNESSES
    assert on_disk == set(ALLOWED), "a package DESIGN.md's table does not name (or vice versa)"


def test_packages_import_only_what_the_design_table_allows(imports: list[Import]) -> None:
    assert imports, "the checker found no project imports at all"
    wrong = forbidden_arrows(imports, ALLOWED)
    assert not wrong, "imports against DESIGN.md's table:\n" + "\n".join(
        item.where(ROOT) for item in wrong
    )


def test_no_import_cycle_between_the_parts_of_maild(
    maild_edges: dict[tuple[str, str], Import],
) -> None:
    found = cycles(maild_edges)
    assert not found, "import cycles between the parts of maild/:\n" + describe_cycles(
        found, maild_edges, ROOT
    )


def test_pipeline_imports_neither_agents_nor_automation(imports: list[Import]) -> None:
    wrong = [
        item
        for item in imports
        if subpackage_node(item.importer, "maild") == "maild.pipeline"
        and subpackage_node(item.target, "maild") in {"maild.agents", "maild.automation"}
    ]
    assert not wrong, "maild.pipeline must not import agents/ or automation/:\n" + "\n".join(
        item.where(ROOT) for item in wrong
    )


# --- the checker itself, on a fake tree --------------------------------------------------


def write_tree(root: Path, files: Mapping[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_checker_reports_a_pure_package_importing_storage(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "parsing/__init__.py": "",
            "parsing/mime.py": "import os\n\ndef f():\n    from storage.models import Ticket\n",
            "storage/__init__.py": "",
            "storage/models.py": "from parsing import mime\n",
            "outbound/__init__.py": "from storage import models\n",
            "rules/__init__.py": "",
            "rules/model.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import outbound\n"
            ),
            "maild/__init__.py": "import parsing, rules, storage, outbound\n",
        },
    )
    wrong = forbidden_arrows(project_imports(tmp_path, ALLOWED), ALLOWED)
    assert [item.where(tmp_path) for item in wrong] == [
        "parsing/mime.py:4: parsing.mime -> storage.models",
        "rules/model.py:3: rules.model -> outbound  (under TYPE_CHECKING)",
        "storage/models.py:1: storage.models -> parsing.mime",
    ]


def test_checker_resolves_relative_imports(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "maild/__init__.py": "",
            "maild/config.py": "",
            "maild/pipeline/__init__.py": "from .driver import run\nfrom .. import config\n",
            "maild/pipeline/driver.py": (
                "from ..agents.steps import Relay\nfrom . import envelope\n"
            ),
            "maild/pipeline/envelope.py": "",
            "maild/agents/__init__.py": "",
            "maild/agents/steps.py": "",
        },
    )
    assert {(i.importer, i.target) for i in project_imports(tmp_path, ["maild"])} == {
        ("maild.pipeline", "maild.pipeline.driver"),
        ("maild.pipeline", "maild.config"),
        ("maild.pipeline.driver", "maild.agents.steps"),
        ("maild.pipeline.driver", "maild.pipeline.envelope"),
    }


def test_checker_reports_a_two_module_cycle(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "maild/__init__.py": "",
            "maild/config.py": "",
            "maild/pipeline/__init__.py": "",
            "maild/pipeline/steps.py": "from maild.agents.relay import Relay\n",
            "maild/pipeline/driver.py": "from maild.pipeline import steps\nimport maild.config\n",
            "maild/agents/__init__.py": "",
            "maild/agents/relay.py": ("def relay():\n    from maild.pipeline.driver import run\n"),
            "maild/cli/__init__.py": "import maild.pipeline.driver\nimport maild.agents\n",
        },
    )
    edges = subpackage_graph(project_imports(tmp_path, ["maild"]), "maild")
    assert cycles(edges) == [["maild.agents", "maild.pipeline", "maild.agents"]]
    assert "maild/agents/relay.py:2" in describe_cycles(cycles(edges), edges, tmp_path)


def test_cycles_lists_each_cycle_once_as_a_path() -> None:
    edges = [("a", "b"), ("b", "c"), ("c", "a"), ("b", "a"), ("d", "a")]
    assert cycles(edges) == [["a", "b", "a"], ["a", "b", "c", "a"]]
    assert cycles([("a", "b"), ("b", "c")]) == []
