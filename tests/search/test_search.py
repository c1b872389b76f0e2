"""``maild tickets search``: full text over subjects, reply texts and requesters, ranked, on
SQLite (FTS5) and PostgreSQL (tsvector), kept current by intake and built by migration 0012
for the mail stored before it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, update
from sqlalchemy.orm import Session

from maild.clock import ManualClock
from maild.config import config_from_mapping
from storage import search
from storage.engine import DatabaseSettings, create_database_engine
from storage.models import Ticket, TicketStatus
from storage.schema import alembic_config, ensure_current
from tests.agents.mails import agent_mail
from tests.cli.conftest import invoke
from tests.mails import customer_mail
from tests.pipeline.conftest import ALICE, NOW, Desk, desk_data


def open_desk(tmp_path: Path, database_url: str, *, revision: str = "head") -> Iterator[Desk]:
    data = desk_data(tmp_path)
    data["database"]["url"] = database_url
    config = config_from_mapping(data)
    engine = create_database_engine(DatabaseSettings(url=database_url))
    if revision == "head":
        ensure_current(engine)
    else:
        command.upgrade(alembic_config(engine), revision)
    try:
        with engine.connect() as connection, connection.begin():
            yield Desk(config, connection, ManualClock(NOW))
    finally:
        engine.dispose()


@pytest.fixture
def desk(tmp_path: Path, database_url: str) -> Iterator[Desk]:
    yield from open_desk(tmp_path, database_url)


def found(desk: Desk, query: str, *statuses: TicketStatus) -> list[int]:
    session = Session(bind=desk.connection)
    return [t.number for t in search.search_tickets(session, query, statuses, limit=None)]


def mail(n: int, subject: str, body: str, sender: str = "Ada <ada@customer.example>") -> bytes:
    return customer_mail(
        subject=subject, body=body, sender=sender, message_id=f"<m{n}@customer.example>"
    )


def test_found_by_subject_reply_text_and_requester(desk: Desk) -> None:
    desk.deliver(mail(1, "Printer on fire", "Smoke everywhere."))
    desk.deliver(mail(2, "Invoice missing", "Where is the March invoice?", "Bo <bo@shop.example>"))
    assert found(desk, "printer") == [1000]
    assert found(desk, "PRINTER fire") == [1000]
    assert found(desk, "march") == [1001]
    assert found(desk, "bo@shop.example") == [1001]
    assert found(desk, "ada@customer.example") == [1000]
    assert found(desk, "printer invoice") == []  # every word is required
    # A reply's text, stored on the ticket by the customer and by an agent.
    desk.deliver(
        customer_mail(
            subject="Re: Printer on fire",
            body="Also the toner leaks.",
            message_id="<m3@customer.example>",
            in_reply_to="<m1@customer.example>",
        )
    )
    assert found(desk, "toner") == [1000]
    to = f"support+{desk.ticket().token}@example.com"
    desk.deliver(
        agent_mail("Please unplug the fuser.", to=to, auth=None),
        to=(to,),
        mail_from=ALICE,
        source="lmtp",
    )
    assert found(desk, "fuser") == [1000]


def test_the_quoted_history_is_not_indexed(desk: Desk) -> None:
    desk.deliver(mail(1, "Hello", "New text here.\n\nOn Monday Bob wrote:\n> zebra quoted\n"))
    assert found(desk, "new") == [1000]
    assert found(desk, "zebra") == []


def test_subject_and_body_rank_above_one_mention(desk: Desk) -> None:
    desk.deliver(mail(1, "Hello", "The scanner is broken, and more words here too."))
    desk.deliver(mail(2, "Scanner jammed", "The scanner jams on every page."))
    desk.deliver(mail(3, "Other", "Nothing about that."))
    assert found(desk, "scanner") == [1001, 1000]


@pytest.mark.parametrize(
    "query", ['"printer AND', "c++", "-x", "printer*", "NEAR(printer", '"', "OR", "a:b", "  "]
)
def test_search_syntax_in_the_query_is_only_words(desk: Desk, query: str) -> None:
    desk.deliver(mail(1, "Printer on fire", "c++ code -x and the printer"))
    result = found(desk, query)
    assert result in ([], [1000])
    if query == '"printer AND':
        assert result == [1000]


def test_status_filter(desk: Desk) -> None:
    desk.deliver(mail(1, "Printer one", "x"))
    desk.deliver(mail(2, "Printer two", "y"))
    desk.connection.execute(
        update(Ticket).where(Ticket.number == 1000).values(status=str(TicketStatus.CLOSED))
    )
    assert sorted(found(desk, "printer")) == [1000, 1001]
    assert found(desk, "printer", TicketStatus.CLOSED) == [1000]
    assert found(desk, "printer", TicketStatus.NEW, TicketStatus.OPEN) == [1001]


def test_the_migration_indexes_mail_stored_before_it(tmp_path: Path, database_url: str) -> None:
    """Mail stored, then the schema taken back to before the index existed (0011): the
    upgrade builds the index from the stored mail."""
    for desk in open_desk(tmp_path, database_url):
        desk.deliver(mail(1, "Printer on fire", "Smoke everywhere."))
        desk.deliver(mail(2, "Invoice missing", "Where is it?", "Bo <bo@shop.example>"))
    engine = create_database_engine(DatabaseSettings(url=database_url))
    command.downgrade(alembic_config(engine), "0011")
    assert not inspect(engine).has_table("ticket_text")
    command.upgrade(alembic_config(engine), "head")
    engine.dispose()
    for desk in open_desk(tmp_path, database_url):
        assert found(desk, "smoke") == [1000]
        assert found(desk, "bo@shop.example") == [1001]
        desk.deliver(mail(3, "Printer again", "Still smoking."))  # and intake goes on
        assert sorted(found(desk, "printer")) == [1000, 1002]


def test_the_command_prints_like_list(console_config: Path) -> None:
    for n, subject in enumerate(["Printer on fire", "Printer jammed", "Invoice"]):
        raw = customer_mail(subject=subject, message_id=f"<c{n}@customer.example>", body="hi")
        assert invoke(console_config, "ingest", input=raw).exit_code == 0
    result = invoke(console_config, "tickets", "search", "printer", "--json")
    assert result.exit_code == 0, result.output
    tickets = json.loads(result.stdout)
    assert sorted(t["number"] for t in tickets) == [1000, 1001]
    assert set(tickets[0]) >= {"number", "subject", "status", "requester"}
    piped = invoke(console_config, "tickets", "search", "printer", "--limit", "1")
    assert piped.exit_code == 0, piped.output
    [line] = piped.stdout.splitlines()
    assert line.split("\t")[1:3] == ["new", "medium"]
    assert "(more:" in piped.stderr
    closed = invoke(console_config, "tickets", "search", "invoice", "--status", "closed")
    assert closed.exit_code == 0 and closed.stdout == ""
    weird = invoke(console_config, "tickets", "search", '"printer AND -x c++', "--all")
    assert weird.exit_code == 0, weird.output


def test_the_filters_of_list(desk: Desk) -> None:
    desk.deliver(mail(1, "Printer one", "x"))
    desk.deliver(mail(2, "Printer two", "y", sender="Bob <bob@other.example>"))
    desk.connection.execute(
        update(Ticket).where(Ticket.number == 1001).values(tags=["vip"], priority="high")
    )
    session = Session(bind=desk.connection)

    def numbers(**filters: str) -> list[int]:
        found = search.search_tickets(session, "printer", (), None, filters=filters)
        return sorted(t.number for t in found)

    assert numbers() == [1000, 1001]
    assert numbers(requester="bob@other.example") == [1001]
    assert numbers(tag="vip", priority="high") == [1001]
    assert numbers(priority="low") == []
    with pytest.raises(ValueError, match="no ticket filter"):
        numbers(subject="x; DROP TABLE tickets")
