"""The intake steps for agents' mail: follow merged tickets, and carry out an agent's mail.

:class:`AgentMail` runs after threading and before a ticket would be opened. For a mail from
a trusted agent it does everything itself (commands, relay or note, storing, events) and
ends the job with :class:`Handled`, so no customer step (opening a ticket, joining the
thread, reopening, acknowledging, notifying) ever runs for it. An agent's mail that threads
to no ticket opens none: it is held in quarantine and the agent is told why, in the same
transaction (invariant 1).

Only the lines an agent wrote (``ParsedMail.new_text``) may reach a customer, and
:func:`withheld_reply` checks them once more before anything is queued: a copy of our
notification or of an internal note is kept as a note instead, and the agent is told why.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import Connection

from maild.agents.canned import CannedResponses
from maild.agents.commands import CommandRunner, CommandsDone
from maild.agents.notices import queue_agent_error
from maild.agents.withhold import Withheld, withheld_reply
from maild.automation.actions import TicketWork
from maild.automation.rules_step import listens, mail_event, run_rules
from maild.config import Config, MailboxConfig
from maild.pipeline.context import IntakeContext
from maild.pipeline.delivery import DeliveryResult, Outcome
from maild.pipeline.errors import Handled, Unprocessable
from maild.pipeline.mailboxes import MailboxDirectory
from maild.pipeline.quarantine import find_held, quarantine, update_reason
from maild.pipeline.storing import store_mail
from maild.ticketing.customer_mail import CustomerMail, customer_recipients, queue_customer_mail
from maild.ticketing.editor import TicketEditor
from maild.ticketing.notify import Notifier
from maild.ticketing.record import TicketRecord, load_ticket
from outbound.compose import OutgoingAttachment
from outbound.templating import TemplateRenderer
from parsing.commands import CommandBlock, parse_commands
from parsing.ticketref import format_ticket_tag
from rules.config import Agent
from rules.model import EventKind
from storage import tickets, workflow
from storage.models import MessageKind, ParticipantRole, TicketStatus
from storage.tickets import TicketView

log = logging.getLogger(__name__)

_ANSWERED = frozenset({TicketStatus.NEW, TicketStatus.OPEN})
NOT_THREADED = "agent mail that belongs to no ticket"


def addressed_to(rcpt_tos: Iterable[str], address: str) -> bool:
    """Whether an envelope recipient is ``address`` or one of its ``+TOKEN`` forms."""
    local, _, domain = address.partition("@")
    for rcpt in rcpt_tos:
        their_local, at, their_domain = rcpt.strip().strip("<>").lower().rpartition("@")
        if at and their_domain == domain and their_local.partition("+")[0] == local:
            return True
    return False


def _answer(done: CommandsDone, block: CommandBlock) -> str:
    """What an agent's mail says to the customer: canned texts, then the body."""
    return "\n\n".join([*done.canned, block.body.strip("\n")]).strip("\n")


def _note_reason(withheld: bool, failed: bool, to_note: bool) -> str:
    if withheld:
        return "reply withheld"
    if failed:
        return "commands failed"
    return "note address" if to_note else "note"


class FollowMerged:
    """Mail that finds a ticket merged into another (its token, its Message-IDs) goes on the
    ticket it was merged into. Only closed tickets can be merged: others cost nothing."""

    name = "follow-merged"

    def __call__(self, context: IntakeContext) -> None:
        ticket = context.ticket
        if ticket is None or ticket.status != TicketStatus.CLOSED:
            return
        seen = {ticket.id}
        target_id = workflow.merged_into(context.connection, ticket.id)
        while target_id is not None and target_id not in seen:
            seen.add(target_id)
            record = load_ticket(context.connection, target_id)
            ticket = _view(record)
            target_id = record.merged_into_id
        if ticket.id != context.ticket.id:
            context.record("message.followed_merge", into=ticket.number)
            context.ticket = ticket


def _view(record: TicketRecord) -> TicketView:
    return TicketView(
        record.id,
        record.number,
        record.token,
        record.mailbox,
        record.subject,
        record.status,
        record.requester,
    )


class AgentMail:
    name = "agent-mail"

    def __init__(
        self,
        config: Config,
        mailboxes: MailboxDirectory,
        renderer: TemplateRenderer,
        notifier: Notifier,
    ) -> None:
        self._config = config
        self._mailboxes = mailboxes
        self._renderer = renderer
        self._notifier = notifier
        self._note_address = config.maild.note_address
        self._canned = CannedResponses(config.outbound.canned_dir)

    def __call__(self, context: IntakeContext) -> None:
        to_note = self._note_address is not None and addressed_to(
            context.job.delivery.rcpt_tos, self._note_address
        )
        agent = context.agent
        if agent is None:
            if to_note:
                # No backscatter to a sender who may be forged; a human can retry it.
                raise Unprocessable(
                    "mail to the note address from someone who is not a trusted agent"
                )
            return
        ticket = context.ticket or context.linked_ticket  # the tag alone is fine for an agent
        if ticket is None:
            self._not_threaded(context)
        assert ticket is not None
        self._handle(context, agent, load_ticket(context.connection, ticket.id), to_note)

    # -- no ticket -------------------------------------------------------------------

    def _not_threaded(self, context: IntakeContext) -> None:
        connection, job = context.connection, context.job
        held = job.quarantine_id
        if held is None:
            held = find_held(connection, job.mailbox.address, job.delivery.raw)
        if held is None or not update_reason(connection, held, NOT_THREADED):
            held = quarantine(
                connection, job.delivery, job.mailbox.address, NOT_THREADED, context.now
            )
        queue_agent_error(
            context,
            config=self._config,
            renderer=self._renderer,
            mailbox=job.mailbox,
            errors=[NOT_THREADED],
            record=None,
        )
        log.warning("agent mail from %s threads to no ticket: held as %s", context.sender, held)
        raise Handled(DeliveryResult(job.mailbox.address, Outcome.QUARANTINED, quarantine_id=held))

    # -- a ticket --------------------------------------------------------------------

    def _handle(
        self, context: IntakeContext, agent: Agent, record: TicketRecord, to_note: bool
    ) -> None:
        connection, parsed = context.connection, context.parsed
        actor = f"agent:{agent.address}"
        # Quoted lines are never an agent's: not even inline ones reach the customer.
        block = parse_commands(parsed.new_text)
        errors = [error.message for error in block.errors]
        box = self._config.mailbox(record.mailbox) or context.job.mailbox
        relays = self._relays(block.is_note, block.wants_send, to_note, box)
        done = CommandsDone()
        withheld: Withheld | None = None
        # One channel for this mail's events: what happened before (a merged ticket
        # followed), the commands, the answer; written in that order at the end.
        events = context.events
        editor = TicketEditor(connection, record, context.now, actor, events=events)
        if not errors:
            savepoint, mark = connection.begin_nested(), len(events)
            done = self._runner(context, editor, agent).run(block.commands)
            answer = _answer(done, block)
            if not done.errors and relays and done.merged_into is None and answer.strip():
                # The last guard: checked before the commands commit, so a withheld answer
                # leaves the ticket as it was, as the agent_error mail says.
                withheld = withheld_reply(connection, record.id, agent, answer)
            if done.errors or withheld is not None:
                savepoint.rollback()
                events.discard_from(mark)
                record = load_ticket(connection, record.id)
                editor = TicketEditor(connection, record, context.now, actor, events=events)
                done = CommandsDone(errors=done.errors)
            else:
                editor.save()
                savepoint.commit()
            errors = done.errors
        text = _answer(done, block)
        stored_on = record
        kind = MessageKind.NOTE
        if withheld is not None:
            text = withheld.text
            editor.record_event("reply.withheld", reason=withheld.reason)
            log.warning(
                "agent %s: reply withheld (%s)",
                agent.address,
                withheld.reason,
                extra={"ticket": record.number},
            )
            self._tell(context, box, [withheld.message], record)
        elif errors:
            text = parsed.reply_text
            editor.record_event("agent.commands_failed", errors=errors)
            self._tell(context, box, errors, record)
        elif done.merged_into is not None:
            stored_on = done.merged_into
        elif (
            relays
            and text.strip()
            and self._relay(context, editor, agent, box, text, done.status_set)
        ):
            kind = MessageKind.AGENT
            self._fire_rules(context, editor)
        if kind == MessageKind.NOTE:
            reason = _note_reason(withheld is not None, bool(errors), to_note)
            editor.record_event("note.added", reason=reason)
        editor.save()
        self._store(context, stored_on, kind, text)
        if stored_on.id != record.id:
            target = TicketEditor(connection, stored_on, context.now, actor, events=events)
            target.record_event("note.added", reason="merge")
        self._join(connection, stored_on.id, agent)
        events.write(connection, ticket_id=stored_on.id, actor=actor, at=context.now)
        log.info(
            "agent %s: %s on ticket #%s",
            agent.address,
            kind,
            stored_on.number,
            extra={"ticket": stored_on.number},
        )
        raise Handled(
            DeliveryResult(context.job.mailbox.address, Outcome.REPLY, stored_on.number),
            stored_on.id,
        )

    def _tell(
        self, context: IntakeContext, box: MailboxConfig, errors: list[str], record: TicketRecord
    ) -> None:
        queue_agent_error(
            context,
            config=self._config,
            renderer=self._renderer,
            mailbox=box,
            errors=errors,
            record=record,
        )

    def _runner(self, context: IntakeContext, editor: TicketEditor, agent: Agent) -> CommandRunner:
        return CommandRunner(
            context=context,
            editor=editor,
            agent=agent,
            config=self._config,
            mailboxes=self._mailboxes,
            notifier=self._notifier,
            renderer=self._renderer,
            canned=self._canned,
        )

    @staticmethod
    def _relays(is_note: bool, wants_send: bool, to_note: bool, box: MailboxConfig) -> bool:
        """``#note`` and the note address always keep it internal; otherwise the mailbox's
        policy decides, and ``#send`` relays under ``note``."""
        if is_note or to_note:
            return False
        return box.agent_mail == "relay" or wants_send

    def _relay(
        self,
        context: IntakeContext,
        editor: TicketEditor,
        agent: Agent,
        box: MailboxConfig,
        text: str,
        status_set: bool,
    ) -> bool:
        """Send the agent's new text to the customer thread; False when nobody can get it."""
        connection, record = context.connection, editor.record
        recipients = customer_recipients(
            connection, record.id, context.policy, self._mailboxes.is_ours
        )
        if not recipients:
            reason = "no customer address to write to"
            if tickets.is_bouncing(connection, record.requester):
                reason = (
                    f"mail to {record.requester} bounces; once it works again, "
                    f"'maild participants clear {record.requester}' lets maild write to it"
                )
            return self._not_delivered(context, editor, box, reason)
        tag = format_ticket_tag(self._config.maild.ticket_prefix, record.number)
        display = box.agent_display_name.format(agent=agent.name or agent.address, mailbox=box.name)
        attachments = tuple(
            OutgoingAttachment(a.filename, a.content_type, a.data)
            for a in context.parsed.attachments
        )
        queued = queue_customer_mail(
            connection,
            self._config,
            thread_of=record,
            reply_ticket=record,
            recipients=recipients,
            mail=CustomerMail(
                from_name=display,
                subject=f"{tag} {record.subject}",
                text=text + "\n",
                kind="reply",
                attachments=attachments,
            ),
            now=context.now,
        )
        if queued.message_id is None:
            return self._not_delivered(context, editor, box, queued.reason or "no recipient")
        message_id = queued.message_id
        editor.mark_first_response()
        if not status_set and record.status in _ANSWERED:
            editor.set_status(TicketStatus.PENDING)
        editor.record_event(
            "agent.replied",
            to=[address for _, address in recipients],
            message_id=message_id,
            attachments=len(attachments),
        )
        return True

    def _not_delivered(
        self, context: IntakeContext, editor: TicketEditor, box: MailboxConfig, reason: str
    ) -> bool:
        """Nobody can get the answer: it stays a note, and the agent is told, by mail."""
        record = editor.record
        log.warning("agent reply not relayed: %s", reason, extra={"ticket": record.number})
        editor.record_event("reply.not_sent", reason=reason)
        queue_agent_error(
            context,
            config=self._config,
            renderer=self._renderer,
            mailbox=box,
            errors=[reason],
            record=record,
            undelivered=True,
        )
        return False

    def _store(
        self, context: IntakeContext, record: TicketRecord, kind: MessageKind, text: str
    ) -> None:
        store_mail(context, record.id, kind, text)

    @staticmethod
    def _join(connection: Connection, ticket_id: int, agent: Agent) -> None:
        if agent.address not in tickets.participant_addresses(connection, ticket_id):
            tickets.insert_participants(
                connection, ticket_id, [(agent.address, agent.name, ParticipantRole.AGENT)]
            )

    def _fire_rules(self, context: IntakeContext, editor: TicketEditor) -> None:
        """The rules that listen to ``ticket.agent_replied``; nothing is loaded without."""
        if not listens(context.policy, EventKind.AGENT_REPLIED):
            return
        work = TicketWork(context.connection, context.policy, self._notifier, context.now)
        run_rules(work, editor, mail_event(context, EventKind.AGENT_REPLIED))
