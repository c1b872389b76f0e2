"""What the scheduled jobs read to find their work: the SLA sweep's one pass over the open
tickets and auto-close's resolved tickets. Each job then changes one ticket at a time in a
transaction of its own (``storage.workflow.lock_ticket``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, String, bindparam, select, type_coerce

from storage.models import Ticket, TicketStatus

_tickets = Ticket.__table__

SWEPT = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)
"""The statuses whose SLA clock runs (or is paused): the tickets the sweep reads."""

SLA_COLUMNS = (
    "id",
    "number",
    "priority",
    "category",
    "requester",
    "created_at",
    "first_response_at",
    "resolved_at",
    "sla_paused",
    "sla_fired",
)
"""The columns of :func:`sla_rows`, in this order (the sweep reads them by position)."""
_AS_STORED = frozenset(
    {"created_at", "first_response_at", "resolved_at", "sla_paused", "sla_fired"}
)


def _sla_query(as_text: bool) -> Any:
    def column(name: str) -> Any:
        column = _tickets.c[name]
        if as_text and name in _AS_STORED:
            return type_coerce(column, String).label(name)
        return column

    return select(*(column(name) for name in SLA_COLUMNS)).where(
        _tickets.c.status.in_([status.value for status in SWEPT])
    )


_SLA_ROWS = {False: _sla_query(False), True: _sla_query(True)}


def sla_rows(connection: Connection, *, as_text: bool = False) -> Sequence[Row[Any]]:
    """Every ticket whose SLA clock runs or is paused, with just :data:`SLA_COLUMNS`, in
    one query. ``as_text``: timestamps and JSON as the stored text (SQLite), so that only
    the tickets that need them pay for parsing."""
    return connection.execute(_SLA_ROWS[as_text]).all()


_RESOLVED_SINCE = select(
    _tickets.c.id, _tickets.c.number, _tickets.c.resolved_at, _tickets.c.auto_close_warned_at
).where(
    _tickets.c.status == TicketStatus.RESOLVED.value,
    _tickets.c.resolved_at <= bindparam("since"),
)


def resolved_before(connection: Connection, since: datetime) -> Sequence[Row[Any]]:
    """The tickets resolved at or before ``since`` and still resolved: (``id``,
    ``number``, ``resolved_at``, ``auto_close_warned_at``) each; auto-close's candidates."""
    return connection.execute(_RESOLVED_SINCE, {"since": since}).all()
