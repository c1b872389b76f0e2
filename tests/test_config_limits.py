"""The flood limits of [smtp] and [intake]: defaults, sizes as strings, errors that name
the key and the value."""

from __future__ import annotations

import pytest

from maild.config import ConfigError, config_from_mapping


def test_defaults() -> None:
    config = config_from_mapping({})
    assert config.smtp.max_connections == 100
    assert config.smtp.max_bytes_in_flight == 200_000_000
    assert config.intake.max_mime_depth == 30


@pytest.mark.parametrize(
    ("value", "expected"),
    [(30_000_000, 30_000_000), ("200 MB", 200_000_000), ("1GiB", 2**30), ("50mb", 50_000_000)],
)
def test_sizes_are_bytes_or_size_strings(value: object, expected: int) -> None:
    config = config_from_mapping({"smtp": {"max_bytes_in_flight": value}})
    assert config.smtp.max_bytes_in_flight == expected


def test_max_message_size_takes_size_strings_too() -> None:
    config = config_from_mapping({"smtp": {"max_message_size": "10 MiB"}})
    assert config.smtp.max_message_size == 10 * 2**20


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"smtp": {"max_bytes_in_flight": "lots"}},
            "smtp.max_bytes_in_flight: expected a number of bytes or a size such as '25 MB'",
        ),
        ({"smtp": {"max_bytes_in_flight": True}}, "smtp.max_bytes_in_flight: expected"),
        ({"smtp": {"max_bytes_in_flight": 0}}, "smtp.max_bytes_in_flight: "),
        (
            {"smtp": {"max_bytes_in_flight": "1 MB"}},
            "smtp.max_bytes_in_flight: must be at least max_message_size (26214400 bytes)",
        ),
        ({"smtp": {"max_connections": 0}}, "smtp.max_connections: "),
        ({"intake": {"max_mime_depth": 0}}, "intake.max_mime_depth: "),
        ({"intake": {"max_mime_depth": 1000}}, "intake.max_mime_depth: "),
    ],
)
def test_errors_name_key_and_value(data: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        config_from_mapping(data)
    message = str(error.value)
    assert expected in message
    [value] = [v for section in data.values() for v in section.values()]
    assert repr(value) in message
