"""The SLA sweep: fire each due warning and breach exactly once.

Two phases. The *read* phase is one query over every open ticket (new, open, pending) for
just the columns the SLA needs, and asks ``rules.sla.due_events`` what is due, with the
business-clock reading of ``now`` taken once. It builds no ORM objects and, on SQLite, no
datetimes or JSON for tickets that cannot be due (the row adapter parses lazily): with
100,000 open tickets and few due it takes well under a second.

The *write* phase gives each ticket with something due a short transaction of its own
(``BEGIN IMMEDIATE`` on SQLite, ``SELECT … FOR UPDATE`` on the row on PostgreSQL) that
re-reads the ticket and re-checks what is due and not yet fired. The fired key, the event,
the mail and the rules' changes commit together, so a sweep that runs twice, or in two
instances at once, fires nothing twice, and a crash in between fires it on the next sweep.

A warning goes to the assignee (else the ticket's team, else every agent); a breach goes
to the escalation target (the next tier's team and addresses; at the last tier that tier's
addresses again; the assignee or team without tiers, see :func:`breach_targets`) and
escalates the ticket one tier. Both fire the ``sla.warning``
/ ``sla.breached`` rules.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from maild.automation.actions import TicketWork, escalate_ticket
from maild.automation.apply import run_rules
from maild.ticketing.editor import TicketEditor
from maild.ticketing.notify import Notifier, Recipient
from maild.ticketing.record import TicketRecord, fired_keys, load_ticket, pauses_as_datetimes
from rules.businesstime import BusinessCalendar, to_us
from rules.config import RulesConfig, Tier
from rules.escalation import next_tier
from rules.model import Event, EventKind
from rules.sla import Due, Kind, SlaStatus, Target, due_events, sla_status
from storage.engine import is_sqlite, writer_engine
from storage.models import stored_instant
from storage.sla import SWEPT, sla_rows
from storage.workflow import lock_ticket

log = logging.getLogger(__name__)

SYSTEM = "system"
_NO_KEYS: frozenset[tuple[str, str]] = frozenset()
_EMPTY_JSON = (None, "[]", "null", "")
_TARGET_LABELS = {Target.FIRST_RESPONSE: "first response", Target.RESOLUTION: "resolution"}


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


class _FiredCache(dict[Any, frozenset[tuple[str, str]]]):
    """Stored ``sla_fired`` → keys. Most tickets share one of a few values, so each is
    decoded once per sweep."""

    def __missing__(self, stored: Any) -> frozenset[tuple[str, str]]:
        keys = _NO_KEYS if stored in _EMPTY_JSON else fired_keys(_json(stored))
        if isinstance(stored, str):
            self[stored] = keys
        return keys


class _Row:
    """One row of ``storage.sla.sla_rows`` (columns by position, in ``SLA_COLUMNS``
    order) as ``rules.sla.SlaTicket``; parses a column only when it is read."""

    __slots__ = ("_created", "_first", "_paused", "_resolved", "category", "priority", "vip")

    def __init__(self, row: Sequence[Any], vip: bool) -> None:
        self.priority = row[2]
        self.category = row[3]
        self.vip = vip
        self._created = row[5]
        self._first = row[6]
        self._resolved = row[7]
        self._paused = row[8]

    @property
    def created_at(self) -> datetime | None:
        value = self._created
        if isinstance(value, str):
            value = self._created = stored_instant(value)
        return value

    @property
    def first_response_at(self) -> datetime | None:
        value = self._first
        if isinstance(value, str):
            value = self._first = stored_instant(value)
        return value

    @property
    def resolved_at(self) -> datetime | None:
        value = self._resolved
        if isinstance(value, str):
            value = self._resolved = stored_instant(value)
        return value

    @property
    def paused(self) -> tuple[tuple[datetime, datetime | None], ...]:
        stored = self._paused
        if stored in _EMPTY_JSON or stored == []:
            return ()
        if not isinstance(stored, tuple):
            stored = self._paused = pauses_as_datetimes(_json(stored))
        return stored


@dataclass(frozen=True, slots=True)
class SweepReport:
    open_tickets: int
    due_tickets: int
    fired: int
    """Warnings and breaches fired by this sweep (another sweep may have fired the rest)."""
    read_seconds: float
    seconds: float
    warnings: int = 0
    """Of ``fired``, the warnings (what ``/metrics`` counts apart from the breaches)."""
    breaches: int = 0


def human_duration(delta: timedelta) -> str:
    """``2 d 3 h``, ``1 h 15 min``, ``5 min``: wall-clock time, rounded down to the minute."""
    minutes = int(abs(delta).total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else ""]
    if minutes or not (days or hours):
        parts.append(f"{minutes} min")
    return " ".join(part for part in parts if part)


def sla_duration(delta: timedelta, calendar: BusinessCalendar) -> str:
    """A duration on the SLA clock: wall-clock words when business time is clock time
    (24x7 without holidays), else hours marked as business time: ``72 h business``, not
    ``3 d``, which would read as three calendar days (nine working days at 8 h a day)."""
    if calendar.continuous:
        return human_duration(delta)
    hours, minutes = divmod(int(abs(delta).total_seconds() // 60), 60)
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes or not hours else ""]
    return " ".join(part for part in parts if part) + " business"


def breach_targets(tiers: Sequence[Tier], current: str | None) -> tuple[list[str], str]:
    """Who hears of a breach, and the tier it moves the ticket to ("" when none).

    Below the last tier: the next tier's team and addresses. At the last tier, every later
    breach tells that tier's addresses again (and the assignee, when the tier is a team's,
    or names no addresses): it has nowhere higher to go, and the people it escalated to are
    still the ones to know. Without tiers: the assignee (else the team, else every agent).
    """
    above = next_tier(tiers, current)
    if above is not None:
        return [*([above.team] if above.team else []), *above.addresses], above.name
    here = next((tier for tier in tiers if tier.name == current), None)
    if here is None:
        return ["assignee"], ""
    return [*(["assignee"] if here.team or not here.addresses else []), *here.addresses], ""


class SlaSweep:
    """Finds and fires due SLA warnings and breaches. ``policy`` returns the rules in force
    (a reloaded rules file takes effect on the next sweep)."""

    def __init__(
        self, engine: Engine, notifier: Notifier, policy: Callable[[], RulesConfig]
    ) -> None:
        self._engine = engine
        self._writer = writer_engine(engine)
        self._notifier = notifier
        self._policy = policy
        self._sqlite = is_sqlite(engine)

    # -- read --------------------------------------------------------------------------

    def find_due(self, now: datetime, policy: RulesConfig) -> tuple[int, list[tuple[int, int]]]:
        """``(open tickets, [(id, number)] of those with something due)``, in one query."""
        sla = policy.sla_policy
        calendar = policy.sla.calendar
        now_reading = calendar.clock(to_us(now))
        vip_config = policy.vip
        has_vips = bool(vip_config.addresses or vip_config.domains)
        vips: dict[str, bool] = {}  # requesters write many tickets: ask once each
        due: list[tuple[int, int]] = []
        with self._engine.connect() as connection:
            # On SQLite timestamps and JSON come as the stored text: only the tickets that
            # need them pay for parsing (see _Row).
            rows = sla_rows(connection, as_text=self._sqlite)
        fired_cache = _FiredCache()
        for row in rows:
            stored = row[9]
            fired = (
                fired_cache[stored] if isinstance(stored, str) else fired_cache.__missing__(stored)
            )
            vip = False
            if has_vips:
                known = vips.get(row[4])
                vip = vips[row[4]] = vip_config.is_vip(row[4]) if known is None else known
            ticket = _Row(row, vip)
            try:
                if due_events(ticket, sla, calendar, now, fired, now_reading=now_reading):
                    due.append((row[0], row[1]))
            except ValueError:
                log.exception(
                    "ticket #%s: cannot work out its SLA", row[1], extra={"ticket": row[1]}
                )
        return len(rows), due

    # -- write -------------------------------------------------------------------------

    def run(self, now: datetime) -> SweepReport:
        started = time.perf_counter()
        policy = self._policy()
        count, due = self.find_due(now, policy)
        read_seconds = time.perf_counter() - started
        warnings = breaches = 0
        for ticket_id, number in due:
            try:
                warned, breached = self._fire(ticket_id, now, policy)
                warnings, breaches = warnings + warned, breaches + breached
            except Exception:
                log.exception(
                    "ticket #%s: SLA sweep failed; the next sweep tries again",
                    number,
                    extra={"ticket": number},
                )
        seconds = time.perf_counter() - started
        fired = warnings + breaches
        if due:
            log.info(
                "SLA sweep: %d open tickets, %d due, %d fired in %.3f s",
                count,
                len(due),
                fired,
                seconds,
            )
        return SweepReport(count, len(due), fired, read_seconds, seconds, warnings, breaches)

    def fire(self, ticket_id: int, now: datetime, policy: RulesConfig) -> int:
        """Fire what is due on one ticket in one transaction; how many fired (0 when
        another sweep got there first or the ticket changed meanwhile)."""
        return sum(self._fire(ticket_id, now, policy))

    def _fire(self, ticket_id: int, now: datetime, policy: RulesConfig) -> tuple[int, int]:
        """:meth:`fire`, telling the warnings from the breaches (``/metrics`` counts them
        apart)."""
        with self._writer.begin() as connection:
            lock_ticket(connection, ticket_id)
            record = load_ticket(connection, ticket_id)
            if record.status not in SWEPT:
                return 0, 0
            status = sla_status(
                record.rules_view(policy),
                policy.sla_policy,
                policy.sla.calendar,
                now,
                record.fired,
            )
            if not status.due:
                return 0, 0
            editor = TicketEditor(connection, record, now, SYSTEM)
            work = TicketWork(connection, policy, self._notifier, now)
            breached = {due.target for due in status.due if due.kind is Kind.BREACH}
            for due in status.due:
                self._fire_one(work, editor, status, due, superseded=due.target in breached)
            editor.save()
            breaches = sum(due.kind is Kind.BREACH for due in status.due)
            return len(status.due) - breaches, breaches

    def _fire_one(
        self,
        work: TicketWork,
        editor: TicketEditor,
        status: SlaStatus,
        due: Due,
        *,
        superseded: bool,
    ) -> None:
        record, policy = editor.record, work.policy
        target = status.target(due.target)
        assert target is not None
        deadline = target.deadline
        breach = due.kind is Kind.BREACH
        editor.mark_fired(due.target.value, due.kind.value)
        editor.record_event(
            due.event,
            target=due.target.value,
            due_at=due.at.isoformat(),
            deadline=deadline.isoformat() if deadline else None,
        )
        log.info(
            "ticket #%s: SLA %s %s",
            record.number,
            due.target.value,
            due.kind.value,
            extra={"ticket": record.number},
        )
        # A warning whose breach fires in this same sweep (the daemon was down) gets no
        # mail of its own: the breach mail says all there is to say.
        if breach or not superseded:
            targets, escalate_to = (
                breach_targets(policy.escalation.tiers, record.tier)
                if breach
                else (["assignee"], "")
            )
            recipients = self._notifier.resolve(record, targets, policy)
            self._mail(work, editor, due, target.goal, deadline, recipients, escalate_to)
        kind = EventKind.SLA_BREACHED if breach else EventKind.SLA_WARNING
        run_rules(work, editor, Event(kind, mailbox=record.mailbox, sla_target=due.target.value))
        if breach:
            self._escalate(work, editor, due)

    def _mail(
        self,
        work: TicketWork,
        editor: TicketEditor,
        due: Due,
        goal: timedelta,
        deadline: datetime | None,
        recipients: list[Recipient],
        escalate_to: str,
    ) -> None:
        record, policy = editor.record, work.policy
        breach = due.kind is Kind.BREACH
        tz = policy.sla.calendar.tz
        label = _TARGET_LABELS[due.target]
        local = deadline.astimezone(tz) if deadline else None
        shown = f"{local:%Y-%m-%d %H:%M} {tz.key}" if local else "when the ticket resumes"
        left = human_duration((deadline or work.now) - work.now)
        goal_text = sla_duration(goal, policy.sla.calendar)
        reason = (
            f"SLA breached: the {label} target ({goal_text}) for this ticket passed at {shown}."
            if breach
            else f"SLA warning: the {label} for this ticket is due by {shown} (in {left})."
        )
        sent = self._notifier.send(
            work.connection,
            record,
            recipients,
            template="sla_breach" if breach else "sla_warning",
            reason=reason,
            now=work.now,
            policy=policy,
            kind="sla_breach" if breach else "sla_warning",
            variables={
                "sla_target": due.target.value,
                "sla_target_label": label,
                "sla_goal": goal_text,
                "deadline": shown,
                "deadline_utc": deadline.isoformat() if deadline else "",
                "time_left": "" if breach else left,
                "overdue": human_duration(work.now - deadline) if breach and deadline else "",
                "escalate_to": escalate_to,
            },
        )
        if not sent:
            log.warning(
                "ticket #%s: nobody to tell of the SLA %s",
                record.number,
                due.kind.value,
                extra={"ticket": record.number},
            )

    @staticmethod
    def _escalate(work: TicketWork, editor: TicketEditor, due: Due) -> None:
        escalate_ticket(
            work, editor, to=None, actor=SYSTEM, reason=f"sla breach: {_TARGET_LABELS[due.target]}"
        )


def sla_report(record: TicketRecord, policy: RulesConfig, now: datetime) -> SlaStatus:
    """The SLA status of one ticket, as ``maild sla show`` prints it."""
    return sla_status(
        record.rules_view(policy), policy.sla_policy, policy.sla.calendar, now, record.fired
    )
