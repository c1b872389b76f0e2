"""What the ``ticket.idle`` sweep reads and writes: when a ticket's last message came
(``tickets.last_message_at``, kept by intake) and which idle rules fired since
(``tickets.idle_fired``).

The sweep's read is one query for the open tickets quiet since before a cutoff, answered by
``ix_tickets_status_last_message_at``; then each ticket it fires on is changed in a
transaction of its own under ``storage.workflow.lock_ticket``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, or_, select, update

from storage.models import Ticket
from storage.sla import SWEPT

_tickets = Ticket.__table__

_IDLE_ROWS = select(
    _tickets.c.id, _tickets.c.number, _tickets.c.last_message_at, _tickets.c.idle_fired
).where(
    _tickets.c.status.in_([status.value for status in SWEPT]),
    _tickets.c.last_message_at <= bindparam("before"),
)
_IDLE_STATE = select(_tickets.c.status, _tickets.c.last_message_at, _tickets.c.idle_fired).where(
    _tickets.c.id == bindparam("ticket_id")
)
# The SET clause comes from the keys of the values passed (no ticket column is "ticket_key").
_UPDATE = update(_tickets).where(_tickets.c.id == bindparam("ticket_key"))
_MESSAGE_AT = (
    update(_tickets)
    .where(
        _tickets.c.id == bindparam("ticket_key"),
        or_(
            _tickets.c.last_message_at.is_(None),
            _tickets.c.last_message_at < bindparam("at", type_=_tickets.c.last_message_at.type),
        ),
    )
    .values(last_message_at=bindparam("at", type_=_tickets.c.last_message_at.type))
)


def idle_rows(connection: Connection, before: datetime) -> Sequence[Row[Any]]:
    """The open tickets (new, open, pending) whose last message came at or before
    ``before``: (``id``, ``number``, ``last_message_at``, ``idle_fired``) each."""
    return connection.execute(_IDLE_ROWS, {"before": before}).all()


def idle_state(connection: Connection, ticket_id: int) -> Row[Any] | None:
    """(``status``, ``last_message_at``, ``idle_fired``) of one ticket, None if it is gone."""
    return connection.execute(_IDLE_STATE, {"ticket_id": ticket_id}).first()


def set_idle_fired(connection: Connection, ticket_id: int, fired: Mapping[str, str]) -> None:
    """Record the idle rules fired in the ticket's current idle period."""
    connection.execute(_UPDATE, {"idle_fired": dict(fired), "ticket_key": ticket_id})


def message_stored(connection: Connection, ticket_id: int, at: datetime) -> None:
    """A person's mail was stored on the ticket at ``at``: a new idle period starts then,
    unless a later message is there already (imported history arrives in any order)."""
    connection.execute(_MESSAGE_AT, {"ticket_key": ticket_id, "at": at})
