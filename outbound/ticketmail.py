"""The one composer of ticket mail: everything maild writes about a ticket goes through here.

Acknowledgements, relayed agent answers, merge notices, auto-close warnings (the customer
side); notifications, assignment notices, SLA warnings and breaches, error replies to agents
(the agent side); the rules error to admins. :func:`queue_ticket_mail` owns what they share:

* the Message-ID (carrying the ticket's token, so a reply finds the ticket without trusting
  its subject), the Reply-To token address and the VERP envelope sender of each copy;
* the threading headers: In-Reply-To / References, and Outlook's Thread-Topic /
  Thread-Index, from a :class:`Threading` the caller picks (:mod:`outbound.threads`);
* the loop guards of invariant 3, per kind, in the one table :data:`KINDS` below.

A new kind of mail is a template and a row in :data:`KINDS`, not a new composer.

Imports ``storage`` and ``outbound`` only.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from sqlalchemy import Connection

from outbound.compose import (
    AddressError,
    OutgoingAttachment,
    OutgoingMail,
    compose,
    make_message_id,
    make_ticketless_id,
    token_address,
)
from outbound.guards import AutomaticMailLimits, held_back
from outbound.outbox import enqueue_each
from outbound.threadindex import continue_thread_index, thread_index, thread_topic
from storage import tickets
from storage.outbox import enqueue

__all__ = [
    "KINDS",
    "Audience",
    "MailKind",
    "MailTicket",
    "Queued",
    "Threading",
    "TicketMail",
    "queue_ticket_mail",
]

log = logging.getLogger(__name__)


class Audience(enum.StrEnum):
    CUSTOMER = "customer"  # the requester and accepted Cc: one message, To and Cc
    AGENT = "agent"  # an agent, a team address: one message each, their own thread
    ADMIN = "admin"  # [maild] admins and report recipients, about no ticket


@dataclass(frozen=True, slots=True)
class MailKind:
    """How one kind of ticket mail is guarded (invariant 3).

    ``auto_submitted``: the RFC 3834 header (None: a person wrote it). ``skip_bouncing``: no
    copy to an address marked bouncing. ``limited``: counts against, and is held back by, the
    hourly budget of automatic mail per address and per domain; only mail to customers is,
    so notices to agents never use up the budget that protects customers from loops, and an
    error reply to an agent is always sent.
    """

    audience: Audience
    auto_submitted: str | None
    skip_bouncing: bool = True
    limited: bool = False


_CUSTOMER_AUTO = MailKind(Audience.CUSTOMER, "auto-replied", limited=True)
_CUSTOMER_GENERATED = MailKind(Audience.CUSTOMER, "auto-generated", limited=True)
_AGENT_NOTICE = MailKind(Audience.AGENT, "auto-generated")

KINDS: MappingProxyType[str, MailKind] = MappingProxyType(
    {
        # kind                   audience,          Auto-Submitted, skip bouncing, limited
        "acknowledgement": _CUSTOMER_AUTO,
        "reply": MailKind(Audience.CUSTOMER, None),  # an agent wrote it: never held back
        "merged": _CUSTOMER_GENERATED,
        "auto_close_warning": _CUSTOMER_GENERATED,
        "survey": _CUSTOMER_GENERATED,
        "notification": _AGENT_NOTICE,
        "assignment": _AGENT_NOTICE,
        "sla_warning": _AGENT_NOTICE,
        "sla_breach": _AGENT_NOTICE,
        "agent_error": MailKind(Audience.AGENT, "auto-replied"),
        "admin": MailKind(Audience.ADMIN, "auto-generated", skip_bouncing=False),
        "report": MailKind(Audience.ADMIN, "auto-generated", skip_bouncing=False),
    }
)
"""Which guards apply to which kind of mail: the one table of invariant 3."""

LIMITED_KINDS = tuple(name for name, kind in KINDS.items() if kind.limited)


@dataclass(frozen=True, slots=True)
class MailTicket:
    """What the composer needs of a ticket (``maild`` passes its own records in as this)."""

    id: int
    number: int
    token: str
    mailbox: str
    subject: str
    requester: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Threading:
    """Where a message goes in its reader's thread.

    ``thread_seed``: what ties every mail of one conversation together for Outlook (the
    ticket's token and the reader); ``parent_index``: the Thread-Index of the mail this one
    answers, when it had one, so ours lands in that very conversation; ``first``: the first
    message of a conversation of ours (no child block)."""

    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    thread_seed: str | None = None
    parent_index: str | None = None
    first: bool = False
    message_id: str | None = None  # a fixed id (an agent's first notice), else a new one


@dataclass(frozen=True, slots=True)
class TicketMail:
    """One message about a ticket (``ticket`` None: about no ticket, for admins).

    ``reply_ticket``: the ticket replies should reach when it is not ``ticket`` (a merge
    notice continues the old ticket's thread, answers go to the new one)."""

    kind: str
    ticket: MailTicket | None
    recipients: Sequence[tuple[str, str]]
    from_name: str
    from_address: str
    subject: str
    text: str
    html: str | None = None
    threading: Threading = field(default_factory=Threading)
    attachments: tuple[OutgoingAttachment, ...] = ()
    reply_ticket: MailTicket | None = None


@dataclass(frozen=True, slots=True)
class Queued:
    """What became of a :class:`TicketMail`: its Message-ID, who it was queued for, and
    who was held back and why."""

    message_id: str | None
    sent_to: tuple[str, ...]
    held: dict[str, str] = field(default_factory=dict)

    @property
    def reason(self) -> str | None:
        """Why nobody got it, when nobody did."""
        if self.sent_to:
            return None
        return next(iter(self.held.values()), "no recipient")


def queue_ticket_mail(
    connection: Connection,
    mail: TicketMail,
    now: datetime,
    *,
    limits: AutomaticMailLimits,
) -> Queued:
    """Compose ``mail`` and queue it in the caller's transaction (invariant 4), after the
    loop guards of its kind (:data:`KINDS`). Never raises for an address: an address that
    cannot be written is held back with the reason."""
    kind = KINDS[mail.kind]
    held: dict[str, str] = {}
    recipients: list[tuple[str, str]] = []
    for name, address in mail.recipients:
        reason = _guard(connection, kind, address, now, limits)
        if reason is None:
            recipients.append((name, address))
        else:
            held[address.lower()] = reason
    if not recipients:
        return Queued(None, (), held)
    reply_ticket = mail.reply_ticket or mail.ticket
    domain = mail.from_address.partition("@")[2]
    threading = mail.threading
    message_id = threading.message_id or (
        make_message_id(reply_ticket.token, domain)
        if reply_ticket is not None
        else make_ticketless_id(domain)
    )
    customer = kind.audience is Audience.CUSTOMER
    outgoing = OutgoingMail(
        from_name=mail.from_name,
        from_address=mail.from_address,
        to=tuple(recipients[:1]) if customer else tuple(recipients),
        cc=tuple(recipients[1:]) if customer else (),
        subject=mail.subject,
        text=mail.text,
        html=mail.html,
        message_id=message_id,
        in_reply_to=threading.in_reply_to,
        references=threading.references,
        reply_to=(
            token_address(reply_ticket.mailbox, reply_ticket.token) if reply_ticket else None
        ),
        auto_submitted=kind.auto_submitted,
        date=now,
        attachments=mail.attachments,
        thread_topic=thread_topic(mail.ticket.subject) if mail.ticket else None,
        thread_index=_thread_index(mail.ticket, threading, now),
    )
    try:
        raw = compose(outgoing)
    except AddressError as error:
        number = mail.ticket.number if mail.ticket else None
        log.warning("no %s: %s", mail.kind, error, extra={"ticket": number})
        return Queued(None, (), {**held, **{a.lower(): "address unusable" for _, a in recipients}})
    addresses = [address for _, address in recipients]
    automatic = kind.auto_submitted is not None
    if reply_ticket is not None:
        enqueue_each(
            connection,
            ticket_id=reply_ticket.id,
            kind=mail.kind,
            message_id=message_id,
            mailbox=reply_ticket.mailbox,
            token=reply_ticket.token,
            recipients=addresses,
            raw=raw,
            now=now,
            automatic=automatic,
        )
    else:
        for address in addresses:
            enqueue(
                connection,
                ticket_id=None,
                kind=mail.kind,
                message_id=message_id,
                mail_from=mail.from_address,
                recipients=[address],
                raw=raw,
                now=now,
                automatic=automatic,
            )
    return Queued(message_id, tuple(a.lower() for a in addresses), held)


def _guard(
    connection: Connection,
    kind: MailKind,
    address: str,
    now: datetime,
    limits: AutomaticMailLimits,
) -> str | None:
    if kind.limited:
        return held_back(connection, address, now, limits, kinds=LIMITED_KINDS)
    if kind.skip_bouncing and tickets.is_bouncing(connection, address):
        return "address is bouncing"
    return None


def _thread_index(ticket: MailTicket | None, threading: Threading, now: datetime) -> str | None:
    if threading.parent_index:
        continued = continue_thread_index(threading.parent_index, now)
        if continued is not None:
            return continued
    if ticket is None or threading.thread_seed is None:
        return None
    return thread_index(threading.thread_seed, ticket.created_at, None if threading.first else now)
