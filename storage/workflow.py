"""A ticket as the workflow changes it: the whole row, its changed columns, its audit events,
the row lock of the scheduled jobs, and the commands that touch participants.

``maild.ticketing.editor.TicketEditor`` is the one writer of ticket changes and calls these;
``maild.ticketing.record`` turns :func:`ticket_row` into a ``TicketRecord``. Statements are
built once; values are passed at execution.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from storage.models import Event, Participant, ParticipantRole, Ticket

_tickets, _events, _participants = Ticket.__table__, Event.__table__, Participant.__table__

RECORD_COLUMNS = (
    "id",
    "number",
    "token",
    "mailbox",
    "subject",
    "status",
    "priority",
    "requester",
    "requester_name",
    "assignee",
    "team",
    "tier",
    "category",
    "tags",
    "created_at",
    "updated_at",
    "first_response_at",
    "resolved_at",
    "closed_at",
    "resolved_assignee",
    "assigned_at",
    "sla_paused",
    "sla_fired",
    "auto_close_warned_at",
    "merged_into_id",
    "linked_ticket_id",
)
"""The columns of a ticket that ``TicketRecord`` holds (all of them)."""

_RECORD = select(*(_tickets.c[name] for name in RECORD_COLUMNS))
_RECORD_BY_ID = _RECORD.where(_tickets.c.id == bindparam("ticket_id"))
_RECORD_BY_NUMBER = _RECORD.where(_tickets.c.number == bindparam("number"))
# The SET clause comes from the keys of the values passed (no ticket column is "ticket_key").
_UPDATE = update(_tickets).where(_tickets.c.id == bindparam("ticket_key"))
_INSERT_EVENTS = insert(_events)
_LOCK = select(_tickets.c.id).where(_tickets.c.id == bindparam("ticket_id")).with_for_update()
_MERGED_INTO = select(_tickets.c.merged_into_id).where(_tickets.c.id == bindparam("ticket_id"))
_REMOVE_CC = delete(_participants).where(
    _participants.c.ticket_id == bindparam("ticket_id"),
    _participants.c.address == bindparam("address"),
    _participants.c.role == ParticipantRole.CC,
)


def ticket_row(connection: Connection, ticket_id: int) -> dict[str, Any] | None:
    """Every column of the ticket (:data:`RECORD_COLUMNS`) as stored; None if there is none."""
    row = connection.execute(_RECORD_BY_ID, {"ticket_id": ticket_id}).first()
    return None if row is None else dict(row._mapping)


def ticket_row_by_number(connection: Connection, number: int) -> dict[str, Any] | None:
    """:func:`ticket_row` of the ticket numbered ``number``."""
    row = connection.execute(_RECORD_BY_NUMBER, {"number": number}).first()
    return None if row is None else dict(row._mapping)


def update_ticket(connection: Connection, ticket_id: int, values: Mapping[str, Any]) -> None:
    """Write the changed columns ``values`` of one ticket (one UPDATE by primary key)."""
    if values:
        connection.execute(_UPDATE, {**values, "ticket_key": ticket_id})


def touch_ticket(connection: Connection, ticket_id: int, now: datetime) -> None:
    """The ticket saw activity that changed nothing else: only ``updated_at`` moves."""
    connection.execute(_UPDATE, {"updated_at": now, "ticket_key": ticket_id})


def insert_events(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Append audit events, each a mapping of ``ticket_id``, ``at``, ``actor``, ``kind`` and
    ``data``, in the order given (event ids follow it)."""
    if rows:
        connection.execute(_INSERT_EVENTS, list(rows))


def lock_ticket(connection: Connection, ticket_id: int) -> None:
    """Hold the ticket's row until the transaction ends, so two instances' scheduled jobs
    never change one ticket at once (``SELECT … FOR UPDATE``). SQLite needs none: its
    write transaction (``BEGIN IMMEDIATE``) already excludes every other writer."""
    if connection.dialect.name != "sqlite":
        connection.execute(_LOCK, {"ticket_id": ticket_id})


def merged_into(connection: Connection, ticket_id: int) -> int | None:
    """The id of the ticket this one was merged into, if it was."""
    return connection.execute(_MERGED_INTO, {"ticket_id": ticket_id}).scalar()


def remove_cc(connection: Connection, ticket_id: int, address: str) -> bool:
    """Take the Cc participant ``address`` (lower-cased) off the ticket; False when it is
    not one (the requester and agents are never removed this way)."""
    done = connection.execute(_REMOVE_CC, {"ticket_id": ticket_id, "address": address})
    return done.rowcount > 0
