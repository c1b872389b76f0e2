"""Runs the ``[[rules]]`` on a ticket and applies what they ask for.

:func:`run_rules` is the one place actions become changes: the intake step
:class:`~maild.automation.steps.apply_rules.ApplyRules` calls it for customer mail
(``ticket.created`` / ``ticket.customer_replied``), the agent chain's
:class:`~maild.agents.steps.fire_rules.FireAgentReplied` for ``ticket.agent_replied`` and
the SLA sweep for ``sla.warning`` / ``sla.breached``. Every change goes through the ticket's
:class:`TicketEditor` in the caller's transaction and is an event whose actor is
``rule:NAME`` with the rule's name in its data.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from jinja2 import TemplateError

from maild.automation.actions import TicketWork
from maild.automation.assignment import assign, send_notice, ticket_tag
from maild.automation.escalation import escalate
from maild.ticketing.editor import TicketEditor
from rules.config import AssignSpec, NotifySpec, RulesConfig
from rules.engine import evaluate
from rules.model import Action, ActionKind, Escalate, Event

log = logging.getLogger(__name__)

RULE_ACTOR = "rule:"
DEFAULT_TEMPLATE = "notification"


@dataclass
class RulesOutcome:
    """What the rules did to one ticket: the actions applied, the assignee and tier they
    set, and everyone they told (so a later notice about the same mail skips them)."""

    actions: list[Action] = field(default_factory=list)
    assigned: str | None = None
    tier: str | None = None
    notified: set[str] = field(default_factory=set)


def listens(policy: RulesConfig, kind: str) -> bool:
    """Whether any active rule listens to ``kind``: without one nothing is loaded."""
    return any(kind in rule.events for rule in policy.active_rules)


def run_rules(
    work: TicketWork, editor: TicketEditor, event: Event, actor_prefix: str = RULE_ACTOR
) -> RulesOutcome:
    """Evaluate the active rules on ``editor.record`` and apply every action. The caller
    saves the editor (one write for all changes) and commits."""
    outcome = RulesOutcome()
    policy = work.policy
    if not listens(policy, str(event.kind)):
        return outcome
    record = editor.record
    actions = evaluate(policy.active_rules, record.rules_view(policy), event)
    for action in actions:
        before = len(editor.events)
        try:
            _apply(work, editor, action, f"{actor_prefix}{action.rule}", outcome)
        finally:
            for _kind, data in editor.events[before:]:
                data.setdefault("rule", action.rule)
        outcome.actions.append(action)
        log.info("rule %r: %s", action.rule, action.describe(), extra={"ticket": record.number})
    return outcome


def _apply(
    work: TicketWork, editor: TicketEditor, action: Action, actor: str, outcome: RulesOutcome
) -> None:
    kind, value = action.kind, action.value
    if kind is ActionKind.CATEGORY:
        assert isinstance(value, str)
        editor.set_category(value, actor)
    elif kind is ActionKind.PRIORITY:
        assert isinstance(value, str)
        editor.set_priority(value, actor)
    elif kind is ActionKind.TAGS:
        assert isinstance(value, tuple)
        editor.change_tags(add=value, actor=actor)
    elif kind is ActionKind.ASSIGN:
        assert isinstance(value, AssignSpec)
        done = assign(work, editor, value, actor=actor, skip_notify=outcome.notified)
        outcome.assigned = done.agent
        outcome.notified.update(done.notified)
    elif kind is ActionKind.ESCALATE:
        assert isinstance(value, Escalate)
        escalated = escalate(
            work, editor, to=value.tier, actor=actor, reason=f"rule {action.rule!r}"
        )
        if escalated.tier is not None:
            outcome.tier = escalated.tier
            outcome.assigned = escalated.agent or outcome.assigned
        outcome.notified.update(escalated.notified)
    elif kind is ActionKind.NOTIFY:
        assert isinstance(value, NotifySpec)
        sent = _notify(work, editor, value, action)
        if sent:
            editor.record_event("notification.queued", actor, to=list(sent))
        outcome.notified.update(sent)


def _notify(
    work: TicketWork, editor: TicketEditor, spec: NotifySpec, action: Action
) -> tuple[str, ...]:
    recipients = work.notifier.resolve(editor.record, spec.to, work.policy)
    reason = f"Ticket {ticket_tag(work, editor)}: rule {action.rule!r} matched"
    if action.reasons:
        reason += " (" + "; ".join(action.reasons) + ")"
    template = spec.template or DEFAULT_TEMPLATE
    try:
        return send_notice(work, editor, recipients, reason=reason, template=template)
    except TemplateError as error:
        if template == DEFAULT_TEMPLATE:
            raise
        log.error(
            "rule %r: template %r failed (%s); sending the standard notification",
            action.rule,
            template,
            error,
            extra={"ticket": editor.record.number},
        )
        return send_notice(work, editor, recipients, reason=reason)
