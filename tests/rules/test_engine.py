"""Rule matching: conditions with reasons, ``any``, keywords and regexes, headers, events,
``stop``, file order, and the three examples from the seeds."""

from __future__ import annotations

import tomllib

import pytest

from rules.config import AssignSpec, NotifySpec, RulesConfig, load_rules
from rules.engine import evaluate, explain
from rules.model import Action, ActionKind, Escalate, Event, EventKind, TicketView

PEOPLE = """
[[teams]]
name = "support"
[[teams]]
name = "billing"
[[teams]]
name = "senior"
[[teams]]
name = "security"

[[agents]]
address = "alice@example.com"
teams = ["support", "billing"]

[[escalation.tiers]]
name = "L1"
team = "support"
[[escalation.tiers]]
name = "L2"
team = "senior"
[[escalation.tiers]]
name = "L3"
addresses = ["cto@example.com"]
[[escalation.tiers]]
name = "L4"
team = "security"
raise_priority = "urgent"

[vip]
domains = ["bigcorp.example"]
"""

SEEDS = (
    PEOPLE
    + """
[[rules]]
name = "security"
when.subject = ["security", "vulnerability", "data breach", "CVE"]
then = { priority = "urgent", escalate = "L4", stop = true }

[[rules]]
name = "billing mailbox"
when.to = "billing@example.com"
then.category = "billing"

[[rules]]
name = "refunds"
[rules.when]
category = "billing"
any = [{ subject = ["refund"] }, { body = ["refund", "money back"] }]
[rules.then]
priority = "high"
tags = ["refund_request"]

[[rules]]
name = "vip"
when.vip = true
then = { priority = "high", escalate = "L2" }
"""
)


def rules_from(text: str) -> RulesConfig:
    return load_rules(tomllib.loads(text))


def created(**fields: object) -> Event:
    return Event(kind=EventKind.CREATED, **fields)  # type: ignore[arg-type]


def summary(actions: list[Action]) -> list[tuple[str, str, object]]:
    return [(action.rule, action.kind.value, action.value) for action in actions]


@pytest.fixture(scope="module")
def seeds() -> RulesConfig:
    return rules_from(SEEDS)


# --------------------------------------------------------------------------- the seeds


def test_security_keyword_makes_it_urgent_and_goes_to_l4(seeds: RulesConfig) -> None:
    view = TicketView(subject="Possible SQL injection (security)", requester="a@b.example")
    actions = evaluate(seeds.rules, view, created(subject=view.subject))
    assert summary(actions) == [
        ("security", "priority", "urgent"),
        ("security", "escalate", Escalate("L4")),
    ]
    assert "subject contains 'security'" in actions[0].reasons[1]


def test_security_rule_stops_the_rules_after_it(seeds: RulesConfig) -> None:
    view = TicketView(subject="Vulnerability report", requester="ceo@bigcorp.example", vip=True)
    outcomes = explain(seeds.rules, view, created(mailbox="billing@example.com"))
    assert [outcome.rule for outcome in outcomes] == ["security"]
    assert outcomes[0].stopped


def test_billing_mail_mentioning_a_refund_is_high_with_a_tag(seeds: RulesConfig) -> None:
    view = TicketView(
        subject="Invoice 2291", requester="a@b.example", mailbox="billing@example.com"
    )
    event = created(body="Hello,\nI would like my money  back for March.\n")
    actions = evaluate(seeds.rules, view, event)
    assert summary(actions) == [
        ("billing mailbox", "category", "billing"),
        ("refunds", "priority", "high"),
        ("refunds", "tags", ("refund_request",)),
    ]
    assert "any[1]: body contains 'money  back'" in actions[1].reasons[-1]


def test_refund_outside_billing_is_left_alone(seeds: RulesConfig) -> None:
    view = TicketView(subject="Refund?", requester="a@b.example", mailbox="support@example.com")
    assert evaluate(seeds.rules, view, created()) == []


def test_vip_customer_is_high_and_goes_to_l2(seeds: RulesConfig) -> None:
    requester = "ceo@eu.bigcorp.example"
    view = TicketView(subject="Printer", requester=requester, vip=seeds.vip.is_vip(requester))
    assert summary(evaluate(seeds.rules, view, created())) == [
        ("vip", "priority", "high"),
        ("vip", "escalate", Escalate("L2")),
    ]


# --------------------------------------------------------------------------- conditions


@pytest.mark.parametrize(
    ("subject", "matches"),
    [
        ("Refund please", True),
        ("REFUNDS", True),
        ("I was refunded twice", True),
        ("non-refundable ticket", True),  # "refund" starts a word after the hyphen
        ("nonrefundable", False),
        ("", False),
    ],
)
def test_keywords_match_at_word_starts_ignoring_case(subject: str, matches: bool) -> None:
    config = rules_from('[[rules]]\nname = "r"\nwhen.subject = ["refund"]\nthen.tags = ["x"]\n')
    assert bool(evaluate(config.rules, TicketView(subject=subject), created())) is matches


def test_keywords_are_text_not_regex() -> None:
    config = rules_from('[[rules]]\nname = "r"\nwhen.body = ["c++", "a.b"]\nthen.tags = ["x"]\n')
    assert evaluate(config.rules, TicketView(), created(body="we use C++ here"))
    assert not evaluate(config.rules, TicketView(), created(body="axb"))


def test_a_string_is_a_case_insensitive_regex() -> None:
    config = rules_from(
        '[[rules]]\nname = "r"\nwhen.subject = "^(re: )?order #\\\\d+"\nthen.tags = ["x"]\n'
    )
    assert evaluate(config.rules, TicketView(subject="RE: Order #123"), created())
    assert not evaluate(config.rules, TicketView(subject="Fwd: Order #123"), created())


def test_event_subject_wins_over_ticket_subject() -> None:
    config = rules_from(
        '[[rules]]\nname = "r"\nwhen.subject = ["urgent"]\nwhen.event = "*"\nthen.tags = ["x"]\n'
    )
    view = TicketView(subject="Printer")
    assert evaluate(config.rules, view, Event(EventKind.CUSTOMER_REPLIED, subject="Re: URGENT"))
    assert not evaluate(config.rules, view, Event(EventKind.SLA_WARNING))


@pytest.mark.parametrize(
    "condition",
    [
        '"header.X-Priority" = "^1"',  # a quoted key
        'header.X-Priority = "^1"',  # a dotted key: TOML makes it a table
        'header = { "x-priority" = "^1" }',
    ],
)
def test_header_conditions(condition: str) -> None:
    config = rules_from(
        f'[[rules]]\nname = "r"\n[rules.when]\n{condition}\n[rules.then]\ntags = ["x"]\n'
    )
    hit = created(headers=(("Received", "x"), ("X-Priority", "5"), ("x-priority", "1 (Highest)")))
    assert evaluate(config.rules, TicketView(), hit)
    assert not evaluate(config.rules, TicketView(), created(headers=(("X-Priority", "3"),)))
    outcome = explain(config.rules, TicketView(), created())[0]
    assert outcome.reasons == ("header x-priority is absent",)


@pytest.mark.parametrize(
    ("pattern", "sender", "matches"),
    [
        ("bigcorp.example", "Bob@BigCorp.example", True),
        ("*@bigcorp.example", "bob@bigcorp.example", True),
        ("@bigcorp.example", "bob@bigcorp.example", True),
        ("bigcorp.example", "bob@eu.bigcorp.example", False),
        ("*.bigcorp.example", "bob@eu.bigcorp.example", True),
        ("bob@bigcorp.example", "bob@bigcorp.example", True),
        ("bob@bigcorp.example", "rob@bigcorp.example", False),
        ("boss*@*", "boss.two@anything.example", True),
    ],
)
def test_from_globs(pattern: str, sender: str, matches: bool) -> None:
    config = rules_from(f'[[rules]]\nname = "r"\nwhen.from = "{pattern}"\nthen.tags = ["x"]\n')
    assert bool(evaluate(config.rules, TicketView(), created(sender=sender))) is matches


def test_from_falls_back_to_the_requester() -> None:
    config = rules_from(
        '[[rules]]\nname = "r"\nwhen.from = ["x.example", "y.example"]\n'
        'when.event = "sla.breached"\nthen.tags = ["x"]\n'
    )
    view = TicketView(requester="ann@y.example")
    assert evaluate(config.rules, view, Event(EventKind.SLA_BREACHED))


def test_all_conditions_must_hold_and_the_first_failure_is_the_reason() -> None:
    config = rules_from(
        """
[[rules]]
name = "r"
when = { priority = ["urgent", "high"], category = "billing", subject = ["invoice"] }
then.tags = ["x"]
"""
    )
    view = TicketView(priority="high", category="Billing", subject="Invoice")
    assert evaluate(config.rules, view, created())
    low = TicketView(priority="low", category="billing", subject="Invoice")
    assert explain(config.rules, low, created())[0].reasons == (
        "priority 'low' is not one of 'high', 'urgent'",
    )
    none = TicketView(priority="high", subject="Invoice")
    assert explain(config.rules, none, created())[0].reasons == ("the ticket has no category",)


def test_any_needs_one_alternative() -> None:
    config = rules_from(
        """
[[rules]]
name = "r"
[[rules.when.any]]
from = "vip.example"
[[rules.when.any]]
subject = ["outage"]
priority = "urgent"
[rules.then]
tags = ["x"]
"""
    )
    assert evaluate(config.rules, TicketView(), created(sender="a@vip.example"))
    assert evaluate(config.rules, TicketView(priority="urgent", subject="Outage"), created())
    outcome = explain(config.rules, TicketView(subject="Outage"), created())[0]
    assert not outcome.matched
    assert outcome.reasons[0].startswith("no alternative of 'any' holds")


def test_nested_any_with_an_event() -> None:
    config = rules_from(
        """
[[rules]]
name = "r"
when.event = "*"
when.any = [{ event = "sla.breached" }, { any = [{ vip = true }, { priority = "urgent" }] }]
then.tags = ["x"]
"""
    )
    assert evaluate(config.rules, TicketView(), Event(EventKind.SLA_BREACHED))
    assert evaluate(config.rules, TicketView(vip=True), Event(EventKind.CUSTOMER_REPLIED))
    assert not evaluate(config.rules, TicketView(), Event(EventKind.CUSTOMER_REPLIED))
    # "*" does not mean the events only rules naming them get (ticket.idle, ticket.rated).
    assert not evaluate(config.rules, TicketView(vip=True), Event(EventKind.IDLE))


def test_rules_listen_to_ticket_created_unless_told() -> None:
    config = rules_from(
        PEOPLE
        + """
[[rules]]
name = "new"
then.tags = ["new"]

[[rules]]
name = "breach"
when.event = ["sla.breached"]
then = { escalate = true, notify = { to = ["assignee", "senior"], template = "breach_alert" } }
"""
    )
    view = TicketView()
    assert [a.rule for a in evaluate(config.rules, view, created())] == ["new"]
    assert evaluate(config.rules, view, Event(EventKind.CUSTOMER_REPLIED)) == []
    actions = evaluate(config.rules, view, Event(EventKind.SLA_BREACHED, sla_target="resolution"))
    assert summary(actions) == [
        ("breach", "notify", NotifySpec(to=("assignee", "senior"), template="breach_alert")),
        ("breach", "escalate", Escalate(None)),
    ]
    outcome = explain(config.rules, view, Event(EventKind.IDLE))[0]
    assert outcome.reasons == ("event ticket.idle is not 'ticket.created'",)


def test_rules_run_in_file_order_and_later_ones_see_earlier_changes() -> None:
    config = rules_from(
        PEOPLE
        + """
[[rules]]
name = "classify"
when.subject = ["invoice"]
then = { category = "Billing", tags = ["finance"] }

[[rules]]
name = "route"
when.category = "billing"
then.assign = { team = "billing", strategy = "least_busy" }

[[rules]]
name = "tagged"
when.priority = "medium"
then = { priority = "low", assign = "alice@example.com" }
"""
    )
    actions = evaluate(config.rules, TicketView(subject="Invoice"), created())
    assert summary(actions) == [
        ("classify", "category", "billing"),
        ("classify", "tags", ("finance",)),
        ("route", "assign", AssignSpec(team="billing", strategy="least_busy")),
        ("tagged", "priority", "low"),
        ("tagged", "assign", AssignSpec(agent="alice@example.com")),
    ]
    assert actions[2].kind is ActionKind.ASSIGN


def test_stop_only_when_the_rule_matches() -> None:
    config = rules_from(
        """
[[rules]]
name = "a"
when.subject = ["spam"]
then = { tags = ["spam"], stop = true }

[[rules]]
name = "b"
then.tags = ["b"]
"""
    )
    assert [a.rule for a in evaluate(config.rules, TicketView(subject="spam!"), created())] == ["a"]
    assert [a.rule for a in evaluate(config.rules, TicketView(subject="ham"), created())] == ["b"]


def test_disabled_rules_only_run_when_asked() -> None:
    config = rules_from('[[rules]]\nname = "trial"\nenabled = false\nthen.tags = ["trial"]\n')
    assert evaluate(config.rules, TicketView(), created()) == []
    outcomes = explain(config.rules, TicketView(), created(), include_disabled=True)
    assert outcomes[0].matched
    assert config.active_rules == ()


def test_an_empty_rule_set_does_nothing() -> None:
    assert evaluate((), TicketView(), created()) == []


def test_action_description_names_the_rule() -> None:
    action = Action("vip", ActionKind.ESCALATE, Escalate("L2"))
    assert action.describe() == "escalate L2 (rule 'vip')"
    assign = Action("route", ActionKind.ASSIGN, AssignSpec(team="billing"))
    assert assign.describe() == 'assign {"team":"billing"} (rule \'route\')'
