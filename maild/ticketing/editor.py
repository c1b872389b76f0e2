"""Changes to a ticket, each with its audit event, written in the caller's transaction.

Every path that changes a ticket goes through :class:`TicketEditor`: intake (a customer's
reply reopens), agent commands, rules, assignment, escalation, the SLA sweep and auto-close.
That keeps the rules of the workflow in one place: pending pauses the SLA clock and leaving
pending resumes it, resolving stamps ``resolved_at``, reopening clears it, and every change
is an event naming who made it (``agent:ADDRESS``, ``rule:NAME``, ``customer:ADDRESS``,
``system``).

Events go through one channel, an :class:`EventLog`: an editor has its own, written by
:meth:`TicketEditor.save`, or shares the log of the mail being taken in, so that the trail
of a ticket reads in the order things happened. Being the one channel, it is also where
webhook deliveries are queued, in the same transaction (``maild.webhooks.queue``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from maild.ticketing.record import TicketRecord
from maild.webhooks.queue import queue_events
from rules.businesstime import to_us
from storage import workflow
from storage.models import TicketStatus

log = logging.getLogger(__name__)

_REOPENED_CLEARS = ("resolved_at", "closed_at", "resolved_assignee", "auto_close_warned_at")


class EventLog:
    """Audit events in the order they were recorded, written together by :meth:`write`.

    An event recorded without a ticket or actor (intake records the mail's own events
    before it knows the ticket the mail ends on) takes the ones :meth:`write` is given.
    """

    def __init__(self) -> None:
        self._rows: list[dict[str, Any]] = []

    def add(
        self,
        kind: str,
        data: dict[str, Any],
        *,
        ticket_id: int | None = None,
        actor: str | None = None,
        at: datetime | None = None,
    ) -> None:
        self._rows.append(
            {"ticket_id": ticket_id, "at": at, "actor": actor, "kind": kind, "data": data}
        )

    def announce(
        self, kind: str, *, text: str | None = None, ticket_id: int | None = None, **data: Any
    ) -> None:
        """A webhook event that has no audit event of its own: a mail (``ticket.created``,
        ``ticket.customer_replied``, ``ticket.agent_replied``) with its new ``text``.
        :meth:`write` hands it to the webhooks only."""
        self._rows.append(
            {
                "ticket_id": ticket_id,
                "at": None,
                "actor": None,
                "kind": kind,
                "data": {**data, "text": text},
                "announced": True,
            }
        )

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def kinds(self) -> list[str]:
        """The kinds of the audit events recorded so far (not the announcements)."""
        return [row["kind"] for row in self._rows if not row.get("announced")]

    def discard_from(self, mark: int) -> None:
        """Forget the events recorded since ``len(log)`` was ``mark`` (a rolled-back
        savepoint)."""
        del self._rows[mark:]

    def write(
        self,
        connection: Connection,
        *,
        ticket_id: int | None = None,
        actor: str | None = None,
        at: datetime | None = None,
        webhooks: bool = True,
    ) -> None:
        """Insert every event recorded so far, in order, and start afresh; queue the
        webhook deliveries they make (none with ``webhooks`` False: imported history)."""
        rows = [
            {
                "ticket_id": ticket_id if row["ticket_id"] is None else row["ticket_id"],
                "at": at if row["at"] is None else row["at"],
                "actor": actor if row["actor"] is None else row["actor"],
                "kind": row["kind"],
                "data": row["data"],
                "announced": row.get("announced", False),
            }
            for row in self._rows
        ]
        self._rows = []
        workflow.insert_events(
            connection,
            [
                {key: value for key, value in row.items() if key != "announced"}
                for row in rows
                if not row["announced"]
            ],
        )
        if webhooks:
            queue_events(connection, rows)


class TicketEditor:
    """Collects changes to one ticket and writes them with :meth:`save`.

    ``record`` is updated as changes are made, so later code in the same transaction (a
    rule that looks at the new priority, a notification) sees the ticket as it will be.
    """

    def __init__(
        self,
        connection: Connection,
        record: TicketRecord,
        now: datetime,
        actor: str,
        *,
        events: EventLog | None = None,
    ) -> None:
        """``events``: a log shared with the caller, who writes it (then :meth:`save`
        writes only the ticket's columns); without one the editor writes its own."""
        self.connection = connection
        self.record = record
        self.now = now
        self.actor = actor
        self._changes: dict[str, Any] = {}
        self._log = events if events is not None else EventLog()
        self._writes_log = events is None
        self._recorded: list[tuple[str, dict[str, Any]]] = []

    @staticmethod
    def touch(connection: Connection, ticket_id: int, now: datetime) -> None:
        """Mail arrived on the ticket and changed nothing else: only ``updated_at`` moves,
        without reading the ticket (the intake path)."""
        workflow.touch_ticket(connection, ticket_id, now)

    # -- the audit trail ---------------------------------------------------------------

    def record_event(self, kind: str, actor: str | None = None, **data: Any) -> None:
        self._log.add(kind, data, ticket_id=self.record.id, actor=actor or self.actor, at=self.now)
        self._recorded.append((kind, data))

    @property
    def event_log(self) -> EventLog:
        """Where this editor's events go: give it to an editor of another ticket changed
        by the same action, so the two trails stay in the order things happened."""
        return self._log

    @property
    def events(self) -> list[tuple[str, dict[str, Any]]]:
        """The events this editor recorded since it last saved, as (kind, data)."""
        return list(self._recorded)

    def _set(self, name: str, value: Any) -> None:
        setattr(self.record, name, value)
        self._changes[name] = value

    # -- the changes -------------------------------------------------------------------

    def set_status(self, status: TicketStatus, actor: str | None = None) -> bool:
        """Move the ticket to ``status``; False if it already is there.

        The one workflow rule: entering pending pauses the SLA clock and leaving it resumes
        the clock; resolving stamps ``resolved_at``, closing ``closed_at`` (and
        ``resolved_at`` when it was never resolved) and each keeps who was assigned then,
        whom reports credit; any other status clears both and the
        auto-close warning, so an open ticket carries nothing of a finished one.
        """
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
            self._set("resolved_assignee", record.assignee)
        elif status == TicketStatus.CLOSED:
            self._set("closed_at", self.now)
            if record.resolved_at is None:
                self._set("resolved_at", self.now)
                self._set("resolved_assignee", record.assignee)
        else:
            for name in _REOPENED_CLEARS:
                if getattr(record, name) is not None:
                    self._set(name, None)
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
        return bool(self._changes or self._recorded)

    def save(self) -> None:
        """Write the changed columns, and the events unless the log is shared; safe to
        call more than once."""
        if self._changes:
            self._changes["updated_at"] = self.now
            self.record.updated_at = self.now
            workflow.update_ticket(self.connection, self.record.id, self._changes)
        if self._writes_log:
            self._log.write(self.connection)
        self._changes, self._recorded = {}, []
