"""The agent's answer, relayed to the customer thread from the support address."""

from __future__ import annotations

import logging

from maild.agents.notices import queue_agent_error
from maild.agents.reply import AgentReply
from maild.config import Config
from maild.pipeline.context import IntakeContext
from maild.pipeline.mailboxes import MailboxDirectory
from maild.ticketing.customer_mail import CustomerMail, customer_recipients, queue_customer_mail
from outbound.compose import OutgoingAttachment
from outbound.templating import TemplateRenderer
from parsing.ticketref import format_ticket_tag
from storage import tickets
from storage.models import MessageKind, TicketStatus

log = logging.getLogger(__name__)

_ANSWERED = frozenset({TicketStatus.NEW, TicketStatus.OPEN})


class Relay:
    """Sends the answer (:attr:`AgentReply.answers_customer`) to the requester and the
    accepted Cc participants, as "Agent via Support", with the attachments the agent added;
    it is the ticket's first response where it is one, and leaves the ticket pending unless
    a ``#status`` line said otherwise. When nobody can receive it (every address bounces)
    it stays a note and the agent is told, by mail, why."""

    name = "relay"

    def __init__(
        self, config: Config, mailboxes: MailboxDirectory, renderer: TemplateRenderer
    ) -> None:
        self._config = config
        self._mailboxes = mailboxes
        self._renderer = renderer

    def __call__(self, context: IntakeContext) -> None:
        reply = context.part(AgentReply)
        if not reply.answers_customer:
            return
        connection, record, editor = context.connection, reply.record, reply.editor
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
            self._not_delivered(context, reply, reason)
            return
        box, agent = reply.box, reply.agent
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
                text=reply.answer + "\n",
                kind="reply",
                attachments=attachments,
            ),
            now=context.now,
        )
        if queued.message_id is None:
            self._not_delivered(context, reply, queued.reason or "no recipient")
            return
        editor.mark_first_response()
        if not reply.done.status_set and record.status in _ANSWERED:
            editor.set_status(TicketStatus.PENDING)
        editor.record_event(
            "agent.replied",
            to=[address for _, address in recipients],
            message_id=queued.message_id,
            attachments=len(attachments),
        )
        context.events.announce("ticket.agent_replied", text=reply.answer, ticket_id=record.id)
        reply.kind = MessageKind.AGENT

    def _not_delivered(self, context: IntakeContext, reply: AgentReply, reason: str) -> None:
        """Nobody can get the answer: it stays a note, and the agent is told, by mail."""
        log.warning("agent reply not relayed: %s", reason, extra={"ticket": reply.record.number})
        reply.editor.record_event("reply.not_sent", reason=reason)
        queue_agent_error(
            context,
            config=self._config,
            renderer=self._renderer,
            mailbox=reply.box,
            errors=[reason],
            record=reply.record,
            undelivered=True,
        )
