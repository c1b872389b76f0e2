"""Customer mail runs the ``[[rules]]``: ``ticket.created`` or ``ticket.customer_replied``."""

from __future__ import annotations

from maild.automation.actions import TicketWork
from maild.automation.apply import RULE_ACTOR, listens, run_rules
from maild.automation.notices import QuietNotifier
from maild.pipeline.context import IntakeContext
from maild.ticketing.notify import Notifier
from rules.model import Event, EventKind


def mail_event(context: IntakeContext, kind: EventKind) -> Event:
    """The rules' view of the mail being stored."""
    parsed = context.parsed
    return Event(
        kind=kind,
        sender=context.sender,
        subject=parsed.subject,
        body=parsed.new_text,  # rules match only new lines
        headers=parsed.headers,
        mailbox=context.job.mailbox.address,
    )


class ApplyRules:
    """Customer mail runs the rules: ``ticket.created`` for a new ticket,
    ``ticket.customer_replied`` for a reply. Automated and agent mail do not; without
    active rules for the event nothing is even loaded (intake speed). Who the rules told
    ("assigned to you") is not told again by the notice that follows."""

    name = "rules"

    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier
        self._quiet = QuietNotifier(notifier)

    def __call__(self, context: IntakeContext) -> None:
        kind = context.customer_event
        if kind is None:
            return
        policy = context.policy
        if not listens(policy, kind.value):
            return
        editor = context.editor(RULE_ACTOR.rstrip(":"))
        delivery = context.job.delivery
        # Imported history: the rules set category, priority and tags, and tell nobody.
        notifier = self._notifier if delivery.notify and delivery.history is None else self._quiet
        work = TicketWork(context.connection, policy, notifier, context.now)
        outcome = run_rules(work, editor, mail_event(context, kind))
        editor.save()
        context.notified.update(outcome.notified)
