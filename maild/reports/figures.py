"""The figures of a report, worked out from the rows ``storage.reports`` reads.

Attribution follows when things happened: a ticket counts as created in the period of its
``created_at``, as resolved in that of its ``resolved_at``, its first response in that of
its ``first_response_at``. Merged tickets count as created but never as resolved or
closed: they were not answered, they were folded into another ticket.

Times are given twice: in wall time (what the customer lived through) and in business
time on the SLA clock (business hours of ``[sla]``, waiting on the customer not counted),
which is what the SLA targets are measured against. Medians are the usual median; the 90th
percentile is the nearest-rank one (the smallest value that at least 90 % do not exceed),
so every figure is one a person can check by counting.

The per-agent table credits a resolution, and the rating that follows it, to whoever was
assigned when the ticket was resolved; assignments and first responses to the ticket's
assignee.
"""

from __future__ import annotations

import math
import statistics
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Connection

from maild.reports.period import Period
from rules.businesstime import BusinessCalendar, to_us
from rules.config import RulesConfig
from storage import reports
from storage.reports import ReportEvent, ReportRating, ReportTicket

DIMENSIONS = ("agent", "team", "category", "priority", "mailbox")
NONE_LABEL = "(none)"
SATISFIED = frozenset({"4", "5", "good"})
_ONE_US = timedelta(microseconds=1)
_UNKNOWN = -1


@dataclass(frozen=True, slots=True)
class Durations:
    count: int
    median: timedelta | None
    p90: timedelta | None

    @classmethod
    def of(cls, microseconds: Sequence[int]) -> Durations:
        if not microseconds:
            return cls(0, None, None)
        ordered = sorted(microseconds)
        rank = math.ceil(0.9 * len(ordered)) - 1
        median = statistics.median(ordered)
        return cls(
            len(ordered),
            timedelta(microseconds=round(median)),
            timedelta(microseconds=ordered[rank]),
        )


@dataclass(frozen=True, slots=True)
class Times:
    business: Durations
    wall: Durations


@dataclass(frozen=True, slots=True)
class Compliance:
    """Targets met out of targets that applied (tickets whose priority has one)."""

    met: int
    total: int

    @property
    def share(self) -> float | None:
        return self.met / self.total if self.total else None


@dataclass(frozen=True, slots=True)
class Satisfaction:
    responses: int
    satisfied: int
    average: float | None  # over ratings of the 1-5 scale; None without any

    @property
    def share(self) -> float | None:
        return self.satisfied / self.responses if self.responses else None

    @classmethod
    def of(cls, ratings: Iterable[ReportRating]) -> Satisfaction:
        given = [rating.rating for rating in ratings]
        numbers = [int(value) for value in given if value.isdigit()]
        average = sum(numbers) / len(numbers) if numbers else None
        return cls(len(given), sum(value in SATISFIED for value in given), average)


@dataclass(frozen=True, slots=True)
class Figures:
    created: int
    resolved: int
    closed: int
    reopened: int
    backlog: int
    first_response: Times
    resolution: Times
    first_response_sla: Compliance
    resolution_sla: Compliance
    breaches: int
    satisfaction: Satisfaction


@dataclass(frozen=True, slots=True)
class AgentRow:
    agent: str
    assigned: int
    resolved: int
    first_response_median: timedelta | None  # business time
    satisfaction: Satisfaction


@dataclass(frozen=True, slots=True)
class Day:
    """One local day of the period, for the trend charts."""

    day: date
    created: int
    resolved: int
    satisfaction: Satisfaction


@dataclass(frozen=True, slots=True)
class PrioritySla:
    priority: str
    first_response: Compliance
    resolution: Compliance


@dataclass(frozen=True, slots=True)
class Report:
    period: Period
    overall: Figures
    by: str | None
    groups: tuple[tuple[str, Figures], ...]
    agents: tuple[AgentRow, ...]
    days: tuple[Day, ...]
    sla_by_priority: tuple[PrioritySla, ...]
    first_response_hours: tuple[float, ...]  # business hours, one per first response


# -- the pieces, each for one set of tickets -------------------------------------------------


class _Measure:
    """Per-ticket times on the SLA clock and against the targets, each worked out once
    (the figures, the per-agent table and the SLA by priority all ask)."""

    def __init__(self, policy: RulesConfig) -> None:
        self._policy = policy
        self._calendar: BusinessCalendar = policy.sla.calendar
        self._sla = policy.sla_policy
        self._vips: dict[str, bool] = {}
        self._has_vips = bool(policy.vip.addresses or policy.vip.domains)
        self._goals: dict[tuple[str, str | None, bool, bool], int | None] = {}
        self._first: dict[int, tuple[int, int, bool | None]] = {}
        self._resolution: dict[int, tuple[int, int, bool | None]] = {}

    def _goal_us(self, ticket: ReportTicket, first: bool) -> int | None:
        vip = self._vips.get(ticket.requester)
        if vip is None:
            vip = self._vips[ticket.requester] = self._policy.vip.is_vip(ticket.requester)
        targets = self._sla.targets_for(ticket.priority, ticket.category, vip)
        goal = targets.first_response if first else targets.resolution
        return None if goal is None else goal // _ONE_US

    def _measure(
        self, ticket: ReportTicket, end: datetime, first: bool
    ) -> tuple[int, int, bool | None]:
        start_us, end_us = to_us(ticket.created_at), to_us(end)
        business = self._calendar.elapsed_us(start_us, end_us, ticket.sla_paused)
        goal = self._goal_us(ticket, first)
        return business, max(end_us - start_us, 0), None if goal is None else business < goal

    def first_response(self, ticket: ReportTicket) -> tuple[int, int, bool | None]:
        """(business µs, wall µs, target met — None without a target)."""
        found = self._first.get(ticket.id)
        if found is None:
            assert ticket.first_response_at is not None
            found = self._first[ticket.id] = self._measure(ticket, ticket.first_response_at, True)
        return found

    def resolution(self, ticket: ReportTicket) -> tuple[int, int, bool | None]:
        found = self._resolution.get(ticket.id)
        if found is None:
            assert ticket.resolved_at is not None
            found = self._resolution[ticket.id] = self._measure(ticket, ticket.resolved_at, False)
        return found


def _within(moment: datetime | None, period: Period) -> bool:
    return moment is not None and period.since <= moment < period.until


@dataclass(frozen=True, slots=True)
class _Inputs:
    """Everything read for one report; split by group for ``--by``."""

    tickets: Sequence[ReportTicket]
    backlog: Sequence[ReportTicket]
    reopened: Sequence[ReportEvent]
    breaches: Sequence[ReportEvent]
    ratings: Sequence[ReportRating]


def _figures(inputs: _Inputs, period: Period, measure: _Measure) -> Figures:
    created = resolved = closed = 0
    fr_business: list[int] = []
    fr_wall: list[int] = []
    res_business: list[int] = []
    res_wall: list[int] = []
    fr_met = fr_total = res_met = res_total = 0
    for ticket in inputs.tickets:
        if _within(ticket.created_at, period):
            created += 1
        if ticket.merged:
            continue
        if _within(ticket.resolved_at, period):
            resolved += 1
            business, wall, met = measure.resolution(ticket)
            res_business.append(business)
            res_wall.append(wall)
            if met is not None:
                res_total += 1
                res_met += met
        if _within(ticket.closed_at, period):
            closed += 1
        if _within(ticket.first_response_at, period):
            business, wall, met = measure.first_response(ticket)
            fr_business.append(business)
            fr_wall.append(wall)
            if met is not None:
                fr_total += 1
                fr_met += met
    return Figures(
        created=created,
        resolved=resolved,
        closed=closed,
        reopened=len(inputs.reopened),
        backlog=len(inputs.backlog),
        first_response=Times(Durations.of(fr_business), Durations.of(fr_wall)),
        resolution=Times(Durations.of(res_business), Durations.of(res_wall)),
        first_response_sla=Compliance(fr_met, fr_total),
        resolution_sla=Compliance(res_met, res_total),
        breaches=len(inputs.breaches),
        satisfaction=Satisfaction.of(inputs.ratings),
    )


def _credited(ticket: ReportTicket) -> str | None:
    """Whom a resolved ticket is credited to: its assignee when it was resolved."""
    return ticket.resolver or ticket.assignee


_KEYS: dict[str, Callable[[ReportTicket], str | None]] = {
    "agent": _credited,
    "team": lambda ticket: ticket.team,
    "category": lambda ticket: ticket.category,
    "priority": lambda ticket: ticket.priority,
    "mailbox": lambda ticket: ticket.mailbox,
}


def _groups(
    inputs: _Inputs,
    by: str,
    known: dict[int, ReportTicket],
    period: Period,
    measure: _Measure,
) -> tuple[tuple[str, Figures], ...]:
    key = _KEYS[by]

    def label(ticket: ReportTicket | None) -> str:
        value = key(ticket) if ticket is not None else None
        return value or NONE_LABEL

    split: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for ticket in inputs.tickets:
        split[label(ticket)]["tickets"].append(ticket)
    for ticket in inputs.backlog:
        split[label(ticket)]["backlog"].append(ticket)
    for event in inputs.reopened:
        split[label(known.get(event.ticket_id))]["reopened"].append(event)
    for event in inputs.breaches:
        split[label(known.get(event.ticket_id))]["breaches"].append(event)
    for rating in inputs.ratings:
        split[label(known.get(rating.ticket_id))]["ratings"].append(rating)
    ordered = sorted(split, key=lambda name: (name == NONE_LABEL, name))
    return tuple(
        (
            name,
            _figures(
                _Inputs(
                    split[name]["tickets"],
                    split[name]["backlog"],
                    split[name]["reopened"],
                    split[name]["breaches"],
                    split[name]["ratings"],
                ),
                period,
                measure,
            ),
        )
        for name in ordered
    )


def _agents(
    inputs: _Inputs, known: dict[int, ReportTicket], period: Period, measure: _Measure
) -> tuple[AgentRow, ...]:
    assigned: Counter[str] = Counter()
    resolved: Counter[str] = Counter()
    first_responses: dict[str, list[int]] = defaultdict(list)
    ratings: dict[str, list[ReportRating]] = defaultdict(list)
    for ticket in inputs.tickets:
        if ticket.assignee and _within(ticket.assigned_at, period):
            assigned[ticket.assignee] += 1
        if ticket.merged:
            continue
        credited = _credited(ticket)
        if credited and _within(ticket.resolved_at, period):
            resolved[credited] += 1
        if ticket.assignee and _within(ticket.first_response_at, period):
            first_responses[ticket.assignee].append(measure.first_response(ticket)[0])
    for rating in inputs.ratings:
        ticket = known.get(rating.ticket_id)
        credited = _credited(ticket) if ticket is not None else None
        if credited:
            ratings[credited].append(rating)
    agents = sorted(set(assigned) | set(resolved) | set(first_responses) | set(ratings))
    return tuple(
        AgentRow(
            agent,
            assigned[agent],
            resolved[agent],
            Durations.of(first_responses[agent]).median,
            Satisfaction.of(ratings[agent]),
        )
        for agent in agents
    )


def _days(inputs: _Inputs, period: Period) -> tuple[Day, ...]:
    days = period.days()
    # Local midnights as instants: a bisect finds a time's local day without a time zone
    # conversion per ticket.
    starts = [to_us(period.midnight(day)) for day in days]
    created = [0] * len(days)
    resolved = [0] * len(days)
    rated: list[list[ReportRating]] = [[] for _ in days]

    def index(moment: datetime) -> int:
        return bisect_right(starts, to_us(moment)) - 1

    for ticket in inputs.tickets:
        if _within(ticket.created_at, period):
            created[index(ticket.created_at)] += 1
        if not ticket.merged and _within(ticket.resolved_at, period):
            assert ticket.resolved_at is not None
            resolved[index(ticket.resolved_at)] += 1
    for rating in inputs.ratings:
        rated[index(rating.rated_at)].append(rating)
    return tuple(
        Day(day, created[n], resolved[n], Satisfaction.of(rated[n])) for n, day in enumerate(days)
    )


def _sla_by_priority(
    tickets: Iterable[ReportTicket], period: Period, measure: _Measure, priorities: Sequence[str]
) -> tuple[PrioritySla, ...]:
    counts: dict[str, list[int]] = {name: [0, 0, 0, 0] for name in priorities}
    for ticket in tickets:
        if ticket.merged:
            continue
        row = counts.setdefault(ticket.priority, [0, 0, 0, 0])
        if _within(ticket.first_response_at, period):
            met = measure.first_response(ticket)[2]
            if met is not None:
                row[0] += met
                row[1] += 1
        if _within(ticket.resolved_at, period):
            met = measure.resolution(ticket)[2]
            if met is not None:
                row[2] += met
                row[3] += 1
    return tuple(
        PrioritySla(name, Compliance(row[0], row[1]), Compliance(row[2], row[3]))
        for name, row in counts.items()
        if row[1] or row[3]
    )


def build_report(
    connection: Connection,
    policy: RulesConfig,
    period: Period,
    by: str | None = None,
    priorities: Sequence[str] = (),
) -> Report:
    """Read what happened in ``period`` and work out every figure of the report;
    ``priorities`` (``[maild] priorities``) order the SLA-by-priority figures."""
    if by is not None and by not in DIMENSIONS:
        raise ValueError(f"cannot group by {by!r}: use one of {', '.join(DIMENSIONS)}")
    tickets = reports.tickets_in(connection, period.since, period.until)
    backlog = reports.backlog_at(connection, period.until)
    events = reports.events_in(
        connection, period.since, period.until, ("ticket.reopened", "sla.breached")
    )
    ratings = reports.ratings_in(connection, period.since, period.until)
    inputs = _Inputs(
        tickets,
        backlog,
        [event for event in events if event.kind == "ticket.reopened"],
        [event for event in events if event.kind == "sla.breached"],
        ratings,
    )
    known = {ticket.id: ticket for ticket in (*tickets, *backlog)}
    wanted = {rating.ticket_id for rating in ratings}
    if by is not None:
        wanted |= {event.ticket_id for event in events}
    missing = wanted - known.keys()
    if missing:
        known.update((ticket.id, ticket) for ticket in reports.tickets_by_id(connection, missing))
    measure = _Measure(policy)
    first_hours = []
    for ticket in tickets:
        if not ticket.merged and _within(ticket.first_response_at, period):
            first_hours.append(measure.first_response(ticket)[0] / 3_600_000_000)
    return Report(
        period=period,
        overall=_figures(inputs, period, measure),
        by=by,
        groups=_groups(inputs, by, known, period, measure) if by else (),
        agents=_agents(inputs, known, period, measure),
        days=_days(inputs, period),
        sla_by_priority=_sla_by_priority(tickets, period, measure, priorities),
        first_response_hours=tuple(first_hours),
    )
