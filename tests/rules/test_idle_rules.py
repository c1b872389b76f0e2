"""Rules on idle tickets: ``when.event = "ticket.idle"`` with ``idle_for``, wall or business
time; which rules are due (``rules.idle``), once per idle period; the event fires only the
rule it is due for, and only rules that name it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from rules.businesstime import BusinessCalendar, WeeklyHours
from rules.config import RulesConfig, format_rules_error, load_rules
from rules.engine import evaluate, explain
from rules.idle import fired_after, idle_due, idle_key
from rules.model import Event, EventKind, TicketView

OFFICE = {day: "09:00-17:00" for day in ("mon", "tue", "wed", "thu", "fri")}
CALENDAR = BusinessCalendar(WeeklyHours.parse(OFFICE), "UTC")
FRIDAY_3PM = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)

TICKET = TicketView(
    number=1000,
    subject="Printer",
    requester="ada@customer.example",
    mailbox="support@example.com",
    status="open",
    priority="medium",
)


def idle_rule(name: str = "nudge", idle_for: Any = "48h", **more: Any) -> dict[str, Any]:
    return {
        "name": name,
        "when": {"event": "ticket.idle", **more.pop("when", {})},
        "idle_for": idle_for,
        "then": {"tags": [name]},
        **more,
    }


def policy(*entries: dict[str, Any]) -> RulesConfig:
    return load_rules({"rules": list(entries)})


def error_of(*entries: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as raised:
        policy(*entries)
    return format_rules_error(raised.value)


# --------------------------------------------------------------------------- configuration


def test_idle_for_is_wall_time_as_a_string_and_business_time_as_a_table() -> None:
    wall, business = policy(
        idle_rule("wall", "48h"),
        idle_rule("business", {"after": "2d", "business_hours": True}),
    ).rules
    assert wall.idle_for is not None and business.idle_for is not None
    assert (wall.idle_for.after, wall.idle_for.business_hours) == (timedelta(hours=48), False)
    assert (business.idle_for.after, business.idle_for.business_hours) == (
        timedelta(hours=48),
        True,
    )
    assert wall.idle_for.describe() == "48h"
    assert business.idle_for.describe() == "48h business"
    assert policy(idle_rule(idle_for="90m")).rules[0].idle_for.describe() == "1h30m"  # type: ignore[union-attr]


def test_an_idle_rule_without_idle_for_names_the_rule_and_key() -> None:
    entry = idle_rule()
    del entry["idle_for"]
    message = error_of({"name": "first", "then": {"tags": ["x"]}}, entry)
    assert message.startswith("rules[1].idle_for: rule 'nudge' fires on ticket.idle: it needs ")
    assert 'idle_for = "48h"' in message


def test_a_disabled_idle_rule_may_wait_for_its_idle_for() -> None:
    entry = idle_rule(enabled=False)
    del entry["idle_for"]
    assert policy(entry).idle_rules == ()


@pytest.mark.parametrize(
    ("idle_for", "expected"),
    [
        ("soon", "rules[0].idle_for: rule 'nudge': expected a duration like '90m', '4h'"),
        ("0h", "rules[0].idle_for: rule 'nudge': a duration must be longer than zero"),
        ({"after": "2 fortnights"}, "rules[0].idle_for.after: rule 'nudge': expected a dur"),
        ({"after": "4h", "business": True}, "rules[0].idle_for.business: unknown key"),
        ({"business_hours": True}, "rules[0].idle_for.after: required key is missing"),
        (48, "rules[0].idle_for: rule 'nudge': "),
    ],
)
def test_a_bad_idle_for_names_the_rule_and_key(idle_for: Any, expected: str) -> None:
    assert error_of(idle_rule(idle_for=idle_for)).startswith(expected)


@pytest.mark.parametrize("event", ["ticket.created", "*", ["sla.breached", "ticket.rated"]])
def test_idle_for_on_a_rule_that_does_not_fire_on_idle_is_an_error(event: Any) -> None:
    message = error_of(idle_rule(when={"event": event}))
    assert message.startswith(
        "rules[0].idle_for: rule 'nudge' has idle_for but does not fire on ticket.idle"
    )


def test_idle_rules_are_the_active_rules_naming_ticket_idle_in_file_order() -> None:
    configured = policy(
        {"name": "every", "when": {"event": "*"}, "then": {"tags": ["seen"]}},
        idle_rule("later", "72h"),
        idle_rule("off", "1h", enabled=False),
        idle_rule("sooner", "24h"),
    )
    assert [rule.name for rule in configured.idle_rules] == ["later", "sooner"]


def test_status_condition_takes_ticket_statuses() -> None:
    configured = policy(idle_rule(when={"status": ["New", "open"]}))
    assert configured.rules[0].when.status == ("new", "open")
    assert error_of(idle_rule(when={"status": "waiting"})).startswith(
        "rules[0].when.status: unknown status 'waiting': use one of new, open, pending"
    )


# --------------------------------------------------------------------------- evaluation


def idle_event(rule: str, since: datetime = FRIDAY_3PM) -> Event:
    return Event(EventKind.IDLE, rule=rule, idle_since=since)


def test_the_idle_event_runs_only_the_rule_it_is_due_for() -> None:
    configured = policy(
        {"name": "every", "when": {"event": "*"}, "then": {"tags": ["seen"]}},
        idle_rule("sooner", "24h"),
        idle_rule("later", "72h"),
    )
    fired = evaluate(configured.active_rules, TICKET, idle_event("later"))
    assert [(action.rule, action.value) for action in fired] == [("later", ("later",))]
    assert "no message since 2026-03-06 15:00 UTC (idle_for 72h)" in fired[0].reasons
    outcomes = {o.rule: o for o in explain(configured.active_rules, TICKET, idle_event("later"))}
    assert outcomes["sooner"].reasons == ("ticket.idle is due for rule 'later' only",)
    assert not outcomes["every"].matched  # "*" does not mean ticket.idle
    # Mail events never run an idle rule.
    created = evaluate(configured.active_rules, TICKET, Event(EventKind.CREATED))
    assert [action.rule for action in created] == ["every"]


@pytest.mark.parametrize(("status", "fires"), [("open", True), ("new", True), ("pending", False)])
def test_an_idle_rule_can_leave_tickets_waiting_on_the_customer_alone(
    status: str, fires: bool
) -> None:
    configured = policy(idle_rule(when={"status": ["new", "open"]}))
    ticket = TicketView(number=1, status=status)
    assert bool(evaluate(configured.active_rules, ticket, idle_event("nudge"))) is fires


# --------------------------------------------------------------------------- what is due


def due_names(configured: RulesConfig, now: datetime, fired: dict[str, str] | None = None):
    return [r.name for r in idle_due(configured.idle_rules, FRIDAY_3PM, now, CALENDAR, fired)]


def test_wall_time_runs_over_the_weekend_business_time_waits_for_monday() -> None:
    configured = policy(
        idle_rule("wall", "4h"), idle_rule("business", {"after": "4h", "business_hours": True})
    )
    assert due_names(configured, FRIDAY_3PM + timedelta(hours=3, minutes=59)) == []
    assert due_names(configured, FRIDAY_3PM + timedelta(hours=4)) == ["wall"]
    sunday_night = datetime(2026, 3, 8, 23, 59, tzinfo=UTC)
    assert due_names(configured, sunday_night) == ["wall"]
    # Two business hours on Friday, two more on Monday morning.
    assert due_names(configured, datetime(2026, 3, 9, 10, 59, tzinfo=UTC)) == ["wall"]
    assert due_names(configured, datetime(2026, 3, 9, 11, 0, tzinfo=UTC)) == ["wall", "business"]


def test_a_rule_fires_once_per_idle_period() -> None:
    configured = policy(idle_rule("nudge", "4h"))
    later = FRIDAY_3PM + timedelta(hours=5)
    fired = fired_after(None, FRIDAY_3PM, configured.idle_rules)
    assert fired == {"nudge": idle_key(FRIDAY_3PM)} == {"nudge": "2026-03-06T15:00:00+00:00"}
    assert due_names(configured, later, fired) == []
    # A new message starts a new period: the rule is due again 4 hours after it.
    reply = FRIDAY_3PM + timedelta(hours=6)
    rules = configured.idle_rules
    assert idle_due(rules, reply, reply + timedelta(hours=3), CALENDAR, fired) == []
    assert idle_due(rules, reply, reply + timedelta(hours=4), CALENDAR, fired) == list(rules)
    # Firing in the new period forgets the old one.
    other = {"gone": "2026-01-01T00:00:00+00:00", "nudge": idle_key(FRIDAY_3PM)}
    assert fired_after(other, reply, rules) == {"nudge": idle_key(reply)}


def test_a_ticket_without_a_last_message_is_never_idle() -> None:
    configured = policy(idle_rule("nudge", "1m"))
    assert idle_due(configured.idle_rules, None, FRIDAY_3PM, CALENDAR, None) == []
