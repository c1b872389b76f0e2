"""The late-parent lookup (storage.adoption): who it finds, and that an index answers it
(invariant 8)."""

from __future__ import annotations

from sqlalchemy import Engine

from storage import adoption
from tests.storage.conftest import add_message, add_ticket
from tests.storage.test_plans import analyze, plan

MAILBOX = "support@example.com"


def test_late_parent_lookup_finds_a_participants_ticket_by_index(engine: Engine) -> None:
    with engine.begin() as connection:
        for n in range(2000):  # enough for PostgreSQL's planner to weigh the indexes
            ticket_id = add_ticket(connection, 1000 + n, f"c{n}@customer.org", cc=("x@y.org",))
            row_id = add_message(connection, ticket_id, f"<reply{n}@customer.org>")
            adoption.record_parents(connection, row_id, MAILBOX, [f"<first{n}@customer.org>"])
    analyze(engine)
    shown = plan(
        engine,
        adoption._ADOPTING,
        {"message_id": "<first7@customer.org>", "mailbox": MAILBOX, "sender": "c7@customer.org"},
    )
    if engine.dialect.name == "sqlite":
        assert "USING INDEX ix_message_parents_parent_mailbox" in shown, shown
        assert "SCAN" not in shown, shown
    else:
        assert "ix_message_parents_parent_mailbox" in shown and "Seq Scan" not in shown, shown
    with engine.connect() as connection:

        def found(message_id: str, sender: str) -> int | None:
            ticket = adoption.adopting_ticket(connection, MAILBOX, message_id, sender)
            return ticket.number if ticket else None

        assert found("<first7@customer.org>", "c7@customer.org") == 1007
        assert found("<first7@customer.org>", "x@y.org") == 1007  # an accepted Cc
        assert found("<first7@customer.org>", "c8@customer.org") is None  # a stranger
        assert found("<nobody@customer.org>", "c7@customer.org") is None
        other = adoption.adopting_ticket(
            connection, "other@example.com", "<first7@customer.org>", "c7@customer.org"
        )
        assert other is None  # another mailbox's reply adopts nothing here


def test_record_parents_keeps_each_parent_once_and_at_most_the_nearest(engine: Engine) -> None:
    with engine.begin() as connection:
        ticket_id = add_ticket(connection, 1000)
        row_id = add_message(connection, ticket_id, "<m@c.org>")
        many = [f"<p{n}@c.org>" for n in range(adoption.MAX_PARENTS + 5)]
        adoption.record_parents(connection, row_id, MAILBOX, ["<p0@c.org>", *many])
        for parent in many[: adoption.MAX_PARENTS]:
            assert adoption.adopting_ticket(connection, MAILBOX, parent, "carol@customer.org")
        assert not adoption.adopting_ticket(connection, MAILBOX, many[-1], "carol@customer.org")
