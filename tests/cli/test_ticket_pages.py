"""``maild tickets list`` on a helpdesk with history: newest first, a page at a time,
filtered by status and by when tickets were created."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import create_engine, update

from storage.models import Ticket
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
    piped = invoke(console_config, "tickets", "list", "--limit", "2")
    lines = piped.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["1004", "1003"]
    assert lines[0].split("\t")[1:3] == ["new", "medium"]
    assert lines[0].endswith("\tproblem 4")
    assert "(more: --before 1003)" in piped.stderr
    # created_at is when maild stored them (now): after 2000, none before.
    assert numbers(console_config, "--since", "2000-01-01", "--limit", "0") != []
    assert numbers(console_config, "--until", "2000-01-01") == []


def test_a_bad_date_names_the_option(console_config: Path) -> None:
    result = invoke(console_config, "tickets", "list", "--since", "yesterday")
    assert result.exit_code == 2 and "--since" in result.output and "yesterday" in result.output


def test_open_by_default_and_filters(console_config: Path) -> None:
    for n, sender in enumerate(
        ["ada@customer.example", "bob@other.example", "ada@customer.example"]
    ):
        mail = customer_mail(sender=sender, subject=f"p{n}", message_id=f"<f{n}@x.example>")
        assert invoke(console_config, "ingest", input=mail).exit_code == 0
    engine = create_engine(f"sqlite:///{console_config.parent / 'maild.db'}")
    with engine.begin() as connection:
        connection.execute(
            update(Ticket).where(Ticket.number == 1000).values(status="closed", tags=["vip"])
        )
        connection.execute(update(Ticket).where(Ticket.number == 1001).values(tags=["vip", "x"]))
    engine.dispose()
    assert numbers(console_config) == [1002, 1001]  # new, open and pending only
    assert numbers(console_config, "--all") == [1002, 1001, 1000]
    assert numbers(console_config, "--status", "closed") == [1000]
    assert numbers(console_config, "--all", "--requester", "ADA@customer.example") == [1002, 1000]
    assert numbers(console_config, "--all", "--tag", "vip") == [1001, 1000]
    assert numbers(console_config, "--tag", "x") == [1001]
    assert numbers(console_config, "--mailbox", "billing@example.com") == []


def test_show_names_the_linked_tickets(console_config: Path) -> None:
    first = customer_mail(subject="Printer on fire", message_id="<o1@customer.example>")
    stranger = customer_mail(
        sender="Mallory <mallory@evil.example>",
        subject="Re: [ACME #1000] Printer on fire",
        message_id="<m1@evil.example>",
    )
    for mail in (first, stranger):
        assert invoke(console_config, "ingest", input=mail).exit_code == 0
    shown = invoke(console_config, "tickets", "show", "1001")
    assert "linked to [ACME #1000]" in shown.stdout
    assert "linked from [ACME #1001]" in invoke(console_config, "tickets", "show", "1000").stdout
    data = json.loads(invoke(console_config, "tickets", "show", "1000", "--json").stdout)
    assert (data["linked_to"], data["linked_from"], data["merged_into"]) == (None, [1001], None)
