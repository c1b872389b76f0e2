"""Rules, assignment strategies, SLA state and business-time arithmetic.

Pure like ``parsing/``: typed configuration and values in, actions out; no I/O, no clock
read (``now`` is always an argument), nothing of the project imported. ``maild/`` loads the
TOML file into :class:`RulesConfig`, builds :class:`TicketView` / :class:`Event` values,
applies the :class:`Action` values it gets back and stores what the SLA code says is due.

Modules: ``config`` (the TOML contract and its error messages), ``engine`` (rule
evaluation), ``businesstime`` (deadlines in business hours), ``sla`` (targets, states,
warnings and breaches), ``assignment`` (strategies), ``escalation`` (tiers), ``model``
(the values that cross the boundary).
"""

from rules.assignment import Pick, Workload, pick
from rules.businesstime import BusinessCalendar, WeeklyHours
from rules.config import RulesConfig, format_rules_error, load_rules
from rules.engine import RuleOutcome, evaluate, explain
from rules.escalation import escalation_target, next_tier, raised_priority
from rules.model import Action, ActionKind, Escalate, Event, EventKind, TicketView
from rules.sla import Due, SlaPolicy, SlaState, SlaStatus, due_events, sla_status

__all__ = [
    "Action",
    "ActionKind",
    "BusinessCalendar",
    "Due",
    "Escalate",
    "Event",
    "EventKind",
    "Pick",
    "RuleOutcome",
    "RulesConfig",
    "SlaPolicy",
    "SlaState",
    "SlaStatus",
    "TicketView",
    "WeeklyHours",
    "Workload",
    "due_events",
    "escalation_target",
    "evaluate",
    "explain",
    "format_rules_error",
    "load_rules",
    "next_tier",
    "pick",
    "raised_priority",
    "sla_status",
]
