"""What a notice to agents shows of a ticket: its latest messages with their attachments,
and the ticket it links to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, select

from storage.models import Attachment, Message, MessageKind, Ticket

_messages, _attachments, _tickets = Message.__table__, Attachment.__table__, Ticket.__table__
_RECENT = (
    select(
        _messages.c.id,
        _messages.c.kind,
        _messages.c.from_address,
        _messages.c.from_name,
        _messages.c.reply_text,
        _messages.c.created_at,
    )
    .where(_messages.c.ticket_id == bindparam("ticket_id"))
    .order_by(_messages.c.id.desc())
    .limit(bindparam("limit"))
)
_ATTACHMENTS = (
    select(_attachments.c.message_id, _attachments.c.filename, _attachments.c.size)
    .where(_attachments.c.message_id.in_(bindparam("ids", expanding=True)))
    .order_by(_attachments.c.id)
)
_NUMBER = select(_tickets.c.number).where(_tickets.c.id == bindparam("ticket_id"))


@dataclass(frozen=True, slots=True)
class FileShown:
    filename: str
    size: int


@dataclass(frozen=True, slots=True)
class RecentMessage:
    kind: MessageKind
    from_address: str
    from_name: str
    text: str
    created_at: datetime
    attachments: tuple[FileShown, ...]


def recent_messages(connection: Connection, ticket_id: int, limit: int) -> list[RecentMessage]:
    """The last ``limit`` messages of a ticket worth showing, newest first. A note without
    text (a mail of commands only) is left out: its commands are in the events."""
    rows = [
        row
        for row in connection.execute(_RECENT, {"ticket_id": ticket_id, "limit": limit + 3})
        if row.kind != MessageKind.NOTE or (row.reply_text or "").strip()
    ][:limit]
    files: dict[int, list[FileShown]] = {}
    if rows:
        for item in connection.execute(_ATTACHMENTS, {"ids": [row.id for row in rows]}):
            files.setdefault(item.message_id, []).append(FileShown(item.filename, item.size))
    return [
        RecentMessage(
            MessageKind(row.kind),
            row.from_address,
            row.from_name or "",
            row.reply_text or "",
            row.created_at,
            tuple(files.get(row.id, ())),
        )
        for row in rows
    ]


def ticket_numbers(connection: Connection, ticket_ids: Sequence[int]) -> list[int]:
    """The numbers of tickets known by id, in the same order (missing ones left out)."""
    found = []
    for ticket_id in ticket_ids:
        number = connection.execute(_NUMBER, {"ticket_id": ticket_id}).scalar()
        if number is not None:
            found.append(number)
    return found
