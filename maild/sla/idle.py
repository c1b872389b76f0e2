"""The ``ticket.idle`` sweep: fire each idle rule once per idle period of a ticket.

A rule with ``idle_for`` fires on an open ticket (new, open, pending) that has had no message
for that long: no customer or agent mail (``tickets.last_message_at``; automated mail and
our own does not count), in wall time or, with ``business_hours = true``, in SLA business
time. It fires once per idle period; the next message starts a new one, after which the rule
may fire again. Only the rules that name ``ticket.idle`` run (DECISIONS: new event kinds fire
only rules that name them), and each due rule runs alone, its ``when`` conditions checked as
for any event, its actions applied as any rule's are (``maild.automation.apply``).

Two phases, as in :mod:`maild.sla.sweep`. The *read* phase is one query for the open
tickets whose last message is older than the shortest ``idle_for`` (business time never
runs faster than the wall clock, so that is a valid cutoff for business-time rules too),
answered by an index; ``rules.idle.idle_due`` picks the tickets with a rule due. The *write*
phase gives each such ticket a short transaction that locks it, re-reads it and re-checks
what is due: the ``ticket.idle`` event, the rule's changes and mail and the fired marker
(``tickets.idle_fired``) commit together, so two sweeps, or two instances, never fire a rule
twice in one idle period, and a message that arrives in between cancels it.

A due rule whose conditions do not hold (say ``when.priority = "urgent"`` on a low ticket)
is marked all the same: it is not asked again until the next idle period.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from maild.automation.actions import TicketWork
from maild.automation.apply import run_rules
from maild.ticketing.editor import TicketEditor
from maild.ticketing.notify import Notifier
from maild.ticketing.record import load_ticket
from rules.config import RulesConfig
from rules.engine import explain
from rules.idle import fired_after, idle_due, idle_key
from rules.model import Event, EventKind
from storage import idle
from storage.engine import writer_engine
from storage.sla import SWEPT
from storage.workflow import lock_ticket

log = logging.getLogger(__name__)

SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class IdleReport:
    quiet_tickets: int = 0
    """Open tickets without a message for at least the shortest ``idle_for``."""
    due_tickets: int = 0
    fired: int = 0
    """Rules fired by this sweep (whose conditions held; another sweep may fire the rest)."""
    seconds: float = 0.0


class IdleSweep:
    """Finds and fires the ``ticket.idle`` rules that are due. ``policy`` returns the rules
    in force (a reloaded rules file takes effect on the next sweep)."""

    def __init__(
        self, engine: Engine, notifier: Notifier, policy: Callable[[], RulesConfig]
    ) -> None:
        self._engine = engine
        self._writer = writer_engine(engine)
        self._notifier = notifier
        self._policy = policy

    def find_due(self, now: datetime, policy: RulesConfig) -> tuple[int, list[tuple[int, int]]]:
        """``(quiet open tickets, [(id, number)] of those with an idle rule due)``."""
        rules = policy.idle_rules
        if not rules:
            return 0, []
        shortest = min(rule.idle_for.after for rule in rules if rule.idle_for is not None)
        with self._engine.connect() as connection:
            rows = idle.idle_rows(connection, now - shortest)
        calendar = policy.sla.calendar
        due = [
            (row.id, row.number)
            for row in rows
            if idle_due(rules, row.last_message_at, now, calendar, row.idle_fired)
        ]
        return len(rows), due

    def run(self, now: datetime) -> IdleReport:
        started = time.perf_counter()
        policy = self._policy()
        count, due = self.find_due(now, policy)
        fired = 0
        for ticket_id, number in due:
            try:
                fired += self.fire(ticket_id, now, policy)
            except Exception:
                log.exception(
                    "ticket #%s: idle sweep failed; the next sweep tries again",
                    number,
                    extra={"ticket": number},
                )
        seconds = time.perf_counter() - started
        if due:
            log.info(
                "idle sweep: %d quiet open tickets, %d due, %d rules fired in %.3f s",
                count,
                len(due),
                fired,
                seconds,
            )
        return IdleReport(count, len(due), fired, seconds)

    def fire(self, ticket_id: int, now: datetime, policy: RulesConfig) -> int:
        """Fire the idle rules due on one ticket in one transaction; how many fired (0 when
        another sweep got there first or a message came meanwhile)."""
        with self._writer.begin() as connection:
            lock_ticket(connection, ticket_id)
            state = idle.idle_state(connection, ticket_id)
            if state is None or state.status not in SWEPT:
                return 0
            since = state.last_message_at
            due = idle_due(policy.idle_rules, since, now, policy.sla.calendar, state.idle_fired)
            if not due:
                return 0
            record = load_ticket(connection, ticket_id)
            editor = TicketEditor(connection, record, now, SYSTEM)
            work = TicketWork(connection, policy, self._notifier, now)
            fired = 0
            for rule in due:
                event = Event(
                    EventKind.IDLE, mailbox=record.mailbox, rule=rule.name, idle_since=since
                )
                # Its conditions, on the ticket as earlier rules of this sweep left it.
                if not explain((rule,), record.rules_view(policy), event)[0].matched:
                    continue
                assert rule.idle_for is not None
                editor.record_event(
                    EventKind.IDLE.value,
                    rule=rule.name,
                    idle_since=idle_key(since),
                    idle_for=rule.idle_for.describe(),
                )
                log.info(
                    "ticket #%s: idle since %s, rule %r fires",
                    record.number,
                    idle_key(since),
                    rule.name,
                    extra={"ticket": record.number},
                )
                run_rules(work, editor, event)
                fired += 1
            editor.save()
            idle.set_idle_fired(connection, ticket_id, fired_after(state.idle_fired, since, due))
            return fired
