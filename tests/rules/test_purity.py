"""``rules/`` stays pure: it imports nothing of the project outside itself, reads no clock
and does no I/O (DESIGN.md, "Packages and who may import whom")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

RULES = Path(__file__).resolve().parents[2] / "rules"
PROJECT = {"maild", "parsing", "storage", "outbound", "tests", "bench"}
FORBIDDEN_MODULES = {"time", "os", "socket", "subprocess", "sqlite3", "pathlib", "logging"}
FORBIDDEN_CALLS = {"now", "utcnow", "today", "open", "time", "monotonic"}
SOURCES = sorted(RULES.glob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.name)
def test_rules_module_is_pure(path: Path) -> None:
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots = {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            roots = {(node.module or "").split(".")[0]}
        else:
            roots = set()
        assert not roots & PROJECT, f"{path.name}:{node.lineno} imports {roots & PROJECT}"
        assert not roots & FORBIDDEN_MODULES, f"{path.name}:{node.lineno} imports {roots}"
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            assert name not in FORBIDDEN_CALLS, f"{path.name}:{node.lineno} calls {name}()"


def test_there_are_modules_to_check() -> None:
    assert {path.name for path in SOURCES} >= {
        "assignment.py",
        "businesstime.py",
        "config.py",
        "engine.py",
        "escalation.py",
        "sla.py",
    }
