"""Ticket reads and writes for the intake hot path, as Core statements.

The ORM's unit of work costs several times more than the statements it emits; intake writes
a handful of rows per message and reads back only ids, so it talks to the tables directly
(the ORM models still define them). :class:`TicketView` is the plain snapshot of a ticket
the pipeline steps work on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from storage.models import (
    Attachment,
    Message,
    MessageKind,
    OutboxMessage,
    Participant,
    ParticipantRole,
    Ticket,
    TicketStatus,
)

VIEW_COLUMNS = tuple(
    Ticket.__table__.c[name]
    for name in ("id", "number", "token", "mailbox", "subject", "status", "requester")
)


@dataclass(slots=True)
class TicketView:
    id: int
    number: int
    token: str
    mailbox: str
    subject: str
    status: TicketStatus
    requester: str


def ticket_view(row: Any) -> TicketView:
    """The view of a row that has the :data:`VIEW_COLUMNS`."""
    return TicketView(
        row.id,
        row.number,
        row.token,
        row.mailbox,
        row.subject,
        TicketStatus(row.status),
        row.requester,
    )


def _view(row: Any) -> TicketView | None:
    return None if row is None else ticket_view(row)


# Statements built once: building and cache-keying a statement per call costs more than
# running it. Values are passed as parameters at execution.
_tickets, _messages = Ticket.__table__, Message.__table__
_DUPLICATE = (
    select(_tickets.c.number)
    .join(_messages, _messages.c.ticket_id == _tickets.c.id)
    .where(
        _messages.c.mailbox == bindparam("mailbox"), _messages.c.dedup_key == bindparam("dedup_key")
    )
)
_BY_NUMBER = select(*VIEW_COLUMNS).where(_tickets.c.number == bindparam("number"))
_BY_TOKENS = (
    select(*VIEW_COLUMNS).where(_tickets.c.token.in_(bindparam("tokens", expanding=True))).limit(1)
)
_BY_MESSAGE_IDS = (
    select(_messages.c.message_id, *VIEW_COLUMNS)
    .join(_tickets, _messages.c.ticket_id == _tickets.c.id)
    .where(
        _messages.c.message_id.in_(bindparam("message_ids", expanding=True)),
        _messages.c.mailbox == bindparam("mailbox"),
    )
)
_PARTICIPANTS = select(Participant.__table__.c.address).where(
    Participant.__table__.c.ticket_id == bindparam("ticket_id")
)
_PARTICIPANT_ROLES = select(Participant.__table__.c.address, Participant.__table__.c.role).where(
    Participant.__table__.c.ticket_id == bindparam("ticket_id")
)
_BOUNCING = (
    select(Participant.__table__.c.id)
    .where(
        Participant.__table__.c.address == bindparam("address"),
        Participant.__table__.c.bouncing.is_(True),
    )
    .limit(1)
)
_INSERT_TICKET = insert(_tickets).returning(_tickets.c.id)
_INSERT_MESSAGE = insert(_messages).returning(_messages.c.id)
_INSERT_PARTICIPANT = insert(Participant.__table__)
_INSERT_ATTACHMENT = insert(Attachment.__table__)


def duplicate_of(connection: Connection, mailbox: str, dedup_key: str) -> int | None:
    """The ticket number a message with this dedup key is already stored on, if any."""
    return connection.execute(_DUPLICATE, {"mailbox": mailbox, "dedup_key": dedup_key}).scalar()


def by_tokens(connection: Connection, tokens: Iterable[str]) -> TicketView | None:
    wanted = list(dict.fromkeys(tokens))
    if not wanted:
        return None
    return _view(connection.execute(_BY_TOKENS, {"tokens": wanted}).first())


def by_number(connection: Connection, number: int) -> TicketView | None:
    return _view(connection.execute(_BY_NUMBER, {"number": number}).first())


def by_stored_message_id(
    connection: Connection, mailbox: str, message_ids: Sequence[str]
) -> TicketView | None:
    """The ticket of a message we stored whose Message-ID is one of ``message_ids``
    (ordered nearest first; the nearest match wins)."""
    if not message_ids:
        return None
    rows = connection.execute(
        _BY_MESSAGE_IDS, {"message_ids": list(message_ids), "mailbox": mailbox}
    ).all()
    by_id = {row.message_id: row for row in rows}
    for message_id in message_ids:
        if message_id in by_id:
            return _view(by_id[message_id])
    return None


def participant_addresses(connection: Connection, ticket_id: int) -> set[str]:
    return set(connection.execute(_PARTICIPANTS, {"ticket_id": ticket_id}).scalars())


def participant_roles(connection: Connection, ticket_id: int) -> dict[str, ParticipantRole]:
    """Each participant's address with their role on the ticket."""
    rows = connection.execute(_PARTICIPANT_ROLES, {"ticket_id": ticket_id})
    return {row.address: ParticipantRole(row.role) for row in rows}


def is_bouncing(connection: Connection, address: str) -> bool:
    """Whether mail to ``address`` bounced for good and no one has cleared it yet."""
    return connection.execute(_BOUNCING, {"address": address.lower()}).first() is not None


def mark_bouncing(connection: Connection, ticket_id: int, addresses: Iterable[str]) -> list[str]:
    """Mark the ticket's participants among ``addresses`` as bouncing; the ones marked."""
    wanted = sorted({address.lower() for address in addresses})
    if not wanted:
        return []
    table = Participant.__table__
    marked = (
        connection.execute(
            update(table)
            .where(
                table.c.ticket_id == ticket_id,
                table.c.address.in_(wanted),
                table.c.bouncing.is_(False),
            )
            .values(bouncing=True)
            .returning(table.c.address)
        )
        .scalars()
        .all()
    )
    return sorted(marked)


def ticket_of_outgoing(connection: Connection, message_ids: Iterable[str]) -> TicketView | None:
    """The ticket of an outgoing message we queued with one of ``message_ids``."""
    wanted = list(dict.fromkeys(message_ids))
    if not wanted:
        return None
    outbox = OutboxMessage.__table__
    row = connection.execute(
        select(*VIEW_COLUMNS)
        .join(outbox, outbox.c.ticket_id == _tickets.c.id)
        .where(outbox.c.message_id.in_(wanted))
        .limit(1)
    ).first()
    return _view(row)


@dataclass(frozen=True, slots=True)
class SentCopy:
    """One recipient's copy of a message we queued, as its VERP id names it."""

    ticket_id: int | None
    message_id: str
    recipient: str
    mail_from: str


_outbox = OutboxMessage.__table__
_BY_VERP_ID = select(
    _outbox.c.ticket_id, _outbox.c.message_id, _outbox.c.recipients, _outbox.c.mail_from
).where(_outbox.c.verp_id == bindparam("verp_id"))


def sent_copy(connection: Connection, verp_id: str) -> SentCopy | None:
    """The copy whose envelope sender carried ``verp_id``, if we sent one."""
    row = connection.execute(_BY_VERP_ID, {"verp_id": verp_id}).first()
    if row is None or not row.recipients:
        return None
    return SentCopy(row.ticket_id, row.message_id, str(row.recipients[0]).lower(), row.mail_from)


_NOTES = (
    select(_messages.c.from_address, _messages.c.reply_text)
    .where(_messages.c.ticket_id == bindparam("ticket_id"), _messages.c.kind == MessageKind.NOTE)
    .order_by(_messages.c.id)
)


def internal_notes(connection: Connection, ticket_id: int) -> list[tuple[str, str]]:
    """The internal notes of a ticket as (author address, text), oldest first."""
    rows = connection.execute(_NOTES, {"ticket_id": ticket_id})
    return [(row.from_address, row.reply_text) for row in rows]


def insert_ticket(connection: Connection, **values: Any) -> int:
    return connection.execute(_INSERT_TICKET, values).scalar_one()


def insert_participants(
    connection: Connection, ticket_id: int, people: Iterable[tuple[str, str, ParticipantRole]]
) -> None:
    rows = [
        {
            "ticket_id": ticket_id,
            "address": address.lower(),
            "name": name,
            "role": role,
            "bouncing": False,
        }
        for address, name, role in people
    ]
    if rows:
        connection.execute(_INSERT_PARTICIPANT, rows)


def insert_message(connection: Connection, **values: Any) -> int:
    return connection.execute(_INSERT_MESSAGE, values).scalar_one()


def insert_attachments(connection: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        connection.execute(_INSERT_ATTACHMENT, rows)
