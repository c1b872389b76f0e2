"""``ticket.idle``: which rules are due on a ticket that has had no message for a while.

Pure: the ticket's last message time, the rules, the calendar and ``now`` in; rules out.
Each rule with ``idle_for`` is its own timer, started by the ticket's last message and
fired once per idle period: what already fired comes in as ``fired`` (rule name → the
idle period's start, :func:`idle_key`), so a sweep that runs twice fires nothing twice, and
a new message, which starts a new period, lets the rule fire again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from rules.businesstime import BusinessCalendar
from rules.config import Rule


def idle_key(since: datetime) -> str:
    """How an idle period is written down: its start (the last message), ISO in UTC."""
    return since.astimezone(UTC).isoformat()


def idle_due(
    rules: Iterable[Rule],
    since: datetime | None,
    now: datetime,
    calendar: BusinessCalendar,
    fired: Mapping[str, str] | None,
) -> list[Rule]:
    """The rules whose ``idle_for`` has passed at ``now`` since the last message at
    ``since`` and that have not fired in this idle period, in the order given."""
    if since is None:
        return []
    key = idle_key(since)
    done = fired or {}
    return [
        rule
        for rule in rules
        if rule.idle_for is not None
        and done.get(rule.name) != key
        and rule.idle_for.due(since, calendar) <= now
    ]


def fired_after(
    fired: Mapping[str, str] | None, since: datetime, rules: Iterable[Rule]
) -> dict[str, str]:
    """What to store once ``rules`` fired in the period that began at ``since``: the
    earlier periods' entries are dropped, so the mapping never grows past the rules."""
    key = idle_key(since)
    kept = {name: value for name, value in (fired or {}).items() if value == key}
    kept.update((rule.name, key) for rule in rules)
    return kept
