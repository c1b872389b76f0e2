"""The intake steps, run in order for each job inside its SAVEPOINT.

Each step is one small class with a ``name`` and a ``__call__(context)``; the pipeline is the
ordered tuple :data:`INTAKE_STEPS`. A new behaviour is a new step, not a new branch. Final
outcomes (a duplicate) are exceptions caught by the driver.
"""

from __future__ import annotations

import logging
from typing import Protocol

from maild.config import Config
from maild.pipeline.acknowledge import Acknowledger
from maild.pipeline.context import IntakeContext
from maild.pipeline.errors import Duplicate
from maild.pipeline.mailboxes import MailboxDirectory
from outbound.compose import new_ticket_token, token_from_message_id
from parsing.ticketref import strip_reply_prefixes
from storage import queries
from storage.models import (
    Attachment,
    Event,
    Message,
    MessageKind,
    Participant,
    ParticipantRole,
    Ticket,
    TicketStatus,
)

log = logging.getLogger(__name__)


class Step(Protocol):
    name: str

    def __call__(self, context: IntakeContext) -> None: ...


class Deduplicate:
    """Invariant 2: the same message for the same mailbox is stored once."""

    name = "deduplicate"

    def __call__(self, context: IntakeContext) -> None:
        existing = queries.message_exists(
            context.session, context.job.mailbox.address, context.dedup_key
        )
        if existing is not None:
            raise Duplicate(existing.ticket.number)


class ClassifyAutomated:
    """Marks mail that must never be answered automatically (invariant 3)."""

    name = "classify"

    def __init__(self, mailboxes: MailboxDirectory) -> None:
        self._mailboxes = mailboxes

    def __call__(self, context: IntakeContext) -> None:
        parsed = context.parsed
        reason = parsed.automated
        if reason is None and context.job.delivery.mail_from.strip("<> ") == "":
            reason = "null-sender"
        if reason is None and self._mailboxes.is_ours(context.sender):
            reason = "own-address"
        if reason is None and any(
            self._mailboxes.is_ours(value.strip()) for value in parsed.header_values("X-Loop")
        ):
            reason = "loop"
        context.automated = reason
        if reason is not None:
            context.kind = MessageKind.SYSTEM


class Thread:
    """Finds the ticket a message continues.

    In order (DESIGN.md, Tickets): a Message-ID we stored or sent named in In-Reply-To /
    References, then our reply token in a recipient address, then the subject tag. The tag
    alone is trusted only from a participant of that ticket: from anyone else it opens a
    new ticket linked to the named one, so nobody writes into a stranger's ticket by
    guessing a number (invariant 6).
    """

    name = "thread"

    def __call__(self, context: IntakeContext) -> None:
        session, parsed = context.session, context.parsed
        mailbox = context.job.mailbox.address
        thread_ids = parsed.thread_ids
        tokens = [t for t in (token_from_message_id(i) for i in thread_ids) if t]
        ticket = queries.ticket_by_token(session, tokens)
        if ticket is not None:
            context.ticket, context.threaded_by = ticket, "message-id"
            return
        ticket = queries.ticket_by_stored_message_id(session, mailbox, thread_ids)
        if ticket is not None:
            context.ticket, context.threaded_by = ticket, "references"
            return
        ticket = queries.ticket_by_token(session, context.job.reply_tokens)
        if ticket is not None:
            context.ticket, context.threaded_by = ticket, "reply-token"
            return
        if parsed.ticket_ref is None:
            return
        named = queries.ticket_by_number(session, parsed.ticket_ref)
        if named is None:
            return
        if queries.participant(session, named.id, context.sender) is not None:
            context.ticket, context.threaded_by = named, "subject-tag"
        else:
            log.info(
                "subject names ticket #%s but %s is not a participant: opening a new ticket",
                named.number,
                context.sender,
            )
            context.linked_ticket = named


class FollowUpClosed:
    """Mail to a closed ticket opens a follow-up ticket that links it (configurable)."""

    name = "follow-up-closed"

    def __init__(self, config: Config) -> None:
        self._reopen = config.maild.closed_ticket_reply == "reopen"

    def __call__(self, context: IntakeContext) -> None:
        ticket = context.ticket
        if ticket is None or ticket.status != TicketStatus.CLOSED or self._reopen:
            return
        if context.automated is not None:
            return  # an auto-reply to a closed ticket stays on it and opens nothing
        context.linked_ticket, context.ticket = ticket, None


class OpenTicket:
    """Creates the ticket when the message continues none."""

    name = "open-ticket"

    def __init__(self, config: Config) -> None:
        self._config = config

    def __call__(self, context: IntakeContext) -> None:
        if context.ticket is not None:
            return
        session, parsed = context.session, context.parsed
        number = queries.next_ticket_number(session, self._config.maild.first_ticket_number)
        subject = strip_reply_prefixes(parsed.subject) or "(no subject)"
        ticket = Ticket(
            number=number,
            token=new_ticket_token(),
            mailbox=context.job.mailbox.address,
            subject=subject,
            status=TicketStatus.NEW,
            priority=self._config.maild.default_priority,
            requester=context.sender,
            requester_name=context.sender_name,
            linked_ticket_id=context.linked_ticket.id if context.linked_ticket else None,
            created_at=context.now,
            updated_at=context.now,
        )
        session.add(ticket)
        context.ticket, context.created = ticket, True
        session.add(
            Participant(
                ticket=ticket,
                address=context.sender,
                name=context.sender_name,
                role=ParticipantRole.REQUESTER,
            )
        )
        data: dict[str, object] = {"subject": subject}
        if context.linked_ticket is not None:
            data["linked_ticket"] = context.linked_ticket.number
        _event(context, "ticket.created", data)


class AddParticipants:
    """Cc'd people of a new ticket, and whoever proved they got our mail, join the ticket."""

    name = "participants"

    def __init__(self, mailboxes: MailboxDirectory) -> None:
        self._mailboxes = mailboxes

    def __call__(self, context: IntakeContext) -> None:
        ticket = context.ticket
        assert ticket is not None
        if context.automated is not None:
            return
        candidates = []
        if context.created:
            candidates = [a for a in context.parsed.cc if a.key != context.sender]
        elif context.threaded_by in ("message-id", "reply-token", "references"):
            candidates = [context.parsed.from_]
        known = (
            {p.address for p in ticket.participants} if not context.created else {context.sender}
        )
        for address in candidates:
            if address is None or address.key in known or self._mailboxes.is_ours(address.key):
                continue
            known.add(address.key)
            context.session.add(
                Participant(
                    ticket=ticket, address=address.key, name=address.name, role=ParticipantRole.CC
                )
            )


class UpdateStatus:
    """A customer's reply reopens: pending → open, resolved → open (closed with ``reopen``)."""

    name = "status"

    REOPENING = {TicketStatus.PENDING, TicketStatus.RESOLVED, TicketStatus.CLOSED}

    def __call__(self, context: IntakeContext) -> None:
        ticket = context.ticket
        assert ticket is not None
        ticket.updated_at = context.now
        if context.created or context.automated is not None:
            return
        if ticket.status in self.REOPENING:
            _event(
                context,
                "status.changed",
                {"from": str(ticket.status), "to": str(TicketStatus.OPEN)},
            )
            ticket.status = TicketStatus.OPEN
            ticket.resolved_at = ticket.closed_at = None


class StoreMessage:
    """The message itself, its attachments (content-addressed) and its audit event."""

    name = "store"

    def __call__(self, context: IntakeContext) -> None:
        ticket, parsed, job = context.ticket, context.parsed, context.job
        assert ticket is not None and parsed.from_ is not None
        message = Message(
            ticket=ticket,
            kind=context.kind,
            mailbox=job.mailbox.address,
            dedup_key=context.dedup_key,
            message_id=parsed.message_id,
            from_address=context.sender,
            from_name=parsed.from_.name,
            subject=parsed.subject,
            body=parsed.text,
            reply_text=parsed.reply_text,
            automated=context.automated,
            raw=job.delivery.raw,
            sent_at=parsed.date,
            created_at=context.now,
        )
        context.session.add(message)
        for attachment in parsed.attachments:
            digest = attachment.sha256
            queries.store_blob(context.session, digest, attachment.data)
            message.attachments.append(
                Attachment(
                    filename=attachment.filename,
                    content_type=attachment.content_type,
                    size=attachment.size,
                    sha256=digest,
                )
            )
        if not context.created:
            data: dict[str, object] = {"threaded_by": context.threaded_by}
            if context.automated:
                data["automated"] = context.automated
            _event(context, "message.received", data)


class Acknowledge:
    """Queues the acknowledgement of a new ticket, never for automated mail (invariant 3)."""

    name = "acknowledge"

    def __init__(self, acknowledger: Acknowledger) -> None:
        self._acknowledger = acknowledger

    def __call__(self, context: IntakeContext) -> None:
        if not context.created or context.automated is not None:
            return
        if self._acknowledger.queue(context):
            _event(context, "acknowledgement.queued", {"to": context.sender})
        else:
            _event(context, "acknowledgement.skipped", {"reason": "address unusable"})


def _event(context: IntakeContext, kind: str, data: dict[str, object]) -> None:
    assert context.ticket is not None
    actor = f"customer:{context.sender}" if context.automated is None else "system"
    context.session.add(
        Event(ticket=context.ticket, at=context.now, actor=actor, kind=kind, data=data)
    )


def intake_steps(
    config: Config, mailboxes: MailboxDirectory, acknowledger: Acknowledger
) -> tuple[Step, ...]:
    """The intake pipeline as data: the steps in the order they run."""
    return (
        Deduplicate(),
        ClassifyAutomated(mailboxes),
        Thread(),
        FollowUpClosed(config),
        OpenTicket(config),
        AddParticipants(mailboxes),
        UpdateStatus(),
        StoreMessage(),
        Acknowledge(acknowledger),
    )
