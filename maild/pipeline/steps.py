"""The intake steps, run in order for each job inside its SAVEPOINT.

Each step is one small class with a ``name`` and a ``__call__(context)``; the pipeline is the
ordered tuple :func:`intake_steps` returns. A new behaviour is a new step, not a new branch.
Final outcomes (a duplicate) are exceptions caught by the driver.
"""

from __future__ import annotations

import logging
from typing import Protocol

from sqlalchemy import Connection

from maild.agents.steps import AgentMail, FollowMerged
from maild.agents.trust import IdentifyAgent
from maild.automation.notify_step import NotifyAgents
from maild.automation.rules_step import ApplyRules
from maild.config import Config
from maild.pipeline.acknowledge import Acknowledger
from maild.pipeline.context import IntakeContext
from maild.pipeline.delivery import Job
from maild.pipeline.errors import Duplicate, Unprocessable
from maild.pipeline.mailboxes import MailboxDirectory
from maild.pipeline.participation import AcceptCc, JoinThread
from maild.pipeline.storing import store_mail
from maild.ticketing.editor import TicketEditor
from maild.ticketing.notify import Notifier
from outbound.compose import new_ticket_token, token_from_message_id
from outbound.templating import TemplateRenderer
from parsing.model import Bounce
from parsing.ticketref import strip_reply_prefixes
from storage import queries, tickets
from storage.models import MessageKind, ParticipantRole, TicketStatus
from storage.tickets import TicketView

log = logging.getLogger(__name__)


class Step(Protocol):
    name: str

    def __call__(self, context: IntakeContext) -> None: ...


class Deduplicate:
    """Invariant 2: the same message for the same mailbox is stored once."""

    name = "deduplicate"

    def __call__(self, context: IntakeContext) -> None:
        number = tickets.duplicate_of(
            context.connection, context.job.mailbox.address, context.dedup_key
        )
        if number is not None:
            raise Duplicate(number)


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


class MatchBounce:
    """A delivery failure never opens a ticket: it belongs to the ticket whose outgoing mail
    bounced, found by the token of our envelope sender (VERP), or the bounced message's
    Message-ID. There it is stored as a system message. A permanent failure marks an
    address bouncing (nothing more is sent to it until a human clears it with ``maild
    participants clear``) only when the report proves it is about our mail to that address
    (invariant 6): it came back to the envelope sender of that recipient's own copy
    (``support+TOKEN-RID@``), names that recipient, and names no other Message-ID than the
    one we sent. Anyone who received our mail knows the ticket's token, so a report to the
    plain token address, or about someone else, is stored and marks nobody. A bounce for no
    ticket of ours goes to quarantine."""

    name = "bounce"

    def __call__(self, context: IntakeContext) -> None:
        bounce = context.parsed.bounce
        if context.parsed.automated != "bounce" and bounce is None:
            return
        connection = context.connection
        original = [bounce.original_message_id] if bounce and bounce.original_message_id else []
        tokens = [t for t in map(token_from_message_id, original) if t]
        ticket = (
            tickets.by_tokens(connection, context.job.reply_tokens)
            or tickets.by_tokens(connection, tokens)
            or tickets.ticket_of_outgoing(connection, original)
        )
        if ticket is None:
            raise Unprocessable("delivery failure report for no message of ours")
        context.ticket, context.threaded_by = ticket, "bounce"
        context.automated = "bounce"
        context.kind = MessageKind.SYSTEM
        if bounce is None:
            return
        context.record(
            "bounce.received",
            recipients=list(bounce.recipients),
            permanent=bounce.permanent,
            status=bounce.status,
        )
        if not bounce.permanent:
            return
        copy, problem = reported_copy(connection, context.job, bounce)
        if copy is None:
            log.info("bounce marks nobody: %s", problem, extra={"ticket": ticket.number})
            context.record("bounce.unverified", reason=problem)
            return
        for address in tickets.mark_bouncing(
            connection, copy.ticket_id or ticket.id, [copy.recipient]
        ):
            log.warning(
                "%s marked bouncing (%s)",
                address,
                bounce.status or "permanent",
                extra={"ticket": ticket.number},
            )
            context.record("participant.bouncing", address=address)


def reported_copy(
    connection: Connection, job: Job, bounce: Bounce
) -> tuple[tickets.SentCopy | None, str]:
    """The copy of our mail a delivery report is about, or None and why it proves nothing."""
    if not job.verp_ids:
        return None, "not sent to the envelope sender of one recipient's copy"
    envelope = {address.strip().strip("<>").lower() for address in job.delivery.rcpt_tos}
    reported = {address.strip().lower() for address in bounce.recipients}
    for verp_id in job.verp_ids:
        copy = tickets.sent_copy(connection, verp_id)
        if copy is None or copy.mail_from.lower() not in envelope:
            continue
        if copy.recipient not in reported:
            return None, f"the report does not name {copy.recipient}, the copy's recipient"
        if bounce.original_message_id and bounce.original_message_id != copy.message_id:
            return None, "the report names another Message-ID than the copy's"
        return copy, ""
    return None, "no copy of ours was sent from that envelope sender"


class Thread:
    """Finds the ticket a message continues.

    In order (DESIGN.md, Tickets): a Message-ID we sent (it carries the ticket's token) or
    stored, named in In-Reply-To / References; then our reply token in a recipient address;
    then the subject tag. Only our Message-IDs and reply addresses carry the unguessable
    token; a customer's Message-ID is no secret (everyone on the first mail has it, list
    archives publish it) and neither is a ticket number. So a stored Message-ID or the tag
    alone threads only a participant's mail; anyone else's opens a new ticket linked to the
    named one, and nobody writes into a stranger's ticket (invariant 6). A mail that claims
    an agent's address without passing the trust rule is nobody's participant.
    """

    name = "thread"

    def __call__(self, context: IntakeContext) -> None:
        if context.ticket is not None:
            return
        connection, parsed = context.connection, context.parsed
        thread_ids = parsed.thread_ids
        our_tokens = [t for t in map(token_from_message_id, thread_ids) if t]
        for threaded_by, find in (
            ("message-id", lambda: tickets.by_tokens(connection, our_tokens)),
            (
                "references",
                lambda: tickets.by_stored_message_id(
                    connection, context.job.mailbox.address, thread_ids
                ),
            ),
            ("reply-token", lambda: tickets.by_tokens(connection, context.job.reply_tokens)),
        ):
            ticket = find()
            if ticket is None:
                continue
            if threaded_by == "references" and not self._participant(context, ticket):
                self._link(context, ticket, "a customer's Message-ID")
            else:
                context.ticket, context.threaded_by = ticket, threaded_by
            return
        if parsed.ticket_ref is None:
            return
        named = tickets.by_number(connection, parsed.ticket_ref)
        if named is None:
            return
        if self._participant(context, named):
            context.ticket, context.threaded_by = named, "subject-tag"
        else:
            self._link(context, named, "the subject tag")

    @staticmethod
    def _participant(context: IntakeContext, ticket: TicketView) -> bool:
        if context.suspect:
            return False
        return context.sender in tickets.participant_addresses(context.connection, ticket.id)

    @staticmethod
    def _link(context: IntakeContext, ticket: TicketView, by: str) -> None:
        log.info(
            "%s names ticket #%s by %s but is not on it: opening a new ticket",
            context.sender,
            ticket.number,
            by,
            extra={"ticket": ticket.number},
        )
        context.linked_ticket = ticket


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
    """Creates the ticket, with its requester and the people they addressed, when the
    message continues none."""

    name = "open-ticket"

    def __init__(self, config: Config, mailboxes: MailboxDirectory) -> None:
        self._config = config
        self._mailboxes = mailboxes

    def __call__(self, context: IntakeContext) -> None:
        if context.ticket is not None:
            return
        connection, parsed = context.connection, context.parsed
        number = queries.next_ticket_number(connection, self._config.maild.first_ticket_number)
        subject = strip_reply_prefixes(parsed.subject) or "(no subject)"
        values = {
            "number": number,
            "token": new_ticket_token(),
            "mailbox": context.job.mailbox.address,
            "subject": subject,
            "status": TicketStatus.NEW,
            "priority": self._config.maild.default_priority,
            "requester": context.sender,
            "requester_name": context.sender_name,
            "linked_ticket_id": context.linked_ticket.id if context.linked_ticket else None,
            "created_at": context.now,
            "updated_at": context.now,
        }
        ticket_id = tickets.insert_ticket(connection, **values)
        context.ticket = TicketView(
            ticket_id,
            number,
            values["token"],
            values["mailbox"],
            subject,
            TicketStatus.NEW,
            context.sender,
        )
        context.created = True
        tickets.insert_participants(
            connection,
            ticket_id,
            [(context.sender, context.sender_name, ParticipantRole.REQUESTER)],
        )
        if context.linked_ticket is not None:
            context.record(
                "ticket.created", subject=subject, linked_ticket=context.linked_ticket.number
            )
        else:
            context.record("ticket.created", subject=subject)


class UpdateStatus:
    """A customer's reply reopens: pending → open, resolved → open (closed with ``reopen``),
    through the ticket's editor, whose workflow rule resumes the SLA clock a pending ticket
    paused and clears what a finished ticket carries. Any other reply moves only
    ``updated_at``, without reading the ticket (the intake path)."""

    name = "status"

    REOPENING = frozenset({TicketStatus.PENDING, TicketStatus.RESOLVED, TicketStatus.CLOSED})

    def __call__(self, context: IntakeContext) -> None:
        ticket = context.ticket
        assert ticket is not None
        if context.created or context.withheld:
            return
        if context.automated is None and ticket.status in self.REOPENING:
            editor = context.editor(context.actor)
            editor.set_status(TicketStatus.OPEN)
            editor.save()
            ticket.status = TicketStatus.OPEN
        else:
            TicketEditor.touch(context.connection, ticket.id, context.now)


class StoreMessage:
    """The message itself and its attachments, stored once by content."""

    name = "store"

    def __call__(self, context: IntakeContext) -> None:
        assert context.ticket is not None
        store_mail(
            context, context.ticket.id, context.kind, context.parsed.reply_text, context.automated
        )
        if not context.created:
            details: dict[str, object] = {"threaded_by": context.threaded_by}
            if context.automated:
                details["automated"] = context.automated
            context.record("message.received", **details)


class Acknowledge:
    """Queues the acknowledgement of a new ticket, never for automated mail (invariant 3)."""

    name = "acknowledge"

    def __init__(self, acknowledger: Acknowledger) -> None:
        self._acknowledger = acknowledger

    def __call__(self, context: IntakeContext) -> None:
        if not context.created or context.automated is not None:
            return
        if not context.job.delivery.notify:
            context.record("acknowledgement.skipped", reason="notifications off for this source")
            return
        held_back = self._acknowledger.queue(context)
        if held_back is None:
            context.record("acknowledgement.queued", to=context.sender)
        else:
            context.record("acknowledgement.skipped", reason=held_back)


class RecordEvents:
    """Writes the audit trail of everything the earlier steps did, in the order they did
    it, in one statement: the mail's own events and the changes of the ticket's editors."""

    name = "record-events"

    def __call__(self, context: IntakeContext) -> None:
        assert context.ticket is not None
        context.events.write(
            context.connection, ticket_id=context.ticket.id, actor=context.actor, at=context.now
        )


def intake_steps(
    config: Config,
    mailboxes: MailboxDirectory,
    acknowledger: Acknowledger,
    *,
    notifier: Notifier | None = None,
    renderer: TemplateRenderer | None = None,
) -> tuple[Step, ...]:
    """The intake pipeline as data: the steps in the order they run."""
    # Agents' mail (maild.agents): identified after classification; after threading it is
    # carried out by AgentMail, which ends the job, so no customer step runs for it.
    agent_mail: tuple[Step, ...] = ()
    if notifier is not None:
        renderer = renderer or TemplateRenderer(config.outbound.templates_dir)
        agent_mail = (AgentMail(config, mailboxes, renderer, notifier),)
    return (
        Deduplicate(),
        ClassifyAutomated(mailboxes),
        IdentifyAgent(config.trust),
        MatchBounce(),
        Thread(),
        FollowMerged(),
        FollowUpClosed(config),
        *agent_mail,
        OpenTicket(config, mailboxes),
        JoinThread(config, mailboxes),
        AcceptCc(config, mailboxes),
        UpdateStatus(),
        StoreMessage(),
        Acknowledge(acknowledger),
        # After the mail's own changes: the rules' changes and notices follow them.
        *((ApplyRules(notifier), NotifyAgents(config, notifier)) if notifier else ()),
        RecordEvents(),
    )
