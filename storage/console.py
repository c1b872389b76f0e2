"""The queries behind the operator's console (``maild tickets``, ``quarantine``, ``outbox``,
``participants``, ``agents``): one function per view, returning plain frozen values.

The CLI opens a session, calls one of these and prints what comes back; it writes no SQL
itself. Nothing here is on the intake path. Imports nothing of the project but ``storage``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Text, cast, func, select, update
from sqlalchemy.orm import Session, selectinload

from storage.models import (
    Attachment,
    Blob,
    Event,
    Message,
    MessageKind,
    OutboxMessage,
    OutboxStatus,
    Participant,
    ParticipantRole,
    QuarantinedMessage,
    QuarantineStatus,
    Ticket,
    TicketStatus,
    Watcher,
)

OPEN_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)
"""The tickets still to work on: what ``tickets list`` shows unless told otherwise, and
what an agent's open tickets count."""


@dataclass(frozen=True, slots=True)
class TicketSummary:
    number: int
    subject: str
    status: TicketStatus
    priority: str
    requester: str
    assignee: str | None
    team: str | None
    tier: str | None
    category: str | None
    tags: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class ParticipantLine:
    address: str
    name: str
    role: ParticipantRole
    bouncing: bool


@dataclass(frozen=True, slots=True)
class AttachmentLine:
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True, slots=True)
class MessageLine:
    kind: MessageKind
    from_address: str
    created_at: datetime
    subject: str
    body: str  # the whole text, quoted history included
    reply_text: str  # without the quoted history
    attachments: tuple[AttachmentLine, ...]


@dataclass(frozen=True, slots=True)
class EventLine:
    at: datetime
    actor: str
    kind: str
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class TicketThread:
    """A ticket as ``maild tickets show`` prints it: messages and events oldest first."""

    ticket: TicketSummary
    participants: tuple[ParticipantLine, ...]
    messages: tuple[MessageLine, ...]
    events: tuple[EventLine, ...]
    # The ticket this one links (the closed one it follows up, the one a stranger named),
    # the tickets that link this one, and the one it was merged into: by number.
    linked_to: int | None = None
    linked_from: tuple[int, ...] = ()
    merged_into: int | None = None
    # The agents who get every notification of the ticket (#watch), in the order they began.
    watchers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BouncingAddress:
    address: str
    tickets: int
    latest_ticket: int


@dataclass(frozen=True, slots=True)
class OutboxLine:
    id: int
    ticket_number: int | None
    kind: str
    status: OutboxStatus
    recipients: tuple[str, ...]
    attempts: int
    next_attempt_at: datetime
    last_error: str | None


@dataclass(frozen=True, slots=True)
class QuarantineLine:
    id: int
    received_at: datetime
    source: str
    mail_from: str
    mailbox: str
    recipients: tuple[str, ...]
    status: QuarantineStatus
    error: str
    detail: str | None
    raw: bytes | None = None  # the message as it arrived, when asked for


def _summary(ticket: Any) -> TicketSummary:
    """A ticket's summary from its ORM object or a row of its columns (same names)."""
    return TicketSummary(
        number=ticket.number,
        subject=ticket.subject,
        status=TicketStatus(ticket.status),
        priority=ticket.priority,
        requester=ticket.requester,
        assignee=ticket.assignee,
        team=ticket.team,
        tier=ticket.tier,
        category=ticket.category,
        tags=tuple(ticket.tags or ()),
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        first_response_at=ticket.first_response_at,
        resolved_at=ticket.resolved_at,
    )


@dataclass(frozen=True, slots=True)
class TicketQuery:
    """Which tickets ``maild tickets list`` shows: newest first, a page at a time.

    ``statuses``: the statuses shown (empty: all); ``before``: only tickets numbered below
    it (the next page starts below the last number shown); ``since``/``until``: created in
    that interval (``until`` excluded); the rest are equal matches, ``tag`` one of the
    ticket's tags."""

    statuses: tuple[TicketStatus, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    before: int | None = None
    limit: int | None = 50
    assignee: str | None = None
    team: str | None = None
    priority: str | None = None
    category: str | None = None
    tag: str | None = None
    requester: str | None = None
    mailbox: str | None = None


_SUMMARY_COLUMNS = tuple(
    Ticket.__table__.c[name]
    for name in (
        "number",
        "subject",
        "status",
        "priority",
        "requester",
        "assignee",
        "team",
        "tier",
        "category",
        "tags",
        "created_at",
        "updated_at",
        "first_response_at",
        "resolved_at",
    )
)


def list_tickets(session: Session, wanted: TicketQuery = TicketQuery()) -> list[TicketSummary]:
    """``maild tickets list``: one page of tickets, newest (highest number) first. Each
    filter has an index to walk (status with number, created_at), so a page costs the
    same with a year of history as on the first day."""
    return [_summary(row) for row in session.execute(ticket_page_statement(wanted))]


def ticket_page_statement(wanted: TicketQuery) -> Select[Any]:
    """The statement behind :func:`list_tickets` (its plan is held by a test)."""
    table = Ticket.__table__
    query = select(*_SUMMARY_COLUMNS)
    if wanted.since is not None or wanted.until is not None:
        # Walk the created_at index (newest first) rather than every number above the
        # interval: tickets are numbered in the order they were created.
        query = query.order_by(table.c.created_at.desc(), table.c.number.desc())
    else:
        query = query.order_by(table.c.number.desc())
    if len(wanted.statuses) == 1:
        query = query.where(table.c.status == str(wanted.statuses[0]))
    elif wanted.statuses:
        query = query.where(table.c.status.in_([str(status) for status in wanted.statuses]))
    for name in ("assignee", "team", "priority", "category", "requester", "mailbox"):
        value = getattr(wanted, name)
        if value is not None:
            query = query.where(table.c[name] == value)
    if wanted.tag is not None:
        # Tags are plain names (no quotes): their JSON text names each one in quotes, on
        # SQLite and PostgreSQL alike.
        query = query.where(cast(table.c.tags, Text).like(f'%"{wanted.tag}"%'))
    if wanted.since is not None:
        query = query.where(table.c.created_at >= wanted.since)
    if wanted.until is not None:
        query = query.where(table.c.created_at < wanted.until)
    if wanted.before is not None:
        query = query.where(table.c.number < wanted.before)
    if wanted.limit:
        query = query.limit(wanted.limit)
    return query


def ticket_thread(session: Session, number: int) -> TicketThread | None:
    """``maild tickets show N``: the ticket, its participants, messages and events."""
    ticket = session.scalar(
        select(Ticket).where(Ticket.number == number).options(selectinload(Ticket.participants))
    )
    if ticket is None:
        return None
    messages = session.scalars(
        select(Message)
        .where(Message.ticket_id == ticket.id)
        .order_by(Message.id)
        .options(selectinload(Message.attachments))
    )
    events = session.scalars(select(Event).where(Event.ticket_id == ticket.id).order_by(Event.id))
    numbers = Ticket.__table__.c.number
    ids = Ticket.__table__.c.id

    def number_of(ticket_id: int | None) -> int | None:
        if ticket_id is None:
            return None
        return session.execute(select(numbers).where(ids == ticket_id)).scalar()

    linked_from = session.execute(
        select(numbers).where(Ticket.__table__.c.linked_ticket_id == ticket.id).order_by(numbers)
    ).scalars()
    watching = session.execute(
        select(Watcher.address).where(Watcher.ticket_id == ticket.id).order_by(Watcher.id)
    ).scalars()
    return TicketThread(
        watchers=tuple(watching),
        linked_to=number_of(ticket.linked_ticket_id),
        linked_from=tuple(linked_from),
        merged_into=number_of(ticket.merged_into_id),
        ticket=_summary(ticket),
        participants=tuple(
            ParticipantLine(p.address, p.name, ParticipantRole(p.role), p.bouncing)
            for p in ticket.participants
        ),
        messages=tuple(
            MessageLine(
                kind=MessageKind(m.kind),
                from_address=m.from_address,
                created_at=m.created_at,
                subject=m.subject,
                body=m.body,
                reply_text=m.reply_text,
                attachments=tuple(
                    AttachmentLine(a.filename, a.content_type, a.size) for a in m.attachments
                ),
            )
            for m in messages
        ),
        events=tuple(EventLine(e.at, e.actor, e.kind, dict(e.data or {})) for e in events),
    )


def open_tickets_per_assignee(session: Session) -> dict[str, int]:
    """``maild agents``: how many new, open and pending tickets each assignee has."""
    rows = session.execute(
        select(Ticket.assignee, func.count(Ticket.id))
        .where(Ticket.assignee.is_not(None), Ticket.status.in_([str(s) for s in OPEN_STATUSES]))
        .group_by(Ticket.assignee)
    ).all()
    return {assignee: count for assignee, count in rows}


def bouncing_addresses(session: Session) -> list[BouncingAddress]:
    """``maild participants``: addresses marked bouncing, with how many tickets they are on
    and the newest of them."""
    rows = session.execute(
        select(Participant.address, func.count(Participant.id), func.max(Ticket.number))
        .join(Ticket, Ticket.id == Participant.ticket_id)
        .where(Participant.bouncing.is_(True))
        .group_by(Participant.address)
        .order_by(Participant.address)
    ).all()
    return [BouncingAddress(address, count, latest) for address, count, latest in rows]


def clear_bouncing(session: Session, address: str) -> int:
    """``maild participants clear``: write to ``address`` again; the number of tickets on
    which it was marked bouncing. The caller commits."""
    result = session.execute(
        update(Participant)
        .where(Participant.address == address.lower(), Participant.bouncing.is_(True))
        .values(bouncing=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def outbox_lines(
    session: Session,
    statuses: Iterable[OutboxStatus] = (OutboxStatus.PENDING, OutboxStatus.DEAD),
) -> list[OutboxLine]:
    """``maild outbox``: mail still to send and mail given up on, oldest first (answered by
    the ``status, next_attempt_at`` index)."""
    rows = session.execute(
        select(
            OutboxMessage.id,
            Ticket.number,
            OutboxMessage.kind,
            OutboxMessage.status,
            OutboxMessage.recipients,
            OutboxMessage.attempts,
            OutboxMessage.next_attempt_at,
            OutboxMessage.last_error,
        )
        .outerjoin(Ticket, Ticket.id == OutboxMessage.ticket_id)
        .where(OutboxMessage.status.in_([str(status) for status in statuses]))
        .order_by(OutboxMessage.id)
    ).all()
    return [
        OutboxLine(
            id=row[0],
            ticket_number=row[1],
            kind=row[2],
            status=OutboxStatus(row[3]),
            recipients=tuple(row[4] or ()),
            attempts=row[5],
            next_attempt_at=row[6],
            last_error=row[7],
        )
        for row in rows
    ]


def _quarantine_line(row: QuarantinedMessage, raw: bytes | None = None) -> QuarantineLine:
    return QuarantineLine(
        id=row.id,
        received_at=row.received_at,
        source=row.source,
        mail_from=row.mail_from,
        mailbox=row.mailbox,
        recipients=tuple(row.recipients or ()),
        status=QuarantineStatus(row.status),
        error=row.error,
        detail=row.detail,
        raw=raw,
    )


def quarantine_lines(
    session: Session, status: QuarantineStatus | None = QuarantineStatus.HELD
) -> list[QuarantineLine]:
    """``maild quarantine list``: held messages (all with ``status=None``), oldest first."""
    query = select(QuarantinedMessage).order_by(QuarantinedMessage.id)
    if status is not None:
        query = query.where(QuarantinedMessage.status == str(status))
    return [_quarantine_line(row) for row in session.scalars(query)]


def quarantine_line(
    session: Session, ident: int, *, with_raw: bool = False
) -> QuarantineLine | None:
    """``maild quarantine show|retry ID``: one quarantined message; its bytes only when
    ``with_raw`` (they are not loaded otherwise)."""
    row = session.get(QuarantinedMessage, ident)
    if row is None:
        return None
    return _quarantine_line(row, row.raw if with_raw else None)


@dataclass(frozen=True, slots=True)
class StoredFile:
    """An attachment of a ticket's message, with its bytes."""

    filename: str
    content_type: str
    data: bytes


def ticket_files(session: Session, number: int) -> list[StoredFile] | None:
    """``maild attachments get N``: the files of ticket ``number``'s messages, in the order
    they arrived; None when there is no such ticket."""
    tickets, messages = Ticket.__table__, Message.__table__
    attachments, blobs = Attachment.__table__, Blob.__table__
    ticket_id = session.execute(select(tickets.c.id).where(tickets.c.number == number)).scalar()
    if ticket_id is None:
        return None
    rows = session.execute(
        select(attachments.c.filename, attachments.c.content_type, blobs.c.data)
        .join(messages, messages.c.id == attachments.c.message_id)
        .join(blobs, blobs.c.sha256 == attachments.c.sha256)
        .where(messages.c.ticket_id == ticket_id)
        .order_by(messages.c.id, attachments.c.id)
    )
    return [StoredFile(row.filename, row.content_type, bytes(row.data)) for row in rows]
