"""Escalation tiers: one step up, straight to a named tier, never down, and the priority
raise that comes with a tier."""

from __future__ import annotations

import pytest

from rules.config import Tier, load_rules
from rules.escalation import escalation_target, next_tier, raised_priority

PRIORITIES = ("urgent", "high", "medium", "low")
TIERS = load_rules(
    {
        "teams": [{"name": "support"}, {"name": "senior"}, {"name": "security"}],
        "escalation": {
            "tiers": [
                {"name": "L1", "team": "support"},
                {"name": "L2", "team": "senior", "raise_priority": True},
                {"name": "L3", "addresses": ["cto@example.com"]},
                {"name": "L4", "team": "security", "raise_priority": "urgent"},
            ]
        },
    }
).escalation.tiers


def names(tier: Tier | None) -> str | None:
    return None if tier is None else tier.name


@pytest.mark.parametrize(
    ("current", "expected"),
    [(None, "L1"), ("L1", "L2"), ("L2", "L3"), ("L3", "L4"), ("L4", None), ("gone", "L1")],
)
def test_next_tier(current: str | None, expected: str | None) -> None:
    assert names(next_tier(TIERS, current)) == expected


def test_no_tiers_no_escalation() -> None:
    assert next_tier((), None) is None


@pytest.mark.parametrize(
    ("current", "to", "expected"),
    [
        (None, "L4", "L4"),
        ("L1", "L2", "L2"),
        ("L2", "L2", None),  # already there
        ("L4", "L2", None),  # never down
        ("L2", None, "L3"),
    ],
)
def test_escalation_target(current: str | None, to: str | None, expected: str | None) -> None:
    assert names(escalation_target(TIERS, current, to)) == expected


def test_escalation_to_an_unknown_tier_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown tier 'L9'"):
        escalation_target(TIERS, None, "L9")


@pytest.mark.parametrize(
    ("tier", "current", "expected"),
    [
        ("L1", "low", "low"),  # no raise
        ("L2", "low", "medium"),  # one step
        ("L2", "urgent", "urgent"),  # already the top
        ("L4", "low", "urgent"),  # at least urgent
        ("L4", "urgent", "urgent"),
    ],
)
def test_raised_priority(tier: str, current: str, expected: str) -> None:
    by_name = {t.name: t for t in TIERS}
    assert raised_priority(PRIORITIES, current, by_name[tier]) == expected


def test_raise_never_lowers() -> None:
    at_least_high = Tier(name="X", addresses=("a@b.example",), raise_priority="high")
    assert raised_priority(PRIORITIES, "urgent", at_least_high) == "urgent"
    assert raised_priority(PRIORITIES, "low", at_least_high) == "high"
