"""[limits]: the limit on new tickets per sender, its default, the exempt senders, and
errors that name the key and the value."""

from __future__ import annotations

import pytest

from maild.config import ConfigError, config_from_mapping


def test_defaults_follow_the_specification() -> None:
    limits = config_from_mapping({}).limits
    assert limits.new_tickets_per_sender_per_hour == 10
    assert limits.exempt == ()


def test_exempt_takes_addresses_and_domains_in_lower_case() -> None:
    data = {
        "limits": {
            "new_tickets_per_sender_per_hour": 0,
            "exempt": ["Alerts@Monitor.example", " @Partner.Example "],
        }
    }
    limits = config_from_mapping(data).limits
    assert limits.new_tickets_per_sender_per_hour == 0
    assert limits.exempt == ("alerts@monitor.example", "@partner.example")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"limits": {"new_tickets_per_sender_per_hour": -1}},
            "limits.new_tickets_per_sender_per_hour: ",
        ),
        ({"limits": {"exempt": ["nobody"]}}, "limits.exempt: not a mail address: 'nobody'"),
        ({"limits": {"exempt": ["@not a domain"]}}, "limits.exempt: not an address or '@domain'"),
        ({"limits": {"per_hour": 3}}, "limits.per_hour: unknown key"),
    ],
)
def test_errors_name_key_and_value(data: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        config_from_mapping(data)
    assert expected in str(error.value)
