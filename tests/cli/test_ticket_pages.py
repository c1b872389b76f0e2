"""``maild tickets list`` on a helpdesk with history: newest first, a page at a time,
filtered by status and by when tickets were created."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import invoke
from tests.mails import customer_mail


def numbers(config: Path, *args: str) -> list[int]:
    result = invoke(config, "tickets", "list", "--json", *args)
    assert result.exit_code == 0, result.output
    return [ticket["number"] for ticket in json.loads(result.stdout)]


def test_pages_newest_first(console_config: Path) -> None:
    for n in range(5):
        mail = customer_mail(subject=f"problem {n}", message_id=f"<p{n}@customer.example>")
        assert invoke(console_config, "ingest", input=mail).exit_code == 0
    assert numbers(console_config) == [1004, 1003, 1002, 1001, 1000]
    assert numbers(console_config, "--limit", "2") == [1004, 1003]
    assert numbers(console_config, "--limit", "2", "--before", "1003") == [1002, 1001]
    table = invoke(console_config, "tickets", "list", "--limit", "2")
    assert "(more: --before 1003)" in table.stdout
    # created_at is when maild stored them (now): after 2000, none before.
    assert numbers(console_config, "--since", "2000-01-01", "--limit", "0") != []
    assert numbers(console_config, "--until", "2000-01-01") == []


def test_a_bad_date_names_the_option(console_config: Path) -> None:
    result = invoke(console_config, "tickets", "list", "--since", "yesterday")
    assert result.exit_code == 2 and "--since" in result.output and "yesterday" in result.output
