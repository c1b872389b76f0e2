"""Mail to the customer that continues the customer's own thread.

Everything maild writes to a customer about a ticket after the acknowledgement (an agent's
relayed answer, the notice that the ticket was merged, the auto-close warning) answers the
customer's last message (``In-Reply-To``) and names the customer's thread (``References``:
their stored Message-IDs and the ones we sent them, in order, capped by ``compose``), so
their mail client files it under their own mail. ``Thread-Topic``/``Thread-Index`` do the
same for Outlook, seeded per ticket and customer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, select

from maild.ticketing.record import TicketRecord
from outbound.compose import (
    AddressError,
    OutgoingAttachment,
    OutgoingMail,
    compose,
    token_address,
)
from outbound.compose import make_message_id as _make_message_id
from outbound.outbox import enqueue_each
from outbound.threadindex import thread_index, thread_topic
from rules.config import RulesConfig
from storage.models import Message, MessageKind, OutboxMessage, Participant, ParticipantRole

# Outbox kinds that went to the customer: they belong to the customer's thread.
CUSTOMER_FACING = ("acknowledgement", "reply", "merged", "auto_close_warning")

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
        _outbox.c.kind.in_(CUSTOMER_FACING),
    )
    .order_by(_outbox.c.id)
)
_PEOPLE = (
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
    in_reply_to: str | None
    references: tuple[str, ...]

    @property
    def latest(self) -> str | None:
        """The newest message of the thread, theirs or ours (ours wins a tie: an
        acknowledgement is queued in the same instant as the mail it answers)."""
        return self.references[-1] if self.references else None


def customer_thread(connection: Connection, ticket_id: int) -> CustomerThread:
    """The customer's last Message-ID, and every id of the customer thread in time order."""
    theirs = connection.execute(_CUSTOMER_IDS, {"ticket_id": ticket_id}).all()
    ours = connection.execute(_OUR_IDS, {"ticket_id": ticket_id}).all()
    ordered = sorted(
        [(row.created_at, 0, row.id, row.message_id) for row in theirs]
        + [(row.created_at, 1, row.id, row.message_id) for row in ours]
    )
    references = tuple(dict.fromkeys(item[3] for item in ordered))
    last = theirs[-1].message_id if theirs else None
    return CustomerThread(last, references)


def customer_recipients(
    connection: Connection,
    ticket_id: int,
    policy: RulesConfig,
    is_ours: Callable[[str], bool],
) -> list[tuple[str, str]]:
    """(name, address) of the requester and accepted Cc participants, without those whose
    mail bounces, agents (their copy is a notification, never the customer mail) and our
    own addresses."""
    found: list[tuple[str, str]] = []
    for row in connection.execute(_PEOPLE, {"ticket_id": ticket_id}):
        if policy.agent_for(row.address) is not None or is_ours(row.address):
            continue
        if row.role == ParticipantRole.REQUESTER:
            found.insert(0, (row.name or "", row.address))
        else:
            found.append((row.name or "", row.address))
    return found


def make_message_id(record: TicketRecord) -> str:
    return _make_message_id(record.token, record.mailbox.partition("@")[2])


@dataclass(frozen=True, slots=True)
class CustomerMail:
    """One message for the customer thread of ``thread_of`` (the ticket whose customer
    thread it continues); ``reply_ticket`` is the ticket replies should reach."""

    from_name: str
    subject: str
    text: str
    auto_submitted: str | None
    kind: str
    attachments: tuple[OutgoingAttachment, ...] = ()
    html: str | None = None


def queue_customer_mail(
    connection: Connection,
    *,
    thread_of: TicketRecord,
    reply_ticket: TicketRecord,
    recipients: list[tuple[str, str]],
    mail: CustomerMail,
    now: datetime,
    answer_latest: bool = False,
) -> str:
    """Compose and queue ``mail`` to ``recipients``; its Message-ID. It answers the
    customer's last message, or with ``answer_latest`` the newest of the thread (a
    reminder answers our own last word). The first recipient (the requester, see
    :func:`customer_recipients`) is in To, the accepted Cc participants in Cc, as the
    customer addressed them. Raises AddressError when no header can be written for them."""
    thread = customer_thread(connection, thread_of.id)
    reply_to = token_address(reply_ticket.mailbox, reply_ticket.token)
    message_id = make_message_id(reply_ticket)
    assert thread_of.created_at is not None
    outgoing = OutgoingMail(
        from_name=mail.from_name,
        from_address=reply_ticket.mailbox,
        to=tuple(recipients[:1]),
        cc=tuple(recipients[1:]),
        subject=mail.subject,
        text=mail.text,
        html=mail.html,
        message_id=message_id,
        in_reply_to=thread.latest if answer_latest else thread.in_reply_to,
        references=thread.references,
        reply_to=reply_to,
        auto_submitted=mail.auto_submitted,
        date=now,
        attachments=mail.attachments,
        thread_topic=thread_topic(thread_of.subject),
        thread_index=thread_index(
            f"{thread_of.token}:{thread_of.requester}", thread_of.created_at, now
        ),
    )
    raw = compose(outgoing)
    enqueue_each(
        connection,
        ticket_id=reply_ticket.id,
        kind=mail.kind,
        message_id=message_id,
        mailbox=reply_ticket.mailbox,
        token=reply_ticket.token,
        recipients=[address for _, address in recipients],
        raw=raw,
        now=now,
        automatic=mail.auto_submitted is not None,
    )
    return message_id


__all__ = [
    "AddressError",
    "CustomerMail",
    "CustomerThread",
    "customer_recipients",
    "customer_thread",
    "queue_customer_mail",
    "token_address",
]
