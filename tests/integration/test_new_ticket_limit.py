"""The limit on floods of new tickets (``[limits] new_tickets_per_sender_per_hour``): past it
a sender's mail is stored on their newest open ticket, unacknowledged and announced to no
agent, and the admins hear of it once per sender and hour. Through real SMTP with the
injected clock, read back from the database and the sink."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select

from maild.cli import cli
from maild.clock import ManualClock
from maild.config import Config, config_from_mapping
from storage.models import Event, OutboxMessage, Ticket
from tests.agents.helpers import events as events_of
from tests.agents.helpers import messages as messages_of
from tests.conftest import config_data
from tests.importing.archives import write_mbox
from tests.mails import customer_mail
from tests.support import DaemonThread, Sink, eventually, write_toml

ADA = "ada@customer.example"
OPS = "ops@example.com"
ALICE = "alice@example.com"


def flood_data(tmp_path: Path, database_url: str, sink: Sink, **limits: Any) -> dict[str, Any]:
    """Admins to tell, an agent who hears of every new ticket, and room for every
    acknowledgement (the per-address limit on automatic mail is not under test here)."""
    data = config_data(
        tmp_path,
        database_url,
        sink.port,
        maild={"admins": [OPS], "auto_reply_limit": 100},
        agents=[{"address": ALICE, "name": "Alice"}],
    )
    if limits:
        data["limits"] = limits
    return data


@pytest.fixture
def config(tmp_path: Path, database_url: str, sink: Sink) -> Config:
    return config_from_mapping(flood_data(tmp_path, database_url, sink))


@pytest.fixture
def daemon(config: Config, clock: ManualClock) -> Iterator[DaemonThread]:
    running = DaemonThread(config, clock).start()
    yield running
    running.stop()


def rows(daemon: DaemonThread, model: type) -> list:
    with daemon.runtime.sessions() as session:
        return list(session.scalars(select(model).order_by(model.id)))


def kind_count(daemon: DaemonThread, kind: str) -> int:
    return sum(1 for row in rows(daemon, OutboxMessage) if row.kind == kind)


def new_mail(daemon: DaemonThread, n: int, sender: str = f"Ada <{ADA}>") -> None:
    """A mail that continues no ticket: it would open one."""
    address = sender.rpartition("<")[2].rstrip(">")
    daemon.send(
        customer_mail(
            subject=f"Alert {n}",
            body=f"Disk full, alert number {n}.\n",
            sender=sender,
            message_id=f"<alert-{n}-{address}>",
        ),
        mail_from=address,
    )


def numbers(daemon: DaemonThread) -> list[int]:
    return [ticket.number for ticket in rows(daemon, Ticket)]


def admin_mail_at_sink(sink: Sink, count: int) -> list[str]:
    """The subjects of the admin notices the sink got, once there are ``count``."""

    def found() -> list[str]:
        return [
            str(r.message["Subject"])
            for r in sink.received
            if OPS in r.rcpt_tos and "limit of new tickets" in str(r.message["Subject"])
        ]

    assert eventually(lambda: len(found()) >= count), [r.rcpt_tos for r in sink.received]
    return found()


def test_the_eleventh_new_ticket_in_an_hour_goes_on_the_newest_open_one(
    daemon: DaemonThread, sink: Sink, clock: ManualClock
) -> None:
    for n in range(10):
        new_mail(daemon, n)
        clock.advance(timedelta(minutes=1))
    assert numbers(daemon) == list(range(1000, 1010))
    assert kind_count(daemon, "acknowledgement") == 10
    assert kind_count(daemon, "notification") == 10  # Alice hears of each new ticket

    new_mail(daemon, 10)
    assert numbers(daemon) == list(range(1000, 1010))  # no ticket opened: nothing lost
    stored = messages_of(daemon, 1009)
    assert [m.subject for m in stored] == ["Alert 9", "Alert 10"]
    assert "alert number 10" in stored[-1].reply_text
    events = events_of(daemon, 1009)
    [limited] = [e for e in events if e.kind == "message.limited"]
    assert limited.actor == f"customer:{ADA}"
    assert limited.data["sender"] == ADA and limited.data["limit"] == 10
    assert limited.data["opened_last_hour"] == 10 and limited.data["admins_told"] == [OPS]
    [received] = [e for e in events if e.kind == "message.received"]
    assert received.data["threaded_by"] == "new-ticket-limit"
    # No acknowledgement, no notice to agents, no change of the ticket.
    assert kind_count(daemon, "acknowledgement") == 10
    assert kind_count(daemon, "notification") == 10
    assert [e.kind for e in events].count("acknowledgement.queued") == 1  # its own, as new
    assert rows(daemon, Ticket)[-1].status == "new"
    # The admins: one mail about this sender.
    [subject] = admin_mail_at_sink(sink, 1)
    assert ADA in subject
    [notice] = [row for row in rows(daemon, OutboxMessage) if row.kind == "admin"]
    assert notice.recipients == [OPS]
    text = (
        next(r.message for r in sink.received if OPS in r.rcpt_tos)
        .get_body(("plain",))
        .get_content()
    )
    assert "[ACME #1009] Alert 9" in text and "Alert 10" in text

    # The 12th: stored the same way, and no second mail to the admins this hour.
    new_mail(daemon, 11)
    assert numbers(daemon) == list(range(1000, 1010))
    assert [m.subject for m in messages_of(daemon, 1009)][-1] == "Alert 11"
    assert kind_count(daemon, "admin") == 1
    second = [e for e in events_of(daemon, 1009) if e.kind == "message.limited"][-1]
    assert "admins_told" not in second.data

    # An hour after the first tickets the count starts again.
    clock.advance(timedelta(minutes=60))
    new_mail(daemon, 12)
    assert numbers(daemon)[-1] == 1010
    assert kind_count(daemon, "acknowledgement") == 11
    for n in range(13, 22):
        new_mail(daemon, n)
    assert numbers(daemon)[-1] == 1019
    new_mail(daemon, 22)  # past the limit again, in another hour: the admins hear again
    assert numbers(daemon)[-1] == 1019
    assert [m.subject for m in messages_of(daemon, 1019)] == ["Alert 21", "Alert 22"]
    assert kind_count(daemon, "admin") == 2
    assert len(admin_mail_at_sink(sink, 2)) == 2


def test_sub_addresses_count_as_one_sender(daemon: DaemonThread, sink: Sink) -> None:
    for n in range(10):
        new_mail(daemon, n, sender=f"Ada <ada+{n}@customer.example>")
    new_mail(daemon, 10, sender="Ada <Ada@Customer.Example>")
    assert len(numbers(daemon)) == 10
    [limited] = [e for e in events_of(daemon, 1009) if e.kind == "message.limited"]
    assert limited.data["sender"] == ADA


def test_the_newest_open_ticket_wins_over_newer_resolved_ones(
    daemon: DaemonThread, sink: Sink
) -> None:
    for n in range(10):
        new_mail(daemon, n)
    with daemon.runtime.write_sessions.begin() as session:
        for ticket in session.scalars(select(Ticket).where(Ticket.number >= 1005)):
            ticket.status = "resolved"
    new_mail(daemon, 10)
    assert [m.subject for m in messages_of(daemon, 1004)][-1] == "Alert 10"
    assert len(numbers(daemon)) == 10


def test_agents_and_exempt_senders_are_not_limited(
    tmp_path: Path, database_url: str, sink: Sink, clock: ManualClock
) -> None:
    data = flood_data(
        tmp_path, database_url, sink, exempt=["alerts@monitor.example", "@partner.example"]
    )
    running = DaemonThread(config_from_mapping(data), clock).start()
    try:
        senders = (
            "Monitor <alerts+disk@monitor.example>",
            "Partner <desk@partner.example>",
            # An agent's address, though this mail fails the trust rule (no proof): opens
            # tickets as a stranger's mail would, and is not limited.
            f"Alice <{ALICE}>",
        )
        for sender in senders:
            for n in range(12):
                new_mail(running, n, sender=sender)
        assert len(numbers(running)) == 36
        assert not any(e.kind == "message.limited" for e in rows(running, Event))
        assert kind_count(running, "admin") == 0
    finally:
        running.stop()


def test_zero_turns_the_limit_off(
    tmp_path: Path, database_url: str, sink: Sink, clock: ManualClock
) -> None:
    data = flood_data(tmp_path, database_url, sink, new_tickets_per_sender_per_hour=0)
    running = DaemonThread(config_from_mapping(data), clock).start()
    try:
        for n in range(12):
            new_mail(running, n)
        assert len(numbers(running)) == 12
    finally:
        running.stop()


def test_a_lower_limit_applies_from_the_configuration(
    tmp_path: Path, database_url: str, sink: Sink, clock: ManualClock
) -> None:
    data = flood_data(tmp_path, database_url, sink, new_tickets_per_sender_per_hour=2)
    running = DaemonThread(config_from_mapping(data), clock).start()
    try:
        for n in range(4):
            new_mail(running, n)
        assert numbers(running) == [1000, 1001]
        assert [m.subject for m in messages_of(running, 1001)] == ["Alert 1", "Alert 2", "Alert 3"]
    finally:
        running.stop()


def test_maild_import_is_not_limited(tmp_path: Path, database_url: str, sink: Sink) -> None:
    config_file = tmp_path / "config.toml"
    write_toml(flood_data(tmp_path, database_url, sink), config_file)
    mails = [
        customer_mail(subject=f"Old alert {n}", message_id=f"<old-{n}@customer.example>")
        for n in range(15)
    ]
    mbox = write_mbox(tmp_path / "history.mbox", mails)
    result = CliRunner().invoke(
        cli, ["-c", str(config_file), "import", "--json", "--status", "keep-open", str(mbox)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["new_tickets"] == 15
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            tickets = connection.execute(select(Ticket.number)).scalars().all()
            kinds = connection.execute(select(Event.kind)).scalars().all()
            admin = connection.execute(
                select(OutboxMessage.id).where(OutboxMessage.kind == "admin")
            ).all()
    finally:
        engine.dispose()
    assert len(tickets) == 15 and "message.limited" not in kinds and admin == []
