"""Every mail about a ticket goes through the one composer (outbound.ticketmail): nothing in
maild/ writes message bytes or outbox rows itself, and every kind it queues has a row in
the guard table."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from outbound.ticketmail import KINDS, Audience

ROOT = Path(__file__).resolve().parents[2]
# What only the composer may use: building bytes and writing outbox rows.
LOW_LEVEL = {
    ("outbound.compose", "compose"),
    ("outbound.compose", "OutgoingMail"),
    ("storage.outbox", "enqueue"),
    ("outbound.outbox", "enqueue_each"),
    ("outbound.ticketmail", "queue_ticket_mail"),
}
# The one door from maild/ into the composer.
DOOR = ROOT / "maild" / "ticketing" / "mail.py"


def low_level_imports(path: Path, root: Path = ROOT) -> list[str]:
    """``file:line name`` for each import of a low-level name in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                if (node.module, alias.name) in LOW_LEVEL:
                    found.append(f"{path.relative_to(root)}:{node.lineno} {alias.name}")
    return found


def test_maild_composes_no_mail_itself() -> None:
    offenders = []
    for path in sorted((ROOT / "maild").rglob("*.py")):
        offenders += [
            hit
            for hit in low_level_imports(path)
            if not (path == DOOR and hit.endswith("queue_ticket_mail"))
        ]
    assert offenders == []


def test_the_checker_sees_a_composer_copy(tmp_path: Path) -> None:
    fake = tmp_path / "copy.py"
    fake.write_text(
        "from storage.outbox import enqueue\n"
        "def later():\n    from outbound.compose import compose\n"
    )
    assert low_level_imports(fake, tmp_path) == ["copy.py:1 enqueue", "copy.py:3 compose"]


def test_every_kind_maild_queues_has_guards() -> None:
    used = set()
    for path in (ROOT / "maild").rglob("*.py"):
        used.update(re.findall(r'\bkind="([a-z_]+)"', path.read_text()))
        used.update(re.findall(r'^KIND = "([a-z_]+)"', path.read_text(), re.MULTILINE))
    used.discard("notification")  # the Notifier's default, checked below
    unknown = sorted(kind for kind in used if kind not in KINDS)
    assert unknown == []
    assert "notification" in KINDS


def test_only_mail_to_customers_counts_against_their_budget() -> None:
    for name, kind in KINDS.items():
        assert kind.limited == (
            kind.audience is Audience.CUSTOMER and kind.auto_submitted is not None
        ), name
