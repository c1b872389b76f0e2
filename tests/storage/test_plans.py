"""The plans of hot queries (invariant 8): each is answered by an index on SQLite and on
PostgreSQL, so a year of history does not slow intake down. On PostgreSQL sequential scans
are switched off inside the test, so the plan shows whether an index is usable at all."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from storage import (
    console,
    idle,
    limits,
    outbox,
    reports,
    sla,
    surveys,
    threads,
    tickets,
    watchers,
)
from storage.console import TicketQuery
from storage.models import Participant, TicketStatus
from tests.storage.conftest import AT, add_message, add_ticket

WEEK = timedelta(days=7)


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
    analyze(engine)
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


def seed_tickets(engine: Engine, count: int = 2000) -> None:
    with engine.begin() as connection:
        for number in range(1000, 1000 + count):
            status = TicketStatus.CLOSED if number % 10 else TicketStatus.OPEN
            add_ticket(
                connection,
                number,
                f"customer{number}@customer.org",
                status=status,
                created_at=AT + timedelta(hours=number),
            )
    analyze(engine)


def analyze(engine: Engine) -> None:
    """Statistics as PostgreSQL's autovacuum keeps them. Not on SQLite: maild never runs
    ANALYZE there, and statistics of a small, evenly spread test table would mislead its
    planner about a real helpdesk (most tickets closed, few open)."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as connection:
            # Longer than deadlock_timeout (1 s): an autovacuum holding a table is then
            # cancelled for us rather than our lock_timeout (the test busy timeout) expiring.
            connection.execute(text("SET LOCAL lock_timeout = '30s'"))
            connection.execute(text("ANALYZE"))


def uses_an_index(engine: Engine, shown: str, indexes: tuple[str, ...]) -> bool:
    """Whether the plan walks one of ``indexes`` and never the whole table. SQLite names
    the indexes of unique constraints sqlite_autoindex_*: for those any index will do."""
    if engine.dialect.name == "sqlite":
        if any(index.startswith("uq_") for index in indexes):
            return "tickets USING INDEX" in shown or "tickets USING COVERING INDEX" in shown
        return any(f"USING INDEX {index}" in shown for index in indexes)
    return any(index in shown for index in indexes) and "Seq Scan on tickets" not in shown


@pytest.mark.parametrize(
    ("wanted", "indexes"),
    [
        (TicketQuery(), ("uq_tickets_number",)),
        (TicketQuery(before=1500), ("uq_tickets_number",)),
        (
            TicketQuery(statuses=(TicketStatus.OPEN,), before=2500),
            ("ix_tickets_status_number", "uq_tickets_number"),
        ),
        (TicketQuery(since=AT + timedelta(hours=2900), limit=None), ("ix_tickets_created_at",)),
    ],
    ids=["newest page", "next page", "status page", "since"],
)
def test_console_pages_use_an_index(
    engine: Engine, wanted: TicketQuery, indexes: tuple[str, ...]
) -> None:
    seed_tickets(engine)
    shown = plan(engine, console.ticket_page_statement(wanted), {})
    assert uses_an_index(engine, shown, indexes), shown
    with Session(engine) as session:
        page = console.list_tickets(session, wanted)
    numbers = [ticket.number for ticket in page]
    assert numbers == sorted(numbers, reverse=True)
    if wanted.statuses:
        assert {t.status for t in page} == set(wanted.statuses) and numbers[0] < 2500
    if wanted.limit:
        assert len(page) == wanted.limit


HOT = [
    (
        "duplicate check",
        tickets._DUPLICATE,
        {"mailbox": "support@example.com", "dedup_key": "<m1@x>"},
    ),
    ("ticket by token", tickets._BY_TOKENS, {"tokens": ["token1001"]}),
    ("ticket by number", tickets._BY_NUMBER, {"number": 1001}),
    ("participants of a ticket", tickets._PARTICIPANT_ROLES, {"ticket_id": 7}),
    ("bouncing address", tickets._BOUNCING, {"address": "customer1001@customer.org"}),
    ("copy by VERP id", tickets._BY_VERP_ID, {"verp_id": "abcdefghij"}),
    ("customer's messages", threads._CUSTOMER_IDS, {"ticket_id": 7}),
    ("our mail of a ticket", threads._OUR_IDS, {"ticket_id": 7, "kinds": ["reply"]}),
    ("queued Message-ID", threads._QUEUED, {"message_id": "<x@y>"}),
    (
        "automatic mail to an address",
        outbox._RECENT_AUTOMATIC,
        {"address": "a@b", "since": AT, "kinds": ["acknowledgement"]},
    ),
    (
        "automatic mail to a domain",
        outbox._RECENT_AUTOMATIC_TO_DOMAIN,
        {"domain": "b", "since": AT, "kinds": ["acknowledgement"]},
    ),
    ("anything due in the outbox", outbox._ANY_DUE, {"now": AT}),
    ("outbox rows to claim", outbox._DUE, {"now": AT, "limit": 50}),
    ("SLA sweep", sla._SLA_ROWS[False], {}),
    ("idle sweep", idle._IDLE_ROWS, {"before": AT}),
    (
        "surveys due after resolution",
        surveys._DUE["resolved"],
        {"window_start": AT, "due_before": AT + timedelta(days=1), "limit": 500},
    ),
    (
        "surveys due after closing",
        surveys._DUE["closed"],
        {"window_start": AT, "due_before": AT + timedelta(days=1), "limit": 500},
    ),
    ("a ticket's survey", surveys._BY_TICKET, {"ticket_id": 7}),
    ("auto-close candidates", sla._RESOLVED_SINCE, {"since": AT}),
    *(
        (f"report: tickets by {stamp}", reports.tickets_query(stamp, AT, AT + WEEK), {})
        for stamp in reports.STAMPS
    ),
    *(
        (f"report: backlog {part}", query, {})
        for part, query in zip(("open", "resolved later"), reports.backlog_queries(AT), strict=True)
    ),
    *(
        (f"report: {kind} events", reports.events_query(kind, AT, AT + WEEK), {})
        for kind in ("ticket.reopened", "sla.breached")
    ),
    ("report: ratings", reports.ratings_query(AT, AT + WEEK), {}),
    ("new tickets of a sender", limits._NEW_SINCE, {"key": "a@b", "since": AT}),
    ("a sender's newest open ticket", limits._NEWEST_OPEN, {"key": "a@b"}),
    ("a sender's newest ticket", limits._NEWEST, {"key": "a@b"}),
    ("watchers of a ticket", watchers._OF_TICKET, {"ticket_id": 7}),
]


def test_new_ticket_limit_reads_a_senders_tickets_by_key_and_time(engine: Engine) -> None:
    """The count of a sender's new tickets in the last hour, on every new ticket: along
    (requester_key, created_at), whatever the size of the history."""
    with engine.begin() as connection:
        for number in range(1000, 3000):
            requester = f"customer{number % 500}@customer.org"
            add_ticket(
                connection,
                number,
                requester,
                requester_key=requester,
                status=TicketStatus.CLOSED if number % 10 else TicketStatus.OPEN,
                created_at=AT + timedelta(minutes=number),
            )
    analyze(engine)
    key = "customer7@customer.org"
    since = AT + timedelta(minutes=2500)
    shown = plan(engine, limits._NEW_SINCE, {"key": key, "since": since})
    assert "ix_tickets_requester_key_created_at" in shown and not full_scans(engine, shown)
    if engine.dialect.name == "sqlite":
        assert "(requester_key=? AND created_at>?)" in shown, shown
    for statement in (limits._NEWEST_OPEN, limits._NEWEST):
        shown = plan(engine, statement, {"key": key})
        assert "ix_tickets_requester_key_created_at" in shown, shown
        assert not full_scans(engine, shown) and "TEMP B-TREE" not in shown, shown
    with engine.connect() as connection:
        assert limits.new_tickets_since(connection, key, since) == 1  # 2507
        # Every ticket of customer7 is closed: the newest one; customer10's are open.
        newest = limits.newest_ticket(connection, key)
        newest_open = limits.newest_ticket(connection, "customer10@customer.org")
    assert newest is not None and newest.number == 2507
    assert newest_open is not None and newest_open.number == 2510


def test_idle_sweep_reads_quiet_open_tickets_by_status_and_last_message(engine: Engine) -> None:
    """Not every open ticket (the SLA sweep's read), only those quiet since the cutoff."""
    seed_tickets(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE tickets SET last_message_at = created_at"))
    analyze(engine)
    shown = plan(engine, idle._IDLE_ROWS, {"before": AT + timedelta(hours=1100)})
    assert uses_an_index(engine, shown, ("ix_tickets_status_last_message_at",)), shown
    if engine.dialect.name == "sqlite":
        assert "(status=? AND last_message_at<?)" in shown, shown


def full_scans(engine: Engine, shown: str) -> list[str]:
    """The steps of a plan that read a whole table."""
    if engine.dialect.name == "sqlite":
        return [
            line
            for line in shown.splitlines()
            if line.startswith("SCAN ") and " USING " not in line
        ]
    return [line for line in shown.splitlines() if "Seq Scan" in line]


@pytest.mark.parametrize(("name", "statement", "params"), HOT, ids=[h[0] for h in HOT])
def test_hot_query_reads_no_whole_table(
    engine: Engine, name: str, statement: Executable, params: dict[str, Any]
) -> None:
    seed_tickets(engine, 300)
    assert full_scans(engine, plan(engine, statement, params)) == []


def test_the_scan_check_sees_a_full_scan(engine: Engine) -> None:
    unindexed = select(Participant.__table__.c.id).where(Participant.__table__.c.name == "x")
    assert full_scans(engine, plan(engine, unindexed, {}))
