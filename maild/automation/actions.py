"""The interface the intake pipeline, agent commands and the SLA sweep share for changing
who owns a ticket. Implementations: assignment.py and escalation.py in this package; the
functions here return the plain answer, those return what was done and who was told."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from maild.automation.assignment import assign
from maild.automation.escalation import escalate
from maild.ticketing.editor import TicketEditor
from maild.ticketing.notify import Notifier
from rules.config import AssignSpec, RulesConfig


@dataclass(frozen=True, slots=True)
class TicketWork:
    """What every action needs: the transaction, the rules in force, the notifier, now."""

    connection: Connection
    policy: RulesConfig
    notifier: Notifier
    now: datetime


def assign_ticket(
    work: TicketWork, editor: TicketEditor, spec: AssignSpec, *, actor: str
) -> str | None:
    """Assign per ``spec`` (an agent; a team whose agent ``[assignment] strategy`` picks; a
    strategy among the ticket's team), persisting the round-robin cursor; notify the new
    assignee ("assigned to you"), or the team when nobody was eligible. The assignee's
    address, or None."""
    return assign(work, editor, spec, actor=actor).agent


def escalate_ticket(
    work: TicketWork, editor: TicketEditor, *, to: str | None, actor: str, reason: str
) -> str | None:
    """Move the ticket one tier up (or to tier ``to``), raise its priority as the tier
    says, hand it to the tier's team (agent picked by the strategy) or addresses, and
    notify them. The new tier's name, or None when there is nowhere to go."""
    return escalate(work, editor, to=to, actor=actor, reason=reason).tier
