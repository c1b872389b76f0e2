"""The plans of hot queries (invariant 8): each is answered by an index on SQLite and on
PostgreSQL, so a year of history does not slow intake down. On PostgreSQL sequential scans
are switched off inside the test, so the plan shows whether an index is usable at all."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.sql import Executable

from storage import tickets
from tests.storage.conftest import add_message, add_ticket


def plan(engine: Engine, statement: Executable, params: dict[str, Any]) -> str:
    """The database's plan for ``statement`` with ``params`` (written in as literals)."""
    sql = str(
        statement.params(**params).compile(
            dialect=engine.dialect, compile_kwargs={"literal_binds": True}
        )
    )
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}").all()
            return "\n".join(str(row[-1]) for row in rows)
        connection.execute(text("SET enable_seqscan = off"))
        return "\n".join(str(row[0]) for row in connection.exec_driver_sql(f"EXPLAIN {sql}"))


def test_threading_lookup_uses_message_id_and_mailbox(engine: Engine) -> None:
    with engine.begin() as connection:
        ticket_id = add_ticket(connection, 1000)
        for n in range(2000):  # enough for PostgreSQL's planner to weigh the indexes
            add_message(connection, ticket_id, f"<m{n}@customer.example>")
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    shown = plan(
        engine,
        tickets._BY_MESSAGE_IDS,
        {
            "message_ids": ["<m1@customer.example>", "<m2@customer.example>"],
            "mailbox": "support@example.com",
        },
    )
    if engine.dialect.name == "sqlite":
        assert "USING INDEX ix_messages_message_id_mailbox (message_id=? AND mailbox=?)" in shown
    else:
        assert "ix_messages_message_id_mailbox" in shown and "Seq Scan on messages" not in shown
    with engine.connect() as connection:
        found = tickets.by_stored_message_id(
            connection, "support@example.com", ["<nope@x>", "<m7@customer.example>"]
        )
    assert found is not None and found.number == 1000
