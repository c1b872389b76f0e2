"""The rules half of the TOML file: what it accepts, and errors that name the key path
and the bad value."""

from __future__ import annotations

import tomllib
from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from rules.config import (
    AssignSpec,
    NotifySpec,
    RulesConfig,
    format_rules_error,
    load_rules,
    parse_duration,
)


def errors_of(text: str, priorities: tuple[str, ...] | None = None) -> list[str]:
    data = tomllib.loads(text)
    with pytest.raises(ValidationError) as caught:
        if priorities is None:
            load_rules(data)
        else:
            load_rules(data, priorities)
    return format_rules_error(caught.value).splitlines()


def error_of(text: str) -> str:
    (line,) = errors_of(text)
    return line


RULE = '[[rules]]\nname = "{name}"\n'


def nth_rule(index: int, body: str) -> str:
    """``index`` harmless rules, then one with ``body``: the bad one is rules[index]."""
    return (
        "".join(RULE.format(name=f"ok{i}") for i in range(index)) + RULE.format(name="bad") + body
    )


# --------------------------------------------------------------------------- errors


def test_invalid_regex_names_rule_index_key_and_pattern() -> None:
    assert error_of(nth_rule(2, 'when.subject = "("\n')) == (
        "rules[2].when.subject: invalid regular expression '(': "
        "missing ), unterminated subpattern at position 0"
    )


def test_invalid_regex_in_a_header_condition() -> None:
    line = error_of(nth_rule(1, '[rules.when]\n"header.X-Priority" = "[1"\n'))
    assert line == (
        "rules[1].when.header.X-Priority: invalid regular expression '[1': "
        "unterminated character set at position 0"
    )


def test_invalid_regex_inside_any() -> None:
    line = error_of(
        nth_rule(0, 'when.any = [{ subject = "ok" }, { body = "a{1" }, { body = "*" }]\n')
    )
    assert line.startswith(
        "rules[0].when.any[2].body: invalid regular expression '*': nothing to repeat"
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("when.subject = []\n", "rules[0].when.subject: an empty keyword list never matches"),
        (
            'when.subject = ["ok", ""]\n',
            "rules[0].when.subject: a keyword must be a non-empty string, got ''",
        ),
        (
            'when.from = "bob smith@example.com"\n',
            "rules[0].when.from: expected an address or domain pattern, got 'bob "
            "smith@example.com'",
        ),
        (
            'when.priority = "critical"\n',
            "rules[0].when.priority: unknown priority 'critical': use one of urgent, high, "
            "medium, low",
        ),
        (
            'when.event = "ticket.deleted"\n',
            "rules[0].when.event: unknown event 'ticket.deleted': use '*' or one of "
            "ticket.created, ticket.customer_replied, ticket.agent_replied, sla.warning, "
            "sla.breached, ticket.idle, ticket.rated",
        ),
        (
            'when.vip = "maybe"\n',
            "rules[0].when.vip: Input should be a valid boolean, unable to interpret input (got "
            "'maybe')",
        ),
        ("when.any = []\n", "rules[0].when.any: 'any' needs at least one alternative"),
        ('when.sender = "x"\n', "rules[0].when.sender: unknown key (got 'x')"),
        (
            'then.priority = "asap"\n',
            "rules[0].then.priority: unknown priority 'asap': use one of urgent, high, medium, low",
        ),
        (
            'then.tags = ["has space"]\n',
            "rules[0].then.tags: expected a name of letters, digits, '_', '.', '+' or '-', got "
            "'has space'",
        ),
        ('then.assign = "magic"\n', "rules[0].then.assign: unknown team 'magic'"),
        (
            'then.assign = { strategy = "random" }\n',
            "rules[0].then.assign.strategy: unknown strategy 'random': use one of round_robin, "
            "least_busy, skills",
        ),
        (
            'then.assign = "bob@example.com"\n',
            "rules[0].then.assign: unknown agent 'bob@example.com'",
        ),
        ('then.escalate = "L9"\n', "rules[0].then.escalate: unknown tier 'L9'"),
        (
            "then.escalate = true\n",
            "rules[0].then.escalate: no [[escalation.tiers]] are configured",
        ),
        (
            'then.notify = ["ops"]\n',
            "rules[0].then.notify: unknown team 'ops': use an address, a team or one of assignee, "
            "team, requester",
        ),
        (
            'then.notify = { to = "a@b.example", template = "../x" }\n',
            "rules[0].then.notify.template: expected a name of letters, digits, '_', '.', '+' or "
            "'-', got '../x'",
        ),
        ("then.stopp = true\n", "rules[0].then.stopp: unknown key (got True)"),
    ],
)
def test_rule_errors(body: str, expected: str) -> None:
    assert error_of(nth_rule(0, body)) == expected


def test_every_problem_is_reported() -> None:
    lines = errors_of(
        nth_rule(0, 'when.subject = "("\nwhen.body = "["\n')
        + '[sla]\nwarn_at = 1.5\ntimezone = "Mars/Olympus"\n'
    )
    assert lines == [
        "rules[0].when.subject: invalid regular expression '(': missing ), unterminated "
        "subpattern at position 0",
        "rules[0].when.body: invalid regular expression '[': unterminated character set at "
        "position 0",
        "sla.timezone: unknown timezone 'Mars/Olympus': use an IANA name like 'Europe/Berlin'",
        "sla.warn_at: Input should be less than 1 (got 1.5)",
    ]


def test_a_rule_needs_a_unique_name() -> None:
    assert error_of('[[rules]]\nthen.tags = ["x"]\n') == "rules[0].name: required key is missing"
    assert error_of(RULE.format(name="a") + RULE.format(name="a")) == (
        "rules[1].name: rule 'a' is listed twice"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[sla.policies.urgent]\nfirst_response = "1 fortnight"\n',
            "sla.policies.urgent.first_response: expected a duration like '90m', '4h', '3d' or "
            "'1w', got '1 fortnight'",
        ),
        (
            "[sla.policies.urgent]\nfirst_response = 60\n",
            "sla.policies.urgent.first_response: expected a duration like '90m', '4h', '3d' or "
            "'1w', got 60",
        ),
        (
            '[sla.policies.urgent]\nresolution = "0h"\n',
            "sla.policies.urgent.resolution: a duration must be longer than zero, got '0h'",
        ),
        (
            '[sla.policies.asap]\nresolution = "1h"\n',
            "sla.policies: unknown priority 'asap': use one of urgent, high, medium, low",
        ),
        (
            '[sla.categories.billing.asap]\nresolution = "1h"\n',
            "sla.categories: unknown priority 'asap': use one of urgent, high, medium, low",
        ),
        (
            '[sla.business_hours]\nmon = "9-5"\n',
            "sla.business_hours.mon: expected 'HH:MM-HH:MM' (several separated by ','), '24x7' or "
            "'closed', got '9-5'",
        ),
        (
            '[sla.business_hours]\nfunday = "09:00-17:00"\n',
            "sla.business_hours.funday: unknown weekday: use mon, tue, wed, thu, fri, sat, sun "
            "(got '09:00-17:00')",
        ),
        (
            '[sla]\nbusiness_hours = "weekdays"\n',
            "sla.business_hours: expected '24x7' or a table of weekdays (mon = \"09:00-17:00\"), "
            "got 'weekdays'",
        ),
        (
            '[sla.business_hours]\nmon = "closed"\n',
            "sla.business_hours: business hours are closed every day: no target could be met",
        ),
        (
            '[sla]\nholidays = ["2025-13-01"]\n',
            "sla.holidays[0]: Input should be a valid date or datetime, month value is outside "
            "expected range of 1-12 (got '2025-13-01')",
        ),
        ('[sla]\nholiday_country = "XX"\n', "sla: holiday_country: Country XX not available"),
        ('[sla]\nholiday_subdivision = "BY"\n', "sla: holiday_subdivision needs holiday_country"),
    ],
)
def test_sla_errors(text: str, expected: str) -> None:
    assert error_of(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[[agents]]\naddress = "not-an-address"\n',
            "agents[0].address: not a mail address: 'not-an-address'",
        ),
        (
            '[[agents]]\naddress = "a@x.example"\nteams = ["ghosts"]\n',
            "agents[0].teams: unknown team 'ghosts' (declare it in [[teams]])",
        ),
        (
            '[[agents]]\naddress = "a@x.example"\nmax_open = 0\n',
            "agents[0].max_open: Input should be greater than or equal to 1 (got 0)",
        ),
        (
            '[[agents]]\naddress = "a@x.example"\n[[agents]]\naddress = "b@x.example"\naliases = '
            '["A@x.example"]\n',
            "agents[1].address: address 'a@x.example' is listed twice",
        ),
        (
            '[[agents]]\naddress = "a@x.example"\nworking_hours = { mon = "9 to 5" }\n',
            "agents[0].working_hours.mon: expected 'HH:MM-HH:MM' (several separated by ','), "
            "'24x7' or 'closed', got '9 to 5'",
        ),
        (
            '[[teams]]\nname = "a"\n[[teams]]\nname = "a"\n',
            "teams[1].name: team 'a' is listed twice",
        ),
        (
            '[[escalation.tiers]]\nname = "L1"\n',
            "escalation.tiers[0]: tier 'L1' needs a team or addresses",
        ),
        (
            '[[escalation.tiers]]\nname = "L1"\nteam = "nobody"\n',
            "escalation.tiers[0].team: unknown team 'nobody'",
        ),
        (
            '[[escalation.tiers]]\nname = "L1"\naddresses = "x@y.example"\nraise_priority = '
            '"top"\n',
            "escalation.tiers[0].raise_priority: unknown priority 'top': use one of urgent, high, "
            "medium, low",
        ),
        ('[vip]\ndomains = ["a b"]\n', "vip.domains: not a domain: 'a b'"),
        (
            '[assignment]\nstrategy = "dice"\n',
            "assignment.strategy: unknown strategy 'dice': use one of round_robin, least_busy, "
            "skills",
        ),
    ],
)
def test_people_errors(text: str, expected: str) -> None:
    assert error_of(text) == expected


def test_priorities_come_from_maild() -> None:
    text = nth_rule(0, 'then.priority = "critical"\n')
    assert error_of(text).startswith("rules[0].then.priority: unknown priority 'critical'")
    config = load_rules(tomllib.loads(text), ("critical", "normal"))
    assert config.rules[0].then.priority == "critical"
    assert errors_of(text, ("p1", "p2")) == [
        "rules[0].then.priority: unknown priority 'critical': use one of p1, p2"
    ]


# --------------------------------------------------------------------------- accepted


FULL = """
[[teams]]
name = "support"
address = "team@example.com"
[[teams]]
name = "billing"

[[agents]]
address = "Alice@Example.com"
name = "Alice"
teams = ["support", "billing"]
skills = ["Billing", "refunds"]
max_open = 25
aliases = ["alice.private@example.org"]
timezone = "America/New_York"
working_hours = { mon = "09:00-17:00", tue = "09:00-17:00" }

[[agents]]
address = "bob@example.com"
active = false

[[escalation.tiers]]
name = "L1"
team = "support"
[[escalation.tiers]]
name = "L2"
addresses = ["lead@example.com"]
raise_priority = true

[vip]
addresses = ["CEO@customer.example"]
domains = ["@bigcorp.example"]

[assignment]
strategy = "least_busy"

[sla]
timezone = "Europe/Berlin"
warn_at = 0.8
holidays = [2025-12-24, 2025-12-31]
holiday_country = "DE"
holiday_subdivision = "BY"
[sla.business_hours]
mon = "08:00-12:00, 13:00-17:00"
tue = "08:00-17:00"
wed = "08:00-17:00"
thu = "08:00-17:00"
fri = "08:00-15:00"
[sla.policies.urgent]
first_response = "30m"
[sla.policies.low]
resolution = "2 weeks"
[sla.categories.security.high]
first_response = "1h"
[sla.vip.medium]
first_response = "2h"

[[rules]]
name = "route billing"
when = { to = "billing@example.com" }
then = { category = "billing", assign = "billing", notify = "team" }
"""


def test_a_full_file_is_accepted() -> None:
    config = load_rules(tomllib.loads(FULL))
    assert isinstance(config, RulesConfig)
    alice = config.agents[0]
    assert alice.address == "alice@example.com"
    assert alice.skills == ("billing", "refunds")
    assert config.agent_for("ALICE.private@example.org") is alice
    assert config.agent_for("nobody@example.com") is None
    assert config.teams_by_name["support"].address == "team@example.com"
    assert config.vip.is_vip("ceo@customer.example")
    assert config.vip.is_vip("x@eu.bigcorp.example")
    assert not config.vip.is_vip("x@customer.example")
    then = config.rules[0].then
    assert then.assign == AssignSpec(team="billing")
    assert then.notify == NotifySpec(to=("team",))
    sla = config.sla
    assert sla.warn_at == 0.8
    assert date(2025, 12, 24) in sla.holiday_dates
    assert date(2025, 12, 25) in sla.holiday_dates  # Christmas, from the country
    assert date(2025, 1, 6) in sla.holiday_dates  # Epiphany: Bavaria only
    assert sla.calendar.tz.key == "Europe/Berlin"
    policy = sla.policy()
    assert policy.targets_for("urgent", None, False).first_response == timedelta(minutes=30)
    assert policy.targets_for("low", None, False).resolution == timedelta(weeks=2)
    assert policy.targets_for("high", "security", False).first_response == timedelta(hours=1)
    assert policy.targets_for("medium", None, True).first_response == timedelta(hours=2)
    assert policy.warn_at == 0.8


def test_other_top_level_keys_are_left_to_maild() -> None:
    config = load_rules({"maild": {"ticket_prefix": "X"}, "rules": []})
    assert config.rules == ()


def test_the_config_serialises_back_to_plain_values() -> None:
    config = load_rules(
        tomllib.loads(FULL + nth_rule(0, 'when.subject = ["a", "b"]\nwhen.body = "x+"\n'))
    )
    dumped = config.model_dump(mode="json", by_alias=True)
    assert dumped["rules"][1]["when"]["subject"] == ["a", "b"]
    assert dumped["rules"][1]["when"]["body"] == "x+"
    assert dumped["sla"]["policies"]["urgent"]["first_response"] == "30m"
    assert dumped["sla"]["business_hours"].startswith("mon 08:00-12:00, 13:00-17:00")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", timedelta(minutes=90)),
        ("4h", timedelta(hours=4)),
        ("24h", timedelta(hours=24)),
        ("3d", timedelta(days=3)),
        ("1w", timedelta(weeks=1)),
        ("1 week", timedelta(weeks=1)),
        ("1h30m", timedelta(minutes=90)),
        ("1d 12h", timedelta(hours=36)),
        (" 2 hours ", timedelta(hours=2)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "h", "4", "4x", "1h and 2m", "-1h", "1.5h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_the_sla_policy_knows_maild_priorities() -> None:
    config = load_rules(
        tomllib.loads('[sla.policies.critical]\nfirst_response = "15m"\nresolution = "2h"\n'),
        ("critical", "normal"),
    )
    assert config.priorities == ("critical", "normal")
    policy = config.sla_policy
    assert policy.targets_for("critical", None, False).first_response == timedelta(minutes=15)
    assert policy.targets_for("normal", None, False).first_response is None
    assert load_rules({}).sla_policy.targets_for("urgent", None, False).first_response == (
        timedelta(hours=1)
    )
