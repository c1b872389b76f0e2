"""Escalation tiers: where a ticket goes when it breaches or a rule escalates it.

Pure. A ticket starts below the first tier (``tier`` None); each escalation moves it one
tier up in file order, a rule's ``escalate = "L4"`` straight to that tier. A ticket never
moves down, and a ticket at the top tier has nowhere to go (None). A tier name that is no
longer configured counts as below the first tier.
"""

from __future__ import annotations

from collections.abc import Sequence

from rules.config import Tier


def _position(tiers: Sequence[Tier], current: str | None) -> int:
    """Index of ``current``; -1 below the first tier."""
    for index, tier in enumerate(tiers):
        if tier.name == current:
            return index
    return -1


def next_tier(tiers: Sequence[Tier], current: str | None) -> Tier | None:
    """The tier above ``current``; None at the top or without tiers."""
    position = _position(tiers, current) + 1
    return tiers[position] if position < len(tiers) else None


def escalation_target(
    tiers: Sequence[Tier], current: str | None, to: str | None = None
) -> Tier | None:
    """Where an escalation takes the ticket: one tier up, or tier ``to`` if that is above
    ``current``. None when it would not move the ticket up."""
    if to is None:
        return next_tier(tiers, current)
    target = _position(tiers, to)
    if target < 0:
        raise ValueError(f"unknown tier {to!r}")
    return tiers[target] if target > _position(tiers, current) else None


def raised_priority(priorities: Sequence[str], current: str, tier: Tier) -> str:
    """The priority after reaching ``tier``: one step up (``raise_priority = true``), at
    least the named one (``raise_priority = "high"``), or unchanged. ``priorities`` are
    highest first; the priority never goes down."""
    if tier.raise_priority is False:
        return current
    if current not in priorities:
        return current if tier.raise_priority is True else str(tier.raise_priority)
    position = priorities.index(current)
    if tier.raise_priority is True:
        return priorities[max(position - 1, 0)]
    wanted = priorities.index(str(tier.raise_priority))
    return priorities[min(position, wanted)]
