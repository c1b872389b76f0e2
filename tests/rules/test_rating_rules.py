"""Rules on satisfaction ratings: ``event = "ticket.rated"`` with ``rating = "<=2"``;
the new event fires only rules that name it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from rules.config import format_rules_error, load_rules
from rules.engine import evaluate
from rules.model import Event, EventKind, TicketView

TICKET = TicketView(
    number=1000,
    subject="Printer",
    requester="ada@customer.example",
    mailbox="support@example.com",
    status="resolved",
    priority="medium",
)


def rules(*entries: dict) -> list:
    return list(load_rules({"rules": list(entries)}).rules)


def fired(configured: list, rating: str | None, kind: EventKind = EventKind.RATED) -> list[str]:
    return [a.rule for a in evaluate(configured, TICKET, Event(kind, rating=rating))]


@pytest.mark.parametrize(
    ("condition", "rating", "matches"),
    [
        ("<=2", "1", True),
        ("<=2", "2", True),
        ("<=2", "3", False),
        (">=4", "5", True),
        ("<3", "3", False),
        (">3", "4", True),
        ("5", "5", True),
        ("5", "4", False),
        ("bad", "bad", True),
        ("bad", "good", False),
        ("<=2", "bad", False),
        (2, "2", True),
    ],
)
def test_rating_condition(condition: object, rating: str, matches: bool) -> None:
    configured = rules(
        {"name": "r", "when": {"event": "ticket.rated", "rating": condition}, "then": {"tags": "x"}}
    )
    assert fired(configured, rating) == (["r"] if matches else [])


def test_rated_fires_only_rules_that_name_it() -> None:
    configured = rules(
        {"name": "every", "when": {"event": "*"}, "then": {"tags": "seen"}},
        {"name": "rated", "when": {"event": "ticket.rated"}, "then": {"tags": "rated"}},
    )
    assert fired(configured, "5") == ["rated"]
    assert fired(configured, None, EventKind.CUSTOMER_REPLIED) == ["every"]


def test_a_rating_condition_needs_a_rating() -> None:
    configured = rules(
        {"name": "r", "when": {"event": "*", "rating": "<=2"}, "then": {"tags": "x"}}
    )
    assert fired(configured, None, EventKind.CUSTOMER_REPLIED) == []


@pytest.mark.parametrize("bad", ["<=good", "6", "terrible", ">=", "=<2"])
def test_a_bad_rating_condition_names_key_and_value(bad: str) -> None:
    with pytest.raises(ValidationError) as raised:
        load_rules(
            {
                "rules": [
                    {
                        "name": "r",
                        "when": {"event": "ticket.rated", "rating": bad},
                        "then": {"tags": "x"},
                    }
                ]
            }
        )
    assert "rules[0].when.rating" in format_rules_error(raised.value)
    assert repr(bad) in format_rules_error(raised.value)
