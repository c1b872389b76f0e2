"""The reads behind the limit on new tickets per sender (``[limits]``), on the intake path.

Senders count by ``tickets.requester_key`` (lower case, sub-address removed), which the
index ``ix_tickets_requester_key_created_at`` serves for both reads. Imports nothing of the
project but ``storage``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, func, select

from storage.models import Ticket, TicketStatus
from storage.tickets import VIEW_COLUMNS, TicketView, ticket_view

_tickets = Ticket.__table__
_OPEN = [TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING]

_NEW_SINCE = select(func.count()).where(
    _tickets.c.requester_key == bindparam("key"), _tickets.c.created_at >= bindparam("since")
)
# Newest first along the index: a sender who just opened many tickets has an open one on top.
_NEWEST_OPEN = (
    select(*VIEW_COLUMNS)
    .where(_tickets.c.requester_key == bindparam("key"), _tickets.c.status.in_(_OPEN))
    .order_by(_tickets.c.created_at.desc(), _tickets.c.id.desc())
    .limit(1)
)
_NEWEST = (
    select(*VIEW_COLUMNS)
    .where(_tickets.c.requester_key == bindparam("key"), _tickets.c.merged_into_id.is_(None))
    .order_by(_tickets.c.created_at.desc(), _tickets.c.id.desc())
    .limit(1)
)


def new_tickets_since(connection: Connection, key: str, since: datetime) -> int:
    """How many tickets the sender ``key`` opened at or after ``since``."""
    return connection.execute(_NEW_SINCE, {"key": key, "since": since}).scalar_one()


def newest_ticket(connection: Connection, key: str) -> TicketView | None:
    """The sender's newest open (new, open, pending) ticket, else their newest ticket that
    was not merged into another; None when they have none."""
    for statement in (_NEWEST_OPEN, _NEWEST):
        row = connection.execute(statement, {"key": key}).first()
        if row is not None:
            return ticket_view(row)
    return None
