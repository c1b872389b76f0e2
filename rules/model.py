"""The values that enter and leave ``rules/``: plain frozen dataclasses.

The pipeline builds a :class:`TicketView` from its ticket row and an :class:`Event` from
what happened (a parsed mail, a sweep's finding); the engine answers with :class:`Action`
values, each naming the rule that produced it and why it matched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rules.config import AssignSpec, NotifySpec


class EventKind(StrEnum):
    """What happened to a ticket; a rule's ``when.event`` names one or more."""

    CREATED = "ticket.created"
    CUSTOMER_REPLIED = "ticket.customer_replied"
    AGENT_REPLIED = "ticket.agent_replied"
    SLA_WARNING = "sla.warning"
    SLA_BREACHED = "sla.breached"
    IDLE = "ticket.idle"
    RATED = "ticket.rated"


NAMED_ONLY = frozenset({EventKind.IDLE.value, EventKind.RATED.value})
"""Events that fire only rules naming them: ``event = "*"`` does not mean these (a rule for
every mail must not suddenly also run when a customer rates a closed ticket)."""


@dataclass(frozen=True, slots=True)
class TicketView:
    """What rules and SLA code may know of a ticket. Addresses are compared lower-cased;
    ``paused`` are the (start, end) intervals the ticket waited on the customer, the last
    one open (end None) while it still does."""

    number: int | None = None
    subject: str = ""
    requester: str = ""
    mailbox: str = ""
    status: str = "new"
    priority: str = "medium"
    category: str | None = None
    tags: frozenset[str] = frozenset()
    vip: bool = False
    team: str | None = None
    assignee: str | None = None
    tier: str | None = None
    created_at: datetime | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    paused: tuple[tuple[datetime, datetime | None], ...] = ()


@dataclass(frozen=True, slots=True)
class Event:
    """What happened. A mail event carries the mail's sender, subject, reply text (``body``),
    headers (name/value pairs, as ``ParsedMail.headers``) and the mailbox it reached; an SLA
    event names its target (``first_response`` / ``resolution``). A ``ticket.idle`` event is
    due for one rule, whose ``idle_for`` has passed since ``idle_since`` (the ticket's last
    message): ``rule`` names it, and no other rule runs."""

    kind: EventKind | str
    sender: str | None = None
    subject: str | None = None
    body: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    mailbox: str | None = None
    sla_target: str | None = None
    rating: str | None = None  # ticket.rated: "1" … "5", "good" or "bad"
    rule: str | None = None  # ticket.idle: the one rule it is due for
    idle_since: datetime | None = None  # ticket.idle: the last message on the ticket

    def header_values(self, name: str) -> tuple[str, ...]:
        wanted = name.lower()
        return tuple(value for key, value in self.headers if key.lower() == wanted)


class ActionKind(StrEnum):
    CATEGORY = "category"
    PRIORITY = "priority"
    TAGS = "tags"
    ASSIGN = "assign"
    NOTIFY = "notify"
    ESCALATE = "escalate"


@dataclass(frozen=True, slots=True)
class Escalate:
    """Escalate to ``tier``, or one tier up when it is None."""

    tier: str | None = None


@dataclass(frozen=True, slots=True)
class Action:
    """One thing a rule asks for. ``value`` by ``kind``: category and priority a ``str``,
    tags a ``tuple[str, ...]``, assign an ``AssignSpec``, notify a ``NotifySpec``, escalate
    an :class:`Escalate`. ``reasons`` say why the rule matched, for the ticket's events."""

    rule: str
    kind: ActionKind
    value: str | tuple[str, ...] | AssignSpec | NotifySpec | Escalate
    reasons: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.kind is ActionKind.TAGS:
            assert isinstance(self.value, tuple)
            shown = ", ".join(self.value)
        elif self.kind is ActionKind.ESCALATE:
            assert isinstance(self.value, Escalate)
            shown = self.value.tier or "next tier"
        elif isinstance(self.value, str):
            shown = self.value
        else:
            shown = self.value.model_dump_json(exclude_none=True)  # type: ignore[union-attr]
        return f"{self.kind.value} {shown} (rule {self.rule!r})"
