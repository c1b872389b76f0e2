"""The ticket an agent's mail acts on; an agent's mail that finds none is held and answered."""

from __future__ import annotations

import logging

from maild.agents.notices import queue_agent_error
from maild.agents.reply import AgentReply
from maild.config import Config
from maild.pipeline.context import IntakeContext
from maild.pipeline.delivery import DeliveryResult, Outcome
from maild.pipeline.errors import Handled
from maild.pipeline.mailboxes import addressed_to
from maild.pipeline.quarantine import find_held, quarantine, update_reason
from maild.ticketing.record import load_ticket
from outbound.templating import TemplateRenderer

log = logging.getLogger(__name__)

NOT_THREADED = "agent mail that belongs to no ticket"


class FindTicket:
    """The ticket the mail threads to, or the one its tag or a customer's Message-ID names
    (an agent needs no token: the tag alone will do). It starts the mail's
    :class:`AgentReply`. A mail that finds no ticket opens none: it is held in quarantine
    and the agent is told why, in the same transaction (invariant 1), which ends the job."""

    name = "agent-ticket"

    def __init__(self, config: Config, renderer: TemplateRenderer) -> None:
        self._config = config
        self._renderer = renderer

    def __call__(self, context: IntakeContext) -> None:
        assert context.agent is not None
        ticket = context.ticket or context.linked_ticket
        if ticket is None:
            self._hold(context)
        assert ticket is not None
        if context.ticket is None:  # the agent is not on it: its tag or a Message-ID named it
            context.threaded_by = "named"
        record = load_ticket(context.connection, ticket.id)
        note_address = self._config.maild.note_address
        context.attach(
            AgentReply.read(
                context,
                context.agent,
                record,
                self._config.mailbox(record.mailbox) or context.job.mailbox,
                to_note=note_address is not None
                and addressed_to(context.job.delivery.rcpt_tos, note_address),
            )
        )

    def _hold(self, context: IntakeContext) -> None:
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
