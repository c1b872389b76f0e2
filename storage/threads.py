"""What the threading headers of our mail are made of: the Message-IDs of a ticket's
customer thread, and whether a message was queued already."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, select

from storage.models import Message, MessageKind, OutboxMessage, Participant, ParticipantRole

_messages, _outbox, _participants = (
    Message.__table__,
    OutboxMessage.__table__,
    Participant.__table__,
)
_CUSTOMER_IDS = (
    select(_messages.c.message_id, _messages.c.created_at, _messages.c.id)
    .where(
        _messages.c.ticket_id == bindparam("ticket_id"),
        _messages.c.kind == MessageKind.CUSTOMER,
        _messages.c.message_id.is_not(None),
    )
    .order_by(_messages.c.id)
)
_OUR_IDS = (
    select(_outbox.c.message_id, _outbox.c.created_at, _outbox.c.id)
    .where(
        _outbox.c.ticket_id == bindparam("ticket_id"),
        _outbox.c.kind.in_(bindparam("kinds", expanding=True)),
    )
    .order_by(_outbox.c.id)
)
_QUEUED = select(_outbox.c.id).where(_outbox.c.message_id == bindparam("message_id")).limit(1)
_CUSTOMERS = (
    select(_participants.c.address, _participants.c.name, _participants.c.role)
    .where(
        _participants.c.ticket_id == bindparam("ticket_id"),
        _participants.c.bouncing.is_(False),
        _participants.c.role.in_([ParticipantRole.REQUESTER, ParticipantRole.CC]),
    )
    .order_by(_participants.c.id)
)


@dataclass(frozen=True, slots=True)
class CustomerThread:
    """The customer's last Message-ID, and every id of the customer thread (theirs and the
    ones we sent them) in time order."""

    in_reply_to: str | None
    references: tuple[str, ...]

    @property
    def latest(self) -> str | None:
        """The newest message of the thread, theirs or ours (ours wins a tie: an
        acknowledgement is queued in the same instant as the mail it answers)."""
        return self.references[-1] if self.references else None


def customer_thread(
    connection: Connection, ticket_id: int, customer_kinds: Sequence[str]
) -> CustomerThread:
    """The customer thread of a ticket; ``customer_kinds``: the outbox kinds that went to
    the customer."""
    theirs = connection.execute(_CUSTOMER_IDS, {"ticket_id": ticket_id}).all()
    ours = connection.execute(
        _OUR_IDS, {"ticket_id": ticket_id, "kinds": list(customer_kinds)}
    ).all()
    ordered = sorted(
        [(row.created_at, 0, row.id, row.message_id) for row in theirs]
        + [(row.created_at, 1, row.id, row.message_id) for row in ours]
    )
    references = tuple(dict.fromkeys(item[3] for item in ordered))
    last = theirs[-1].message_id if theirs else None
    return CustomerThread(last, references)


def was_queued(connection: Connection, message_id: str) -> bool:
    """Whether a message with this Message-ID is in the outbox (sent or not)."""
    return connection.execute(_QUEUED, {"message_id": message_id}).first() is not None


@dataclass(frozen=True, slots=True)
class CustomerParticipant:
    address: str
    name: str
    requester: bool


def customer_participants(connection: Connection, ticket_id: int) -> list[CustomerParticipant]:
    """The requester and accepted Cc participants not marked bouncing, in the order they
    joined."""
    return [
        CustomerParticipant(row.address, row.name or "", row.role == ParticipantRole.REQUESTER)
        for row in connection.execute(_CUSTOMERS, {"ticket_id": ticket_id})
    ]
