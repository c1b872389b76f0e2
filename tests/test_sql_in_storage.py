"""SQL lives in ``storage/`` only (STYLE): outside it, a module may hold a connection, a
session or an engine and catch the database's errors, but it builds no statement. Read
from the source with ``ast``, so a lazy import inside a function counts too."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("maild", "outbound", "parsing", "rules")
# What a module outside storage/ may take from SQLAlchemy: handles and errors, not statements.
HANDLES = frozenset(
    {"Connection", "Engine", "NestedTransaction", "Session", "sessionmaker", "make_url", "exc"}
)


def statement_imports(path: Path, root: Path = ROOT) -> list[str]:
    """``file:line name`` for each SQLAlchemy name ``path`` imports that builds SQL."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            if node.module == "sqlalchemy.exc":
                continue
            found += [
                f"{path.relative_to(root)}:{node.lineno} {alias.name}"
                for alias in node.names
                if alias.name not in HANDLES
            ]
        elif isinstance(node, ast.Import):
            found += [
                f"{path.relative_to(root)}:{node.lineno} {alias.name}"
                for alias in node.names
                if alias.name.startswith("sqlalchemy") and alias.name != "sqlalchemy.exc"
            ]
    return found


def test_no_module_outside_storage_builds_sql() -> None:
    offenders = [
        hit
        for package in PRODUCT
        for path in sorted((ROOT / package).rglob("*.py"))
        for hit in statement_imports(path)
    ]
    assert offenders == []


def test_the_checker_sees_a_statement_built_outside_storage(tmp_path: Path) -> None:
    module = tmp_path / "worker.py"
    module.write_text(
        "from sqlalchemy import Connection, select\n"
        "from sqlalchemy.exc import OperationalError\n"
        "import sqlalchemy.exc as sa_exc\n"
        "def later():\n"
        "    import sqlalchemy as sa\n"
        "    from sqlalchemy.dialects.postgresql import insert\n"
    )
    assert statement_imports(module, tmp_path) == [
        "worker.py:1 select",
        "worker.py:5 sqlalchemy",
        "worker.py:6 insert",
    ]
