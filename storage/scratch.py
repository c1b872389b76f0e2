"""Scratch databases for simulations: a copy of the live database to run real code on, and
what that code changed in it.

``maild import --dry-run``, ``maild rules test`` and ``maild sla sweep --at <future>`` run
the daemon's own code against such a copy (``maild.simulation``). This module makes the copy
without ever writing to the source or taking its write lock, and reads back everything added
after the :class:`Marks` taken before the run.

Imports nothing of the project but ``storage``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, Engine, Table, func, insert, select
from sqlalchemy.orm import aliased

from storage.models import Base, Event, Message, OutboxMessage, QuarantinedMessage, Ticket

COPY_BATCH = 1000


def backup_sqlite(source: Path, target: Path, *, timeout: float = 5.0) -> None:
    """Copy the SQLite database file ``source`` into the new file ``target``.

    SQLite's online backup, from a connection that opens ``source`` read-only: it cannot
    create or change the file, and the copy is one read transaction, a consistent snapshot
    that never takes the write lock (in WAL mode the daemon goes on writing meanwhile).
    """
    reading = sqlite3.connect(f"file:{quote(str(source))}?mode=ro", uri=True, timeout=timeout)
    try:
        writing = sqlite3.connect(target)
        try:
            reading.backup(writing)
        finally:
            writing.close()
    finally:
        reading.close()


def copy_rows(
    source: Engine, target: Engine, tables: Sequence[Table] | None = None
) -> dict[str, int]:
    """Copy every row of maild's ``tables`` (default: all, parents first) from ``source``
    into ``target``, which has the schema and none of these rows; rows copied per table.

    ``source`` is read in one READ ONLY transaction, REPEATABLE READ on PostgreSQL: one
    consistent snapshot, which cannot write and takes no lock a writer waits for.
    """
    tables = list(Base.metadata.sorted_tables) if tables is None else list(tables)
    copied: dict[str, int] = {}
    with source.connect() as reading, target.begin() as writing:
        if reading.dialect.name == "postgresql":
            reading = reading.execution_options(isolation_level="REPEATABLE READ")
            reading.exec_driver_sql("SET TRANSACTION READ ONLY")
        if writing.dialect.name == "sqlite":
            # A ticket may name one stored after it (merged_into): check at commit.
            writing.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        for table in tables:
            rows = reading.execution_options(yield_per=COPY_BATCH).execute(select(table))
            count = 0
            for batch in rows.partitions():
                writing.execute(insert(table), [dict(row._mapping) for row in batch])
                count += len(batch)
            copied[table.name] = count
        reading.rollback()
    return copied


# --------------------------------------------------------------------------------------------
# What a run changed


@dataclass(frozen=True, slots=True)
class Marks:
    """The highest id of each table that a simulation adds to, before it runs."""

    ticket: int = 0
    message: int = 0
    event: int = 0
    outbox: int = 0
    quarantine: int = 0


def marks(connection: Connection) -> Marks:
    def top(column: Any) -> int:
        return int(connection.execute(select(func.coalesce(func.max(column), 0))).scalar_one())

    return Marks(
        ticket=top(Ticket.id),
        message=top(Message.id),
        event=top(Event.id),
        outbox=top(OutboxMessage.id),
        quarantine=top(QuarantinedMessage.id),
    )


@dataclass(frozen=True, slots=True)
class NewTicket:
    number: int
    subject: str
    requester: str
    mailbox: str
    status: str
    priority: str
    category: str | None
    tags: tuple[str, ...]
    team: str | None
    tier: str | None
    assignee: str | None
    linked_to: int | None
    """The number of the ticket it links (a stranger's mail, a follow-up of a closed one)."""


@dataclass(frozen=True, slots=True)
class TouchedTicket:
    """A ticket that existed before the run and got mail in it."""

    number: int
    status: str
    messages: int


@dataclass(frozen=True, slots=True)
class StoredMessage:
    ticket: int
    kind: str
    message_id: str | None
    automated: str | None


@dataclass(frozen=True, slots=True)
class EventLine:
    ticket: int
    at: datetime
    actor: str
    kind: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class QueuedMail:
    ticket: int | None
    kind: str
    mail_from: str
    recipients: tuple[str, ...]
    due_at: datetime
    raw: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class HeldMail:
    id: int
    mailbox: str
    mail_from: str
    reason: str


@dataclass(frozen=True, slots=True)
class Changes:
    """Everything a run added, in the order it happened."""

    tickets: tuple[NewTicket, ...] = ()
    touched: tuple[TouchedTicket, ...] = ()
    messages: tuple[StoredMessage, ...] = ()
    events: tuple[EventLine, ...] = ()
    mail: tuple[QueuedMail, ...] = ()
    quarantine: tuple[HeldMail, ...] = ()

    def events_of(self, ticket: int) -> tuple[EventLine, ...]:
        return tuple(event for event in self.events if event.ticket == ticket)


def changes_since(connection: Connection, since: Marks) -> Changes:
    """What was added after ``since``: tickets, mail on older tickets, events, outbox rows
    and quarantined messages."""
    linked = aliased(Ticket)
    tickets = connection.execute(
        select(
            Ticket.number,
            Ticket.subject,
            Ticket.requester,
            Ticket.mailbox,
            Ticket.status,
            Ticket.priority,
            Ticket.category,
            Ticket.tags,
            Ticket.team,
            Ticket.tier,
            Ticket.assignee,
            linked.number,
        )
        .outerjoin(linked, linked.id == Ticket.linked_ticket_id)
        .where(Ticket.id > since.ticket)
        .order_by(Ticket.id)
    ).all()
    touched = connection.execute(
        select(Ticket.number, Ticket.status, func.count(Message.id))
        .join(Message, Message.ticket_id == Ticket.id)
        .where(Message.id > since.message, Ticket.id <= since.ticket)
        .group_by(Ticket.number, Ticket.status)
        .order_by(Ticket.number)
    ).all()
    messages = connection.execute(
        select(Ticket.number, Message.kind, Message.message_id, Message.automated)
        .join(Ticket, Ticket.id == Message.ticket_id)
        .where(Message.id > since.message)
        .order_by(Message.id)
    ).all()
    events = connection.execute(
        select(Ticket.number, Event.at, Event.actor, Event.kind, Event.data)
        .join(Ticket, Ticket.id == Event.ticket_id)
        .where(Event.id > since.event)
        .order_by(Event.id)
    ).all()
    mail = connection.execute(
        select(
            Ticket.number,
            OutboxMessage.kind,
            OutboxMessage.mail_from,
            OutboxMessage.recipients,
            OutboxMessage.next_attempt_at,
            OutboxMessage.raw,
        )
        .outerjoin(Ticket, Ticket.id == OutboxMessage.ticket_id)
        .where(OutboxMessage.id > since.outbox)
        .order_by(OutboxMessage.id)
    ).all()
    return Changes(
        tickets=tuple(
            NewTicket(
                number=row[0],
                subject=row[1],
                requester=row[2],
                mailbox=row[3],
                status=str(row[4]),
                priority=row[5],
                category=row[6],
                tags=tuple(row[7] or ()),
                team=row[8],
                tier=row[9],
                assignee=row[10],
                linked_to=row[11],
            )
            for row in tickets
        ),
        touched=tuple(TouchedTicket(row[0], str(row[1]), row[2]) for row in touched),
        messages=tuple(StoredMessage(row[0], str(row[1]), row[2], row[3]) for row in messages),
        events=tuple(
            EventLine(row[0], row[1], row[2], row[3], dict(row[4] or {})) for row in events
        ),
        mail=tuple(
            QueuedMail(row[0], row[1], row[2], tuple(row[3] or ()), row[4], row[5] or b"")
            for row in mail
        ),
        quarantine=held(connection, after=since.quarantine),
    )


def held(
    connection: Connection, *, after: int | None = None, ids: Iterable[int] = ()
) -> tuple[HeldMail, ...]:
    """Quarantined messages with an id above ``after``, or with one of ``ids``."""
    table = QuarantinedMessage
    wanted = list(ids)
    condition = table.id.in_(wanted) if after is None else table.id > after
    rows = connection.execute(
        select(table.id, table.mailbox, table.mail_from, table.error)
        .where(condition)
        .order_by(table.id)
    ).all()
    return tuple(HeldMail(row[0], row[1], row[2], row[3]) for row in rows)
