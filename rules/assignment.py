"""Who gets a ticket: the ``round_robin``, ``least_busy`` and ``skills`` strategies.

Pure: the agents come from the configuration, their workload (open tickets, last
assignment) and the persisted round-robin position from the caller, ``now`` as an argument.
An agent who is inactive, at ``max_open``, or outside their working hours is skipped; with
nobody left the pick is None and the ticket stays with its team.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from rules.config import STRATEGIES, Agent


@dataclass(frozen=True, slots=True)
class Workload:
    """What the database knows of an agent's current work."""

    open_tickets: int = 0
    last_assigned_at: datetime | None = None


_IDLE = Workload()


@dataclass(frozen=True, slots=True)
class Pick:
    """A strategy's answer. ``agent`` is an address, or None when nobody is eligible.
    ``round_robin_index`` is the position to persist for the team (round robin only; the
    old one when nobody was picked). ``skipped`` says who was passed over and why."""

    strategy: str
    team: str | None
    agent: str | None
    reason: str
    round_robin_index: int | None = None
    skipped: tuple[tuple[str, str], ...] = ()


def members(agents: Sequence[Agent], team: str | None) -> list[Agent]:
    """The team's agents in file order; every agent when ``team`` is None."""
    return [agent for agent in agents if team is None or team in agent.teams]


def unavailable(
    agent: Agent, workload: Workload, now: datetime, default_tz: ZoneInfo | str = "UTC"
) -> str | None:
    """Why ``agent`` cannot take a ticket now, or None if they can."""
    if not agent.active:
        return "inactive"
    if agent.max_open is not None and workload.open_tickets >= agent.max_open:
        return f"has {workload.open_tickets} open tickets (max_open {agent.max_open})"
    if agent.working_hours is not None:
        tz = ZoneInfo(agent.timezone) if agent.timezone else _zone(default_tz)
        if not agent.working_hours.is_open(now, tz):
            return "outside working hours"
    return None


def _zone(tz: ZoneInfo | str) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


def _eligible(
    candidates: Sequence[Agent],
    workloads: Mapping[str, Workload],
    now: datetime,
    default_tz: ZoneInfo | str,
) -> tuple[list[Agent], list[tuple[str, str]]]:
    eligible = []
    skipped = []
    for agent in candidates:
        why = unavailable(agent, workloads.get(agent.address, _IDLE), now, default_tz)
        if why is None:
            eligible.append(agent)
        else:
            skipped.append((agent.address, why))
    return eligible, skipped


def round_robin(
    agents: Sequence[Agent],
    *,
    team: str | None,
    last_index: int | None,
    workloads: Mapping[str, Workload],
    now: datetime,
    default_tz: ZoneInfo | str = "UTC",
) -> Pick:
    """The next eligible team member after position ``last_index`` (in file order),
    wrapping around; the new index is that member's position."""
    team_members = members(agents, team)
    start = 0 if last_index is None else last_index + 1
    skipped = []
    for step in range(len(team_members)):
        index = (start + step) % len(team_members)
        agent = team_members[index]
        why = unavailable(agent, workloads.get(agent.address, _IDLE), now, default_tz)
        if why is None:
            return Pick(
                "round_robin",
                team,
                agent.address,
                f"next in turn (position {index} of {len(team_members)})",
                index,
                tuple(skipped),
            )
        skipped.append((agent.address, why))
    return Pick("round_robin", team, None, _nobody(team), last_index, tuple(skipped))


def least_busy(
    agents: Sequence[Agent],
    *,
    team: str | None,
    workloads: Mapping[str, Workload],
    now: datetime,
    default_tz: ZoneInfo | str = "UTC",
) -> Pick:
    """The eligible member with the fewest open tickets; among equals the one whose last
    assignment is longest ago (never assigned first), then file order."""
    eligible, skipped = _eligible(members(agents, team), workloads, now, default_tz)
    return _least_busy_of(eligible, "least_busy", team, workloads, tuple(skipped))


def skills(
    agents: Sequence[Agent],
    *,
    team: str | None,
    category: str | None,
    workloads: Mapping[str, Workload],
    now: datetime,
    default_tz: ZoneInfo | str = "UTC",
) -> Pick:
    """Eligible members whose skills include the ticket's category, then least busy."""
    if category is None:
        return Pick("skills", team, None, "the ticket has no category to match skills")
    wanted = category.casefold()
    eligible, skipped = _eligible(members(agents, team), workloads, now, default_tz)
    skilled = []
    for agent in eligible:
        if wanted in agent.skills:
            skilled.append(agent)
        else:
            skipped.append((agent.address, f"no skill {wanted!r}"))
    return _least_busy_of(skilled, "skills", team, workloads, tuple(skipped))


def _least_busy_of(
    eligible: Sequence[Agent],
    strategy: str,
    team: str | None,
    workloads: Mapping[str, Workload],
    skipped: tuple[tuple[str, str], ...],
) -> Pick:
    if not eligible:
        return Pick(strategy, team, None, _nobody(team), skipped=skipped)

    def key(item: tuple[int, Agent]) -> tuple[int, int, float, int]:
        position, agent = item
        load = workloads.get(agent.address, _IDLE)
        last = load.last_assigned_at
        return (
            load.open_tickets,
            0 if last is None else 1,
            0.0 if last is None else last.timestamp(),
            position,
        )

    _, chosen = min(enumerate(eligible), key=key)
    load = workloads.get(chosen.address, _IDLE)
    since = (
        "never assigned"
        if load.last_assigned_at is None
        else f"last assigned {load.last_assigned_at.isoformat()}"
    )
    return Pick(
        strategy,
        team,
        chosen.address,
        f"fewest open tickets ({load.open_tickets}), {since}",
        skipped=skipped,
    )


def _nobody(team: str | None) -> str:
    where = f"team {team!r}" if team else "the agents"
    return f"nobody in {where} is available; the ticket stays with the team"


def pick(
    strategy: str,
    agents: Sequence[Agent],
    *,
    team: str | None,
    category: str | None = None,
    last_index: int | None = None,
    workloads: Mapping[str, Workload] | None = None,
    now: datetime,
    default_tz: ZoneInfo | str = "UTC",
) -> Pick:
    """Run the strategy named ``strategy`` (``round_robin``, ``least_busy``, ``skills``)."""
    loads = workloads or {}
    if strategy == "round_robin":
        return round_robin(
            agents,
            team=team,
            last_index=last_index,
            workloads=loads,
            now=now,
            default_tz=default_tz,
        )
    if strategy == "least_busy":
        return least_busy(agents, team=team, workloads=loads, now=now, default_tz=default_tz)
    if strategy == "skills":
        return skills(
            agents, team=team, category=category, workloads=loads, now=now, default_tz=default_tz
        )
    raise ValueError(f"unknown strategy {strategy!r}: use one of {', '.join(STRATEGIES)}")
