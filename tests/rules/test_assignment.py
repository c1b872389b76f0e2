"""Assignment strategies: who is eligible, round robin's persisted position, least busy
with its tie-break, skills, and nobody at all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rules.assignment import Workload, least_busy, members, pick, round_robin, skills, unavailable
from rules.config import Agent, load_rules

# Monday 2025-11-17, 10:00 in Berlin.
NOW = datetime(2025, 11, 17, 9, 0, tzinfo=UTC)

CONFIG = load_rules(
    {
        "teams": [{"name": "support"}, {"name": "billing"}],
        "agents": [
            {"address": "ann@example.com", "teams": ["support"], "skills": ["printers"]},
            {"address": "ben@example.com", "teams": ["support", "billing"], "skills": ["billing"]},
            {"address": "cem@example.com", "teams": ["support"], "skills": ["billing", "printers"]},
            {"address": "dia@example.com", "teams": ["billing"], "skills": ["Billing"]},
        ],
    }
)
AGENTS = CONFIG.agents


def agent(address: str, **fields: object) -> Agent:
    return Agent.model_validate({"address": address, "teams": ["support"], **fields})


def test_members_in_file_order() -> None:
    assert [a.address for a in members(AGENTS, "support")] == [
        "ann@example.com",
        "ben@example.com",
        "cem@example.com",
    ]
    assert len(members(AGENTS, None)) == 4
    assert members(AGENTS, "nobody") == []


# --------------------------------------------------------------------------- eligibility


def test_inactive_agents_are_skipped() -> None:
    assert unavailable(agent("a@x.example", active=False), Workload(), NOW) == "inactive"


def test_agents_at_max_open_are_skipped() -> None:
    capped = agent("a@x.example", max_open=3)
    assert unavailable(capped, Workload(open_tickets=2), NOW) is None
    assert unavailable(capped, Workload(open_tickets=3), NOW) == ("has 3 open tickets (max_open 3)")


def test_working_hours_are_read_in_the_agents_zone() -> None:
    office = {"mon": "09:00-17:00"}
    berlin = agent("a@x.example", working_hours=office)
    new_york = agent("b@x.example", working_hours=office, timezone="America/New_York")
    assert unavailable(berlin, Workload(), NOW, "Europe/Berlin") is None  # 10:00 there
    assert unavailable(berlin, Workload(), NOW, "UTC") is None  # 09:00 there
    assert unavailable(berlin, Workload(), NOW, "Asia/Tokyo") == "outside working hours"
    assert unavailable(new_york, Workload(), NOW, "Europe/Berlin") == "outside working hours"
    assert unavailable(new_york, Workload(), NOW + timedelta(hours=6), "UTC") is None


# --------------------------------------------------------------------------- round robin


def test_round_robin_takes_turns_and_wraps() -> None:
    picks = []
    index = None
    for _ in range(4):
        result = round_robin(AGENTS, team="support", last_index=index, workloads={}, now=NOW)
        picks.append(result.agent)
        index = result.round_robin_index
    assert picks == [
        "ann@example.com",
        "ben@example.com",
        "cem@example.com",
        "ann@example.com",
    ]
    assert index == 0


def test_round_robin_skips_the_unavailable_and_keeps_order() -> None:
    loads = {"ben@example.com": Workload(open_tickets=5)}
    team = [
        agent("ann@example.com"),
        agent("ben@example.com", max_open=5),
        agent("cem@example.com"),
    ]
    result = round_robin(team, team="support", last_index=0, workloads=loads, now=NOW)
    assert result.agent == "cem@example.com"
    assert result.round_robin_index == 2
    assert result.skipped == (("ben@example.com", "has 5 open tickets (max_open 5)"),)


def test_round_robin_with_a_stale_index_starts_over() -> None:
    result = round_robin(AGENTS, team="billing", last_index=7, workloads={}, now=NOW)
    assert result.agent == "ben@example.com"
    assert result.round_robin_index == 0


def test_round_robin_with_nobody_keeps_the_index() -> None:
    team = [agent("a@x.example", active=False), agent("b@x.example", active=False)]
    result = round_robin(team, team="support", last_index=1, workloads={}, now=NOW)
    assert result.agent is None
    assert result.round_robin_index == 1
    assert "stays with the team" in result.reason
    assert round_robin([], team="x", last_index=None, workloads={}, now=NOW).agent is None


# --------------------------------------------------------------------------- least busy


def test_least_busy_picks_fewest_open_tickets() -> None:
    loads = {
        "ann@example.com": Workload(open_tickets=4),
        "ben@example.com": Workload(open_tickets=2),
        "cem@example.com": Workload(open_tickets=3),
    }
    assert least_busy(AGENTS, team="support", workloads=loads, now=NOW).agent == "ben@example.com"


def test_least_busy_breaks_ties_by_longest_since_last_assignment() -> None:
    loads = {
        "ann@example.com": Workload(2, NOW - timedelta(minutes=5)),
        "ben@example.com": Workload(2, NOW - timedelta(hours=3)),
        "cem@example.com": Workload(2, NOW - timedelta(hours=1)),
    }
    result = least_busy(AGENTS, team="support", workloads=loads, now=NOW)
    assert result.agent == "ben@example.com"
    assert result.reason.startswith("fewest open tickets (2), last assigned")


def test_least_busy_prefers_someone_never_assigned() -> None:
    loads = {
        "ann@example.com": Workload(1, NOW - timedelta(days=30)),
        "ben@example.com": Workload(1, NOW - timedelta(days=1)),
    }
    result = least_busy(AGENTS, team="support", workloads=loads, now=NOW)
    assert result.agent == "cem@example.com"  # no workload entry: idle, never assigned


def test_least_busy_then_file_order() -> None:
    assert least_busy(AGENTS, team="support", workloads={}, now=NOW).agent == "ann@example.com"


# --------------------------------------------------------------------------- skills


def test_skills_narrow_to_the_category_then_least_busy() -> None:
    loads = {"ben@example.com": Workload(3), "cem@example.com": Workload(1)}
    result = skills(AGENTS, team="support", category="Billing", workloads=loads, now=NOW)
    assert result.agent == "cem@example.com"
    assert ("ann@example.com", "no skill 'billing'") in result.skipped


def test_skills_without_a_match_or_category_pick_nobody() -> None:
    assert skills(AGENTS, team="support", category="legal", workloads={}, now=NOW).agent is None
    result = skills(AGENTS, team="support", category=None, workloads={}, now=NOW)
    assert result.agent is None
    assert result.reason == "the ticket has no category to match skills"


def test_skills_across_all_agents() -> None:
    loads = {"ben@example.com": Workload(1), "cem@example.com": Workload(1)}
    result = skills(AGENTS, team=None, category="billing", workloads=loads, now=NOW)
    assert result.agent == "dia@example.com"


# --------------------------------------------------------------------------- dispatch


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("round_robin", "ben@example.com"),
        ("least_busy", "cem@example.com"),
        ("skills", "cem@example.com"),
    ],
)
def test_pick_dispatches(strategy: str, expected: str) -> None:
    loads = {"ann@example.com": Workload(2), "ben@example.com": Workload(2)}
    result = pick(
        strategy,
        AGENTS,
        team="support",
        category="printers",
        last_index=0,
        workloads=loads,
        now=NOW,
    )
    assert result.agent == expected
    assert result.strategy == strategy


def test_pick_rejects_unknown_strategies() -> None:
    with pytest.raises(ValueError, match="unknown strategy"):
        pick("dice", AGENTS, team=None, now=NOW)
