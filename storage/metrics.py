"""What the ``/metrics`` gauges read at scrape time: how much is waiting now in the outbox,
the quarantine, the open tickets and the surveys.

A scrape comes every few seconds, so each count is one index range or one small table,
never a pass over the history: the outbox counts only its ``pending`` and ``dead`` rows
(``ix_outbox_due``), never the ``sent`` ones that pile up; open tickets are the
``ix_tickets_status_number`` range of the open statuses. All four run in one read
transaction, so the numbers of one scrape belong together.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, func, select

from storage.console import OPEN_STATUSES
from storage.models import (
    OutboxMessage,
    OutboxStatus,
    QuarantinedMessage,
    QuarantineStatus,
    Survey,
    Ticket,
)

_outbox, _quarantine = OutboxMessage.__table__, QuarantinedMessage.__table__
_tickets, _surveys = Ticket.__table__, Survey.__table__

WAITING = (OutboxStatus.PENDING, OutboxStatus.DEAD)
"""The outbox statuses a gauge shows: mail still to send, and mail given up on."""

_OUTBOX = (
    select(_outbox.c.status, func.count())
    .where(_outbox.c.status.in_([status.value for status in WAITING]))
    .group_by(_outbox.c.status)
)
_HELD = select(func.count()).where(_quarantine.c.status == QuarantineStatus.HELD.value)
_OPEN = (
    select(_tickets.c.status, _tickets.c.priority, func.count())
    .where(_tickets.c.status.in_([status.value for status in OPEN_STATUSES]))
    .group_by(_tickets.c.status, _tickets.c.priority)
)
_SURVEYS = select(_surveys.c.status, func.count(), func.count(_surveys.c.rating)).group_by(
    _surveys.c.status
)

QUERIES = {"outbox": _OUTBOX, "quarantine": _HELD, "open_tickets": _OPEN, "surveys": _SURVEYS}
"""Each gauge's query, by name (the tests read their plans)."""


@dataclass(frozen=True, slots=True)
class Levels:
    """The counts one scrape shows. Every status of :data:`WAITING` is present (0 when
    none), so a dashboard sees a zero rather than a missing series."""

    outbox: dict[str, int] = field(default_factory=dict)
    quarantined: int = 0
    open_tickets: dict[tuple[str, str], int] = field(default_factory=dict)
    """``(status, priority)`` → tickets; only the pairs that have tickets."""
    surveys: dict[str, int] = field(default_factory=dict)
    """``sent`` / ``skipped`` → surveys."""
    rated: int = 0
    """Surveys that brought back a rating (by link or by reply)."""


def levels(connection: Connection) -> Levels:
    """The counts of :class:`Levels`, read in ``connection``'s one transaction."""
    outbox = {status.value: 0 for status in WAITING}
    outbox.update({str(status): count for status, count in connection.execute(_OUTBOX)})
    surveys: dict[str, int] = {}
    rated = 0
    for status, count, with_rating in connection.execute(_SURVEYS):
        surveys[str(status)] = count
        rated += with_rating
    return Levels(
        outbox=outbox,
        quarantined=connection.execute(_HELD).scalar_one(),
        open_tickets={
            (str(status), str(priority)): count
            for status, priority, count in connection.execute(_OPEN)
        },
        surveys=surveys,
        rated=rated,
    )
