"""SLA state of a ticket: deadlines, elapsed business time, on track / at risk / breached,
and which warnings and breaches are due.

Pure: the ticket's times, the policy, the calendar and ``now`` in; values out. Nothing is
remembered between calls: what has already fired comes in as ``fired``, so a sweep that
runs twice, or after a restart, fires nothing twice.

The clock of a target runs in business time from ``created_at`` and stops while the ticket
is paused (pending, waiting on the customer). A target is *breached* once its whole time has
elapsed (at the deadline itself, not a minute later) and *at risk* from ``warn_at`` of it; a
first response or resolution before the deadline *meets* it, one at or after the deadline
leaves it breached; resolving a ticket also ends a first-response clock still running.
Each target's warning and breach are due once: at their instant, or at the first sweep
after it.

Two entry points: :func:`sla_status` computes everything (for ``maild sla show`` and for
storing deadlines); :func:`due_events` answers only "what fires now?" without building
datetimes, for the sweep over every open ticket.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple, Protocol

from rules.businesstime import BusinessCalendar, from_us, to_us

_ONE_US = timedelta(microseconds=1)


class SlaState(StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    MET = "met"


class Target(StrEnum):
    FIRST_RESPONSE = "first_response"
    RESOLUTION = "resolution"


class Kind(StrEnum):
    WARNING = "warning"
    BREACH = "breach"

    @property
    def event(self) -> str:
        """The rules event it fires: ``sla.warning`` or ``sla.breached``."""
        return "sla.warning" if self is Kind.WARNING else "sla.breached"


FiredKey = tuple[str, str]
"""``(target, kind)``, e.g. ``("first_response", "warning")``: what has already fired."""


class SlaTicket(Protocol):
    """What the SLA code reads of a ticket. :class:`rules.model.TicketView` has it, and so
    does a database row with these columns, which spares a sweep building views."""

    @property
    def priority(self) -> str: ...
    @property
    def category(self) -> str | None: ...
    @property
    def vip(self) -> bool: ...
    @property
    def created_at(self) -> datetime | None: ...
    @property
    def first_response_at(self) -> datetime | None: ...
    @property
    def resolved_at(self) -> datetime | None: ...
    @property
    def paused(self) -> Sequence[tuple[datetime, datetime | None]]: ...


@dataclass(frozen=True, slots=True)
class SlaTargets:
    """The targets that apply to one ticket; None means no target."""

    first_response: timedelta | None = None
    resolution: timedelta | None = None


class _Goal(NamedTuple):
    target: Target
    goal: timedelta
    goal_us: int
    warn_us: int
    """0: no warning."""
    warn_key: FiredKey
    breach_key: FiredKey
    first_response: bool


def _plan(targets: SlaTargets, warn_at: float) -> tuple[_Goal, ...]:
    goals = []
    for target, goal in (
        (Target.FIRST_RESPONSE, targets.first_response),
        (Target.RESOLUTION, targets.resolution),
    ):
        if goal is None:
            continue
        goal_us = goal // _ONE_US
        goals.append(
            _Goal(
                target=target,
                goal=goal,
                goal_us=goal_us,
                warn_us=max(int(goal_us * warn_at), 1) if warn_at else 0,
                warn_key=(target.value, Kind.WARNING.value),
                breach_key=(target.value, Kind.BREACH.value),
                first_response=target is Target.FIRST_RESPONSE,
            )
        )
    return tuple(goals)


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """Targets per ``(priority, category, vip)`` (category None: any other) and the share
    of a target at which it is at risk (0: never warn). Built by ``SlaConfig.policy()``."""

    table: Mapping[tuple[str, str | None, bool], SlaTargets]
    warn_at: float = 0.75
    _plans: dict[tuple[str, str | None, bool], tuple[_Goal, ...]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if not 0 <= self.warn_at < 1:
            raise ValueError(f"warn_at must be at least 0 and below 1, got {self.warn_at}")
        plans = {key: _plan(targets, self.warn_at) for key, targets in self.table.items()}
        object.__setattr__(self, "_plans", plans)

    def targets_for(self, priority: str, category: str | None, vip: bool) -> SlaTargets:
        key_category = None if category is None else category.casefold()
        found = self.table.get((priority, key_category, vip))
        if found is None:
            found = self.table.get((priority, None, vip), _NO_TARGETS)
        return found

    def _plan_for(self, ticket: SlaTicket) -> tuple[_Goal, ...]:
        category = ticket.category
        plans = self._plans
        if category is not None:
            found = plans.get((ticket.priority, category.casefold(), ticket.vip))
            if found is not None:
                return found
        return plans.get((ticket.priority, None, ticket.vip), ())


_NO_TARGETS = SlaTargets()


@dataclass(frozen=True, slots=True)
class TargetStatus:
    """One target's state. The instants are worked out when read, so computing the state
    of many tickets costs little more than the comparisons."""

    target: Target
    goal: timedelta
    state: SlaState
    met_at: datetime | None
    spent_us: int
    """Business microseconds counted against the goal, up to ``met_at`` or ``now``."""
    calendar: BusinessCalendar = field(repr=False, compare=False)
    deadline_reading: int | None = field(repr=False)
    warn_reading: int | None = field(repr=False)

    @property
    def elapsed(self) -> timedelta:
        return timedelta(microseconds=self.spent_us)

    @property
    def remaining(self) -> timedelta:
        """Business time left; negative once breached."""
        return self.goal - self.elapsed

    @property
    def deadline(self) -> datetime | None:
        """When the target breaches; None while the ticket is paused before it (the
        deadline moves on by the pause when the ticket resumes)."""
        return _instant(self.calendar, self.deadline_reading)

    @property
    def warn_at(self) -> datetime | None:
        """When the target is at risk; None without warnings or while paused before it."""
        return _instant(self.calendar, self.warn_reading)


@dataclass(frozen=True, slots=True)
class Due:
    """A warning or breach to fire now; ``at`` is when it became due."""

    target: Target
    kind: Kind
    at: datetime

    @property
    def key(self) -> FiredKey:
        return (self.target.value, self.kind.value)

    @property
    def event(self) -> str:
        return self.kind.event


@dataclass(frozen=True, slots=True)
class SlaStatus:
    state: SlaState
    """The worst target: breached, else at risk, else on track; met when all are met.
    A ticket without targets is on track."""
    paused: bool
    paused_us: int
    targets: tuple[TargetStatus, ...]
    due: tuple[Due, ...]
    calendar: BusinessCalendar = field(repr=False, compare=False)
    next_check_reading: int | None = field(repr=False)

    @property
    def paused_for(self) -> timedelta:
        """Business time the clock has stood still so far."""
        return timedelta(microseconds=self.paused_us)

    @property
    def next_check_at(self) -> datetime | None:
        """The next instant a warning or breach falls due (None: none will, or not before
        the ticket resumes). A sweep may leave the ticket alone until then."""
        return _instant(self.calendar, self.next_check_reading)

    def target(self, name: Target | str) -> TargetStatus | None:
        for status in self.targets:
            if status.target == name:
                return status
        return None


class _Clock:
    """One ticket's SLA clock in business-clock readings (see ``BusinessCalendar.clock``):
    it starts at ``start`` and stands still during ``pauses`` (merged, after ``start``;
    an open one, ending None, is always last)."""

    __slots__ = ("pauses", "start")

    def __init__(self, start: int, pauses: Sequence[tuple[int, int | None]]) -> None:
        self.start = start
        self.pauses = pauses

    def running(self, reading: int) -> int:
        """Business time on the SLA clock at the instant whose reading is ``reading``."""
        total = reading - self.start
        for low, high in self.pauses:
            if low >= reading:
                break
            total -= (reading if high is None else min(high, reading)) - low
        return max(total, 0)

    def reading_after(self, spent: int) -> int | None:
        """The business-clock reading at which ``spent`` has run; None if a pause that
        has not ended comes first."""
        reading = self.start + spent
        for low, high in self.pauses:
            if low >= reading:
                break
            if high is None:
                return None
            reading += high - low
        return reading

    @property
    def paused_now(self) -> bool:
        return bool(self.pauses) and self.pauses[-1][1] is None


def _clock(
    calendar: BusinessCalendar,
    created_at: datetime | None,
    paused: Sequence[tuple[datetime, datetime | None]],
) -> _Clock:
    if created_at is None:
        raise ValueError("an SLA needs the ticket's created_at")
    begin = calendar.clock(to_us(created_at))
    if not paused:
        return _Clock(begin, ())
    closed: list[tuple[int, int]] = []
    open_from: int | None = None
    for low_at, high_at in sorted(paused, key=lambda pause: pause[0]):
        low = max(calendar.clock(to_us(low_at)), begin)
        if high_at is None:
            open_from = closed.pop()[0] if closed and low <= closed[-1][1] else low
            break
        high = calendar.clock(to_us(high_at))
        if high <= low:
            continue
        if closed and low <= closed[-1][1]:
            closed[-1] = (closed[-1][0], max(closed[-1][1], high))
        else:
            closed.append((low, high))
    spans: list[tuple[int, int | None]] = list(closed)
    if open_from is not None:
        spans.append((open_from, None))
    return _Clock(begin, spans)


def _met_at(ticket: SlaTicket, goal: _Goal) -> datetime | None:
    """When the target was met. Resolving a ticket that never got a first response ends
    that clock too: nothing is left to respond to."""
    if goal.first_response and ticket.first_response_at is None:
        return ticket.resolved_at
    return ticket.first_response_at if goal.first_response else ticket.resolved_at


def _at(calendar: BusinessCalendar, reading: int) -> datetime:
    return from_us(calendar.at_clock(reading))


def _instant(calendar: BusinessCalendar, reading: int | None) -> datetime | None:
    return None if reading is None else from_us(calendar.at_clock(reading))


_ON_TRACK, _AT_RISK, _BREACHED, _MET = (
    SlaState.ON_TRACK,
    SlaState.AT_RISK,
    SlaState.BREACHED,
    SlaState.MET,
)
_SEVERITY = {_MET: 0, _ON_TRACK: 0, _AT_RISK: 1, _BREACHED: 2}
_BY_SEVERITY = (_ON_TRACK, _AT_RISK, _BREACHED)


def sla_status(
    ticket: SlaTicket,
    policy: SlaPolicy,
    calendar: BusinessCalendar,
    now: datetime,
    fired: Collection[FiredKey] = frozenset(),
    *,
    now_reading: int | None = None,
) -> SlaStatus:
    """Everything about ``ticket``'s SLA at ``now``. ``now_reading`` as for
    :func:`due_events`."""
    if now_reading is None:
        now_reading = calendar.clock(to_us(now))
    clock = _clock(calendar, ticket.created_at, ticket.paused)
    statuses = []
    due: list[Due] = []
    upcoming: list[int] = []
    worst = 0
    for goal in policy._plan_for(ticket):
        met_at = _met_at(ticket, goal)
        at_reading = now_reading if met_at is None else calendar.clock(to_us(met_at))
        spent = clock.running(at_reading)
        deadline_reading = clock.reading_after(goal.goal_us)
        warn_reading = clock.reading_after(goal.warn_us) if goal.warn_us else None
        if spent >= goal.goal_us:
            state = _BREACHED
        elif met_at is not None:
            state = _MET
        elif goal.warn_us and spent >= goal.warn_us:
            state = _AT_RISK
        else:
            state = _ON_TRACK
        worst = max(worst, _SEVERITY[state])
        statuses.append(
            TargetStatus(
                goal.target,
                goal.goal,
                state,
                met_at,
                spent,
                calendar,
                deadline_reading,
                warn_reading,
            )
        )
        if met_at is not None:
            continue
        if goal.warn_us and goal.warn_key not in fired:
            if warn_reading is not None and spent >= goal.warn_us:
                due.append(Due(goal.target, Kind.WARNING, _at(calendar, warn_reading)))
            elif warn_reading is not None:
                upcoming.append(warn_reading)
        if goal.breach_key not in fired:
            if deadline_reading is not None and spent >= goal.goal_us:
                due.append(Due(goal.target, Kind.BREACH, _at(calendar, deadline_reading)))
            elif deadline_reading is not None:
                upcoming.append(deadline_reading)
    if worst == 0 and statuses and all(status.state is _MET for status in statuses):
        overall = _MET
    else:
        overall = _BY_SEVERITY[worst]
    paused = now_reading - clock.start - clock.running(now_reading)
    return SlaStatus(
        overall,
        clock.paused_now,
        max(paused, 0),
        tuple(statuses),
        tuple(due),
        calendar,
        min(upcoming) if upcoming else None,
    )


def due_events(
    ticket: SlaTicket,
    policy: SlaPolicy,
    calendar: BusinessCalendar,
    now: datetime,
    fired: Collection[FiredKey] = frozenset(),
    *,
    now_reading: int | None = None,
) -> list[Due]:
    """The warnings and breaches of ``ticket`` due at ``now`` and not yet ``fired``: the
    same answer as ``sla_status(...).due``, at a fraction of the cost, for the sweep.

    A sweep over many tickets passes ``now_reading=calendar.clock(to_us(now))`` once.
    """
    due: list[Due] = []
    spent = -1
    clock: _Clock | None = None
    for goal in policy._plan_for(ticket):
        if _met_at(ticket, goal) is not None:
            continue
        warn = goal.warn_us and goal.warn_key not in fired
        breach = goal.breach_key not in fired
        if not (warn or breach):
            continue
        if spent < 0:
            if now_reading is None:
                now_reading = calendar.clock(to_us(now))
            if ticket.paused:
                spent = _clock(calendar, ticket.created_at, ticket.paused).running(now_reading)
            elif ticket.created_at is None:
                raise ValueError("an SLA needs the ticket's created_at")
            else:  # the common case, without building a clock
                spent = max(now_reading - calendar.clock(to_us(ticket.created_at)), 0)
        for kind, wanted, threshold in (
            (Kind.WARNING, warn, goal.warn_us),
            (Kind.BREACH, breach, goal.goal_us),
        ):
            if wanted and spent >= threshold:
                if clock is None:
                    clock = _clock(calendar, ticket.created_at, ticket.paused)
                reading = clock.reading_after(threshold)
                assert reading is not None  # it has run that long: no open pause came first
                due.append(Due(goal.target, kind, _at(calendar, reading)))
    return due
