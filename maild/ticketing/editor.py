"""Changes to a ticket, each with its audit event, written in the caller's transaction.

Every path that changes a ticket after intake goes through :class:`TicketEditor`: agent
commands, rules, assignment, escalation, the SLA sweep and auto-close. That keeps the
rules of the workflow in one place: pending pauses the SLA clock and leaving pending
resumes it, resolving stamps ``resolved_at``, reopening clears it, and every change is an
event naming who made it (``agent:ADDRESS``, ``rule:NAME``, ``system``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, update

from maild.ticketing.record import TicketRecord
from rules.businesstime import to_us
from storage.models import Event, Ticket, TicketStatus

log = logging.getLogger(__name__)

_tickets, _events = Ticket.__table__, Event.__table__
_OPEN_AGAIN = frozenset({TicketStatus.RESOLVED, TicketStatus.CLOSED})


class TicketEditor:
    """Collects changes to one ticket and writes them with :meth:`save`.

    ``record`` is updated as changes are made, so later code in the same transaction (a
    rule that looks at the new priority, a notification) sees the ticket as it will be.
    """

    def __init__(
        self, connection: Connection, record: TicketRecord, now: datetime, actor: str
    ) -> None:
        self.connection = connection
        self.record = record
        self.now = now
        self.actor = actor
        self._changes: dict[str, Any] = {}
        self._events: list[dict[str, Any]] = []

    # -- the audit trail ---------------------------------------------------------------

    def record_event(self, kind: str, actor: str | None = None, **data: Any) -> None:
        self._events.append(
            {
                "ticket_id": self.record.id,
                "at": self.now,
                "actor": actor or self.actor,
                "kind": kind,
                "data": data,
            }
        )

    @property
    def events(self) -> list[tuple[str, dict[str, Any]]]:
        """The events recorded so far, as (kind, data)."""
        return [(event["kind"], event["data"]) for event in self._events]

    def _set(self, name: str, value: Any) -> None:
        setattr(self.record, name, value)
        self._changes[name] = value

    # -- the changes -------------------------------------------------------------------

    def set_status(self, status: TicketStatus, actor: str | None = None) -> bool:
        """Move the ticket to ``status``; False if it already is there."""
        record = self.record
        old = record.status
        if status == old:
            return False
        now_us = to_us(self.now)
        paused = [list(pair) for pair in record.sla_paused]
        if status == TicketStatus.PENDING and not (paused and paused[-1][1] is None):
            paused.append([now_us, None])
            self._set("sla_paused", paused)
        elif old == TicketStatus.PENDING and paused and paused[-1][1] is None:
            paused[-1][1] = now_us
            self._set("sla_paused", paused)
        if status == TicketStatus.RESOLVED:
            self._set("resolved_at", self.now)
        elif status == TicketStatus.CLOSED:
            self._set("closed_at", self.now)
            if record.resolved_at is None:
                self._set("resolved_at", self.now)
        elif old in _OPEN_AGAIN:
            self._set("resolved_at", None)
            self._set("closed_at", None)
            self._set("auto_close_warned_at", None)
        self._set("status", status)
        self.record_event("status.changed", actor, **{"from": str(old), "to": str(status)})
        return True

    def set_priority(self, priority: str, actor: str | None = None) -> bool:
        old = self.record.priority
        if priority == old:
            return False
        self._set("priority", priority)
        self.record_event("priority.changed", actor, **{"from": old, "to": priority})
        return True

    def set_category(self, category: str | None, actor: str | None = None) -> bool:
        old = self.record.category
        if category == old:
            return False
        self._set("category", category)
        self.record_event("category.changed", actor, **{"from": old, "to": category})
        return True

    def change_tags(
        self, add: Iterable[str] = (), remove: Iterable[str] = (), actor: str | None = None
    ) -> bool:
        old = list(self.record.tags)
        removed = set(remove)
        tags = [tag for tag in old if tag not in removed]
        for tag in add:
            if tag not in tags:
                tags.append(tag)
        if tags == old:
            return False
        self._set("tags", tags)
        self.record_event(
            "tags.changed",
            actor,
            added=[tag for tag in tags if tag not in old],
            removed=[tag for tag in old if tag not in tags],
        )
        return True

    def assign(
        self,
        agent: str | None,
        team: str | None = None,
        actor: str | None = None,
        *,
        keep_team: bool = True,
        **details: Any,
    ) -> bool:
        """Give the ticket to ``agent`` (None: nobody) and ``team`` (None with
        ``keep_team``: the team stays). False when nothing changed."""
        record = self.record
        new_team = record.team if team is None and keep_team else team
        if agent == record.assignee and new_team == record.team:
            return False
        old_agent, old_team = record.assignee, record.team
        if new_team != old_team:
            self._set("team", new_team)
        if agent != old_agent:
            self._set("assignee", agent)
            self._set("assigned_at", self.now if agent else None)
        self.record_event(
            "assignment.changed",
            actor,
            **{"from": old_agent, "to": agent, "team": new_team},
            **details,
        )
        return True

    def set_tier(self, tier: str, actor: str | None = None, **details: Any) -> bool:
        old = self.record.tier
        if tier == old:
            return False
        self._set("tier", tier)
        self.record_event("ticket.escalated", actor, **{"from": old, "to": tier}, **details)
        return True

    def mark_first_response(self) -> bool:
        """Stamp the first response; False when the ticket already had one."""
        if self.record.first_response_at is not None:
            return False
        self._set("first_response_at", self.now)
        return True

    def mark_fired(self, target: str, kind: str) -> None:
        key = f"{target}.{kind}"
        if key not in self.record.sla_fired:
            self._set("sla_fired", [*self.record.sla_fired, key])

    def mark_auto_close_warned(self) -> None:
        self._set("auto_close_warned_at", self.now)

    def merge_into(self, target_id: int) -> None:
        self._set("merged_into_id", target_id)

    # -- writing -----------------------------------------------------------------------

    @property
    def changed(self) -> bool:
        return bool(self._changes or self._events)

    def save(self) -> None:
        """Write the changed columns and the events; safe to call more than once."""
        if self._changes:
            self._changes["updated_at"] = self.now
            self.record.updated_at = self.now
            self.connection.execute(
                update(_tickets).where(_tickets.c.id == self.record.id).values(**self._changes)
            )
        if self._events:
            self.connection.execute(insert(_events), self._events)
        self._changes, self._events = {}, []
