"""The gauges ``/metrics`` reads at scrape time (``storage.metrics``): what they count, and
that the two that grow with the helpdesk (open tickets, outbox) read an index range,
not the table, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, insert

from storage import metrics
from storage.metrics import Levels, levels
from storage.models import OutboxMessage, QuarantinedMessage, Survey
from tests.storage.conftest import AT, add_ticket
from tests.storage.test_plans import analyze, full_scans, plan

STATUSES = ["new", "open", "open", "pending", "resolved", "closed", "closed", "closed"]


def seed(engine: Engine) -> None:
    """48 tickets (6 of each of STATUSES, "open" twice; every third high), 50 outbox rows
    (10 pending, 10 dead, 30 sent), 5 quarantined (3 held), 12 surveys (3 skipped, 3
    rated)."""
    with engine.begin() as connection:
        ids = [
            add_ticket(
                connection,
                1000 + n,
                f"c{n}@customer.org",
                status=STATUSES[n % len(STATUSES)],
                priority="high" if n % 3 == 0 else "medium",
            )
            for n in range(48)
        ]
        connection.execute(
            insert(OutboxMessage.__table__),
            [
                {
                    "kind": "acknowledgement",
                    "message_id": f"<o{n}@example.com>",
                    "mail_from": "support@example.com",
                    "recipients": ["c@customer.org"],
                    "raw": b"",
                    "status": ("sent", "sent", "sent", "pending", "dead")[n % 5],
                    "attempts": 0,
                    "next_attempt_at": AT,
                    "created_at": AT,
                }
                for n in range(50)
            ],
        )
        connection.execute(
            insert(QuarantinedMessage.__table__),
            [
                {
                    "received_at": AT,
                    "source": "smtp",
                    "mail_from": "x@y",
                    "recipients": ["support@example.com"],
                    "mailbox": "support@example.com",
                    "error": "no From",
                    "raw": b"",
                    "raw_sha256": f"{n:064x}",
                    "status": "held" if n < 3 else "released",
                }
                for n in range(5)
            ],
        )
        connection.execute(
            insert(Survey.__table__),
            [
                {
                    "ticket_id": ticket_id,
                    "created_at": AT,
                    "status": "skipped" if n % 4 == 0 else "sent",
                    "scale": "1-5",
                    "rating": "5" if n % 4 == 1 else None,
                }
                for n, ticket_id in enumerate(ids[:12])
            ],
        )


def test_levels_count_what_waits(engine: Engine) -> None:
    seed(engine)
    with engine.connect() as connection:
        found = levels(connection)
    assert found.outbox == {"pending": 10, "dead": 10}
    assert found.quarantined == 3
    assert found.open_tickets == {
        ("new", "high"): 2,
        ("new", "medium"): 4,
        ("open", "high"): 4,
        ("open", "medium"): 8,
        ("pending", "high"): 2,
        ("pending", "medium"): 4,
    }
    assert found.surveys == {"sent": 9, "skipped": 3}
    assert found.rated == 3


def test_an_empty_database_shows_zeros(engine: Engine) -> None:
    with engine.connect() as connection:
        assert levels(connection) == Levels(outbox={"pending": 0, "dead": 0})


@pytest.mark.parametrize(
    ("name", "index"),
    # Open tickets: any index that leads with the status will do (ix_tickets_status_number
    # and others); the outbox: ix_outbox_due (status, next_attempt_at); surveys and the
    # quarantine their status indexes.
    [
        ("open_tickets", "ix_tickets_status_"),
        ("outbox", "ix_outbox_due"),
        ("surveys", "ix_surveys_status_rating"),
        ("quarantine", "ix_quarantine_status"),
    ],
)
def test_the_growing_gauges_read_an_index_range(engine: Engine, name: str, index: str) -> None:
    with engine.begin() as connection:  # most tickets closed, as in a real helpdesk
        for number in range(1000, 3000):
            add_ticket(connection, number, status="open" if number % 10 == 0 else "closed")
    analyze(engine)
    shown = plan(engine, metrics.QUERIES[name], {})
    assert full_scans(engine, shown) == [], shown
    assert index in shown, shown
