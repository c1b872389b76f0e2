"""``maild outbox retry``: mail given up on (dead) made due again at once.

A retried message starts a new series of attempts: ``retried_at`` is where
``[outbound] max_lifetime`` counts from, so mail parked after an outage of days gets its
full lifetime again. Only dead messages are retried: a pending one may be on its way to the
relay right now, and making it due again could send it twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, select, update

from storage.models import OutboxMessage, OutboxStatus


def retry_messages(
    connection: Connection, ids: Sequence[int], now: datetime
) -> dict[int, OutboxStatus]:
    """Make the dead messages among ``ids`` due now; each id found with its status before
    (pending and sent ones are left alone)."""
    found = {
        row.id: OutboxStatus(row.status)
        for row in connection.execute(
            select(OutboxMessage.id, OutboxMessage.status).where(OutboxMessage.id.in_(ids))
        )
    }
    _make_due(connection, [i for i, status in found.items() if status is OutboxStatus.DEAD], now)
    return found


def retry_dead(connection: Connection, now: datetime) -> list[int]:
    """Make every dead message due now; their ids."""
    ids = list(
        connection.execute(
            select(OutboxMessage.id)
            .where(OutboxMessage.status == OutboxStatus.DEAD)
            .order_by(OutboxMessage.id)
        ).scalars()
    )
    _make_due(connection, ids, now)
    return ids


def _make_due(connection: Connection, ids: list[int], now: datetime) -> None:
    if not ids:
        return
    connection.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == OutboxStatus.DEAD)
        .values(
            status=OutboxStatus.PENDING,
            attempts=0,
            # Due whatever the clock of the daemon that sends it (a test's may lag this one).
            next_attempt_at=OutboxMessage.created_at,
            retried_at=now,
        )
    )
