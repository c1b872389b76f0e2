"""The intake steps of imported history (``Delivery.history``; DECISIONS "History import").

Imported mail takes the customer chain whoever wrote it (the driver sees to that) and is
stored at its own date (the driver makes ``context.now`` the mail's ``Date``). Two steps
make it history rather than new mail:

* :class:`HistoryAgents`, first: an agent's mail is stored as the agent's (kind ``agent``)
  when the sender is a configured agent address or alias, the mailbox's own address, or at
  a ``--agents-from`` domain; it runs no command and is relayed to nobody.
* :class:`SettleHistory`, last before the events are written: the status the admin chose,
  the first response from the first agent answer, and the SLA settled so that nothing that
  was already past at the import fires at the next sweep.

SLA, for tickets left open (``--status keep-open``): ``created_at`` and
``first_response_at`` come from the history, so the SLA computes as it would have; any
warning or breach already due at the time of the import is marked fired without being
sent (the ticket's ``sla_fired``), so the next sweep fires only what falls due after the
import. ``ticket.idle`` rules alike: one whose ``idle_for`` had passed since the ticket's last
message by the time of the import is marked fired for that idle period (``idle_fired``).
Closed tickets are not swept at all.
"""

from __future__ import annotations

from datetime import datetime

from maild.pipeline.context import IntakeContext
from maild.pipeline.delivery import HistoryImport
from maild.ticketing.editor import TicketEditor
from rules.idle import fired_after, idle_due
from rules.sla import sla_status
from storage import idle
from storage.models import MessageKind, TicketStatus

ACTOR = "system"


def history_agent(context: IntakeContext, history: HistoryImport) -> bool:
    """Whether the sender of this imported mail is an agent of the history."""
    sender = context.sender
    if not sender or context.automated is not None:
        return False
    if sender == context.job.mailbox.address.lower():
        return True
    if context.policy.agent_for(sender) is not None:
        return True
    domain = sender.rpartition("@")[2]
    return any(domain == wanted or domain.endswith("." + wanted) for wanted in history.agents_from)


class HistoryAgents:
    """An agent's mail in the history is stored as the agent's, trusted by its address
    alone (old mail carries no proof the trust rule could check, and it does nothing but
    get stored)."""

    name = "history-agents"

    def __call__(self, context: IntakeContext) -> None:
        history = context.job.delivery.history
        if history is None:
            return
        if history_agent(context, history):
            context.kind = MessageKind.AGENT
            context.suspect = False
            context.agent = context.policy.agent_for(context.sender)
            if context.ticket is None and context.linked_ticket is not None:
                # An agent is no participant of the ticket it answers: it joins the ticket
                # its mail names rather than opening one that links it.
                context.ticket, context.linked_ticket = context.linked_ticket, None
                context.threaded_by = "references"
        else:
            context.agent = None


class SettleHistory:
    """Status, first response and SLA of the ticket an imported mail ended on."""

    name = "settle-history"

    def __call__(self, context: IntakeContext) -> None:
        history = context.job.delivery.history
        if history is None or context.ticket is None or context.withheld:
            return
        ticket = context.ticket
        if context.created:
            history.created.add(ticket.id)
        ours = ticket.id in history.created
        record = context.ticket_record()
        editor = context.editor(context.actor)
        if context.kind is MessageKind.AGENT:
            editor.mark_first_response()
        if history.status == "closed":
            if ours:
                # Closed as of its last message: closing again moves closed_at on.
                if record.status is TicketStatus.CLOSED:
                    editor._set("closed_at", context.now)
                else:
                    editor.set_status(TicketStatus.CLOSED, ACTOR)
        elif context.automated is None and (ours or record.status is not TicketStatus.CLOSED):
            wanted = (
                TicketStatus.PENDING if context.kind is MessageKind.AGENT else TicketStatus.OPEN
            )
            editor.set_status(wanted, ACTOR)
        if record.status in (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING):
            status = sla_status(
                record.rules_view(context.policy),
                context.policy.sla_policy,
                context.policy.sla.calendar,
                max(history.started, context.now),
                record.fired,
            )
            for due in status.due:
                editor.mark_fired(due.target.value, due.kind.value)
            settle_idle(context, ticket.id, max(history.started, context.now))
        if editor.changed:
            editor.save()
        else:
            TicketEditor.touch(
                context.connection, ticket.id, max(context.now, record.updated_at or context.now)
            )
        ticket.status = record.status


def settle_idle(context: IntakeContext, ticket_id: int, at: datetime) -> None:
    """Mark the ``ticket.idle`` rules already due at ``at`` as fired: an imported ticket
    quiet for months must not set them all off at the next sweep."""
    policy = context.policy
    if not policy.idle_rules:
        return
    state = idle.idle_state(context.connection, ticket_id)
    if state is None:
        return
    since = state.last_message_at
    due = idle_due(policy.idle_rules, since, at, policy.sla.calendar, state.idle_fired)
    if due:
        fired = fired_after(state.idle_fired, since, due)
        idle.set_idle_fired(context.connection, ticket_id, fired)
