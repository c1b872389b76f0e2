"""The database schema as typed SQLAlchemy models. Change it only with an Alembic migration."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


_NAIVE_TEXT = len("2026-03-04 11:58:29.490496")


def stored_instant(value: Any) -> datetime | None:
    """A timestamp as a query read it past :class:`UTCDateTime` (``type_coerce`` to text,
    for speed over many rows), as an aware UTC datetime. SQLite keeps UTC as text without a
    zone (``2026-03-04 11:58:29.490496``); naming the zone in the text parses ten times
    faster than ``replace(tzinfo=...)`` afterwards."""
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) <= _NAIVE_TEXT:
            return datetime.fromisoformat(value + "+00:00")
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite has no time zones; without this a value written aware comes back naive.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TicketStatus(enum.StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"


class MessageKind(enum.StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    NOTE = "note"
    SYSTEM = "system"


class ParticipantRole(enum.StrEnum):
    REQUESTER = "requester"
    CC = "cc"
    AGENT = "agent"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


class QuarantineStatus(enum.StrEnum):
    HELD = "held"
    RELEASED = "released"


class WebhookStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


def _enum(enum_cls: type[enum.StrEnum]) -> Any:
    # Stored as plain strings so a new value needs no ALTER TYPE on PostgreSQL.
    return String(16)


class Counter(Base):
    """Named integer sequences (ticket numbers) that work alike on SQLite and PostgreSQL."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        # The console's pages (newest first, by status) and its --since/--until.
        Index("ix_tickets_status_number", "status", "number"),
        Index("ix_tickets_created_at", "created_at"),
        # Surveys fall due by when tickets were resolved or closed (and reports count so).
        Index("ix_tickets_resolved_at", "resolved_at"),
        Index("ix_tickets_closed_at", "closed_at"),
        # Reports count first responses and assignments by when they happened.
        Index("ix_tickets_first_response_at", "first_response_at"),
        Index("ix_tickets_assigned_at", "assigned_at"),
        # The tickets that link one (tickets show: its follow-ups, strangers' tickets).
        Index("ix_tickets_linked_ticket_id", "linked_ticket_id"),
        # The ticket.idle sweep: open tickets whose last message is older than a cutoff.
        Index("ix_tickets_status_last_message_at", "status", "last_message_at"),
        # The limit on new tickets per sender: a sender's tickets of the last hour, and
        # their newest open one.
        Index("ix_tickets_requester_key_created_at", "requester_key", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    mailbox: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    status: Mapped[TicketStatus] = mapped_column(_enum(TicketStatus))
    priority: Mapped[str] = mapped_column(String(32))
    requester: Mapped[str] = mapped_column(String(320))
    requester_name: Mapped[str] = mapped_column(String(320), default="")
    # The requester as limits count senders: lower case, sub-address removed.
    requester_key: Mapped[str | None] = mapped_column(String(320))
    assignee: Mapped[str | None] = mapped_column(String(320), index=True)
    linked_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The assignee when the ticket was last resolved (or closed unresolved): reports credit
    # the resolution to them even when the ticket is handed on afterwards.
    resolved_assignee: Mapped[str | None] = mapped_column(String(320))
    category: Mapped[str | None] = mapped_column(String(100))
    tags: Mapped[list[str] | None] = mapped_column(JSON, default=list)
    team: Mapped[str | None] = mapped_column(String(100))
    tier: Mapped[str | None] = mapped_column(String(64))
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The SLA clock's pauses (waiting on the customer) as [start, end] in microseconds
    # since the epoch, end null while still pending; and the warnings and breaches already
    # sent, as "target.kind". Kept on the row so the sweep reads each ticket once.
    sla_paused: Mapped[list[list[int | None]] | None] = mapped_column(JSON, default=list)
    sla_fired: Mapped[list[str] | None] = mapped_column(JSON, default=list)
    auto_close_warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    # When a person's mail (not automated mail) was last stored on the ticket, else when it
    # was created: where an idle period starts. And the ticket.idle rules fired in it, as
    # rule name -> that time in ISO (storage.idle).
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    idle_fired: Mapped[dict[str, str] | None] = mapped_column(JSON)

    participants: Mapped[list[Participant]] = relationship(
        back_populates="ticket", order_by="Participant.id"
    )
    messages: Mapped[list[Message]] = relationship(back_populates="ticket", order_by="Message.id")


class Participant(Base):
    __tablename__ = "participants"
    __table_args__ = (
        UniqueConstraint("ticket_id", "address"),
        # Whether an address bounces, asked before any automatic mail to it.
        Index("ix_participants_address", "address"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(320))  # lower-cased
    name: Mapped[str] = mapped_column(String(320), default="")
    role: Mapped[ParticipantRole] = mapped_column(_enum(ParticipantRole))
    bouncing: Mapped[bool] = mapped_column(default=False)

    ticket: Mapped[Ticket] = relationship(back_populates="participants")


class Message(Base):
    """One message on a ticket, inbound or written by maild; ``raw`` keeps the original bytes."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("mailbox", "dedup_key"),
        # Both columns of the threading lookup (message_id IN … AND mailbox = ?): with the
        # Message-ID alone, SQLite preferred the unique (mailbox, dedup_key) index and
        # walked every message of the mailbox for each lookup.
        Index("ix_messages_message_id_mailbox", "message_id", "mailbox"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[MessageKind] = mapped_column(_enum(MessageKind))
    mailbox: Mapped[str] = mapped_column(String(320))
    dedup_key: Mapped[str] = mapped_column(String(1000))
    message_id: Mapped[str | None] = mapped_column(String(1000))
    from_address: Mapped[str] = mapped_column(String(320))
    from_name: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    reply_text: Mapped[str] = mapped_column(Text)
    automated: Mapped[str | None] = mapped_column(String(64))
    raw: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    ticket: Mapped[Ticket] = relationship(back_populates="messages")
    attachments: Mapped[list[Attachment]] = relationship(order_by="Attachment.id")


class MessageParent(Base):
    """A parent a stored message names in In-Reply-To / References (a customer's Message-ID,
    never one of ours), found by its Message-ID: when that parent arrives after its reply
    (MTAs deliver out of order), it is adopted by the reply's ticket
    (:mod:`storage.adoption`)."""

    __tablename__ = "message_parents"
    __table_args__ = (Index("ix_message_parents_parent_mailbox", "parent_message_id", "mailbox"),)

    # The composite key also serves the cascade when a message is deleted.
    message_row_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    parent_message_id: Mapped[str] = mapped_column(String(1000), primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(320))


class Blob(Base):
    """Content-addressed bytes: an attachment sent a hundred times is stored once."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"))


class Event(Base):
    """The audit trail: who (a person, ``system`` or a rule) changed what, and when."""

    __tablename__ = "events"
    # Reports count events of a kind in a period (reopenings, SLA breaches).
    __table_args__ = (Index("ix_events_kind_at", "kind", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    ticket: Mapped[Ticket] = relationship()


class OutboxMessage(Base):
    """A fully composed outgoing message, written in the transaction that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_recent_automatic", "primary_recipient", "created_at"),
        Index("ix_outbox_recent_domain", "recipient_domain", "created_at"),
        Index("ix_outbox_verp_id", "verp_id", unique=True),
        # A ticket's mail: the customer thread's References, what a merge moves.
        Index("ix_outbox_ticket_id", "ticket_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32))  # acknowledgement, notification, ...
    automatic: Mapped[bool] = mapped_column(default=True)
    message_id: Mapped[str] = mapped_column(String(1000), index=True)
    mail_from: Mapped[str] = mapped_column(String(320))
    recipients: Mapped[list[str]] = mapped_column(JSON)
    raw: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    status: Mapped[OutboxStatus] = mapped_column(_enum(OutboxStatus))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # When `maild outbox retry` began a new series of attempts: [outbound] max_lifetime
    # counts from here instead of created_at.
    retried_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The recipient, normalised (lower case, sub-address removed): what the per-address
    # limit on automatic mail counts; and its domain, what the per-domain limit counts.
    primary_recipient: Mapped[str | None] = mapped_column(String(320))
    recipient_domain: Mapped[str | None] = mapped_column(String(255))
    # The opaque per-recipient id in the envelope sender (support+TOKEN-RID@…): a bounce
    # that comes back to it names exactly this row's recipient and Message-ID.
    verp_id: Mapped[str | None] = mapped_column(String(16))

    ticket: Mapped[Ticket | None] = relationship()


class WebhookDelivery(Base):
    """One event for one ``[[webhooks]]`` receiver, written in the transaction of the change
    that caused it and sent after the commit (``outbound.webhooks``), like the outbox.

    ``payload`` is the JSON body exactly as it is sent, fixed when the event happened, and
    ``msg_id`` its ``webhook-id``: every attempt sends the same bytes under the same id, so
    a receiver can tell a repeat from a new event."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # What the worker claims: pending rows that are due, oldest first.
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        UniqueConstraint("msg_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook: Mapped[str] = mapped_column(String(100))  # the [[webhooks]] name
    event: Mapped[str] = mapped_column(String(64))  # ticket.created, …, ping
    msg_id: Mapped[str] = mapped_column(String(64))
    ticket_number: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[WebhookStatus] = mapped_column(_enum(WebhookStatus))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # When ``maild webhooks retry`` gave a dead delivery a new series of attempts: the
    # outbox's give-up time counts from it instead of from ``created_at``.
    retried_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class QuarantinedMessage(Base):
    """A message the pipeline could not process, kept raw with the reason for a human."""

    __tablename__ = "quarantine"
    __table_args__ = (
        Index("ix_quarantine_held", "mailbox", "raw_sha256"),
        # /metrics counts the held ones; with the hash, the duplicate check can use it too.
        Index("ix_quarantine_status", "status", "mailbox", "raw_sha256"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(32))
    mail_from: Mapped[str] = mapped_column(String(320))
    recipients: Mapped[list[str]] = mapped_column(JSON)
    mailbox: Mapped[str] = mapped_column(String(320))
    error: Mapped[str] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    # SHA-256 of ``raw``: a message handed in again is found by it, not by comparing bytes.
    raw_sha256: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[QuarantineStatus] = mapped_column(_enum(QuarantineStatus))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))


class Survey(Base):
    """The satisfaction survey of one ticket: at most one (the unique ticket_id is what keeps
    two instances from both sending it), and the rating it brought back."""

    __tablename__ = "surveys"
    __table_args__ = (
        # Reports count the ratings given in a period; /metrics counts surveys by status.
        Index("ix_surveys_rated_at", "rated_at"),
        Index("ix_surveys_status_rating", "status", "rating"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # "sent", or "skipped" with the reason (a bouncing address, the hourly limit).
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    scale: Mapped[str] = mapped_column(String(16))
    rating: Mapped[str | None] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    first_rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rated_via: Mapped[str | None] = mapped_column(String(16))  # web or mail


class ReportRun(Base):
    """A scheduled report sent for one period: the unique (name, period_start) is what keeps
    two instances, or a restarted one, from sending it twice."""

    __tablename__ = "report_runs"
    __table_args__ = (UniqueConstraint("name", "period_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Watcher(Base):
    """An agent who gets every notification of a ticket, like its assignee (``#watch``)."""

    __tablename__ = "watchers"
    # The unique (ticket_id, address) also finds a ticket's watchers.
    __table_args__ = (UniqueConstraint("ticket_id", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(320))  # the agent's address, lower-cased
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AdminNotice(Base):
    """A mail to the admins sent once: the unique key (``flood:ADDRESS:HOUR``) is what keeps
    two instances, or two mails of one group, from both sending it."""

    __tablename__ = "admin_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(400), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AssignmentCursor(Base):
    """Where round robin stopped in each team ("" for all agents), so a restart goes on
    with the next agent."""

    __tablename__ = "assignment_cursors"

    team: Mapped[str] = mapped_column(String(100), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)


class ImapFolderState(Base):
    """How far an IMAP poller got in one folder, so a restart neither skips nor repeats.

    ``last_uid`` is the highest UID such that every message up to it has been stored (and
    committed). UIDs mean something only together with the folder's UIDVALIDITY: when the
    server reports another one, the poller starts the folder again from UID 1 and
    deduplication keeps what was stored before from being stored twice.
    """

    __tablename__ = "imap_state"
    __table_args__ = (UniqueConstraint("server", "username", "folder"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(String(200))  # the [[imap]] name, for display
    server: Mapped[str] = mapped_column(String(300))  # host:port
    username: Mapped[str] = mapped_column(String(320))
    folder: Mapped[str] = mapped_column(String(500))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)  # 32-bit unsigned in IMAP
    last_uid: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ImapLease(Base):
    """Which instance reads an IMAP folder now: one at a time (DECISIONS "Several
    instances"). The holder renews ``expires_at`` before every check; another instance
    takes the row over only when it has expired, or was given up at a clean stop."""

    __tablename__ = "imap_leases"
    __table_args__ = (UniqueConstraint("server", "username", "folder"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(String(200))  # the [[imap]] name, for display
    server: Mapped[str] = mapped_column(String(300))  # host:port
    username: Mapped[str] = mapped_column(String(320))
    folder: Mapped[str] = mapped_column(String(500))
    holder: Mapped[str] = mapped_column(String(200))  # the poller: host, pid and a random part
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
