"""``maild import`` of real history (DECISIONS "History import"): the mail keeps its own
dates, agents' answers are agents' and the first response, the status is the admin's
choice, nothing fires at the next SLA sweep, and an mbox separator is not a header."""

from __future__ import annotations

import json
import mailbox
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select

from maild.cli import cli
from storage.models import Event, Message, OutboxMessage, Ticket
from tests.conftest import config_data
from tests.importing.archives import thread_mail, write_mbox
from tests.importing.test_import import run_import
from tests.sla.conftest import POLICY
from tests.support import Sink, write_toml

ADA = "Ada Lovelace <ada@customer.example>"
ALICE = "Alice <alice@example.com>"  # a configured agent
CLARA = "Clara <clara@example.com>"  # a colleague who is not configured
YEAR_AGO = (datetime.now(UTC) - timedelta(days=365)).replace(microsecond=0)


@pytest.fixture
def history_config(tmp_path: Path, database_url: str, sink: Sink) -> Path:
    """The test configuration with the SLA suite's policy: agents, 1h/8h targets."""
    rules = tmp_path / "rules.toml"
    write_toml(POLICY, rules)
    data = config_data(tmp_path, database_url, sink.port)
    data["maild"]["rules_file"] = str(rules)
    path = tmp_path / "history.toml"
    write_toml(data, path)
    return path


def at(hours: float) -> datetime:
    return YEAR_AGO + timedelta(hours=hours)


def conversation(agent: str = ALICE) -> list[bytes]:
    """A year-old thread: Ada asks, an agent answers two hours later, Ada thanks them."""
    return [
        thread_mail(1, sender=ADA, date=format_datetime(at(0))),
        thread_mail(2, parent=1, sender=agent, date=format_datetime(at(2))),
        thread_mail(3, parent=2, sender=ADA, date=format_datetime(at(3))),
    ]


def rows(database_url: str) -> tuple[list[Any], list[Any], list[Any]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            tickets = connection.execute(select(Ticket).order_by(Ticket.number)).all()
            messages = connection.execute(select(Message).order_by(Message.id)).all()
            events = connection.execute(select(Event).order_by(Event.id)).all()
    finally:
        engine.dispose()
    return tickets, messages, events


def utc(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def sweep(config_file: Path) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["-c", str(config_file), "sla", "sweep", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_imported_history_keeps_its_dates_and_is_closed(
    tmp_path: Path, history_config: Path, database_url: str
) -> None:
    mbox = write_mbox(tmp_path / "history.mbox", conversation())
    summary = run_import(history_config, str(mbox))
    assert (summary["new_tickets"], summary["replies"], summary["automated"]) == (1, 2, 0)
    [ticket], messages, events = rows(database_url)
    assert str(ticket.status) == "closed"
    assert utc(ticket.created_at) == at(0)
    assert utc(ticket.first_response_at) == at(2)
    assert utc(ticket.closed_at) == at(3)
    assert utc(ticket.updated_at) == at(3)
    assert [str(message.kind) for message in messages] == ["customer", "agent", "customer"]
    assert [utc(message.created_at) for message in messages] == [at(0), at(2), at(3)]
    assert all(at(0) <= utc(event.at) <= at(3) for event in events)
    report = sweep(history_config)
    assert report["fired"] == 0


def test_keep_open_leaves_what_live_intake_would_and_the_sla_quiet(
    tmp_path: Path, history_config: Path, database_url: str
) -> None:
    mbox = write_mbox(tmp_path / "history.mbox", conversation())
    run_import(history_config, str(mbox), "--status", "keep-open")
    [ticket], _, _ = rows(database_url)
    assert str(ticket.status) == "open"  # the last message is the customer's
    assert utc(ticket.first_response_at) == at(2)
    # The year-old resolution target is past: marked fired at the import, not fired now.
    assert sweep(history_config)["fired"] == 0
    _, _, events = rows(database_url)
    assert not [event for event in events if str(event.kind).startswith("sla.")]


def test_keep_open_after_an_agents_answer_is_pending(
    tmp_path: Path, history_config: Path, database_url: str
) -> None:
    mbox = write_mbox(tmp_path / "history.mbox", conversation()[:2])
    run_import(history_config, str(mbox), "--status", "keep-open")
    [ticket], _, _ = rows(database_url)
    assert str(ticket.status) == "pending"
    assert sweep(history_config)["fired"] == 0


def test_agents_from_makes_a_colleague_an_agent_and_the_dry_run_agrees(
    tmp_path: Path, history_config: Path, database_url: str
) -> None:
    mbox = write_mbox(tmp_path / "history.mbox", conversation(agent=CLARA))
    dry = run_import(history_config, str(mbox), "--agents-from", "example.com", "--dry-run")
    real = run_import(history_config, str(mbox), "--agents-from", "example.com")
    counts = ("new_tickets", "replies", "automated", "quarantined")
    assert {key: dry[key] for key in counts} == {key: real[key] for key in counts}
    [would] = dry["would"]["tickets"]
    [ticket], messages, _ = rows(database_url)
    assert would["status"] == str(ticket.status) == "closed"
    assert [str(message.kind) for message in messages] == ["customer", "agent", "customer"]
    assert utc(ticket.first_response_at) == at(2)


def test_without_agents_from_the_colleague_is_a_customer(
    tmp_path: Path, history_config: Path, database_url: str
) -> None:
    mbox = write_mbox(tmp_path / "history.mbox", conversation(agent=CLARA))
    run_import(history_config, str(mbox))
    tickets, messages, _ = rows(database_url)
    assert [str(message.kind) for message in messages] == ["customer", "customer", "customer"]
    assert all(ticket.first_response_at is None for ticket in tickets)


def test_an_implausible_date_is_the_import_time(
    tmp_path: Path, history_config: Path, database_url: str
) -> None:
    future = format_datetime(datetime.now(UTC) + timedelta(days=30))
    mbox = write_mbox(
        tmp_path / "a.mbox",
        [
            thread_mail(1, date="Mon, 01 Jan 1979 10:00:00 +0000"),
            thread_mail(2, date=future),
        ],
    )
    before = datetime.now(UTC) - timedelta(seconds=5)
    run_import(history_config, str(mbox))
    tickets, _, _ = rows(database_url)
    assert all(before <= utc(ticket.created_at) <= datetime.now(UTC) for ticket in tickets)


# --------------------------------------------------------------------------------------------
# The mbox separator is not a header


def python_mbox(path: Path, mails: list[bytes]) -> Path:
    """An mbox as Python's ``mailbox`` writes it: ``From MAILER-DAEMON <now>`` separators."""
    box = mailbox.mbox(path)
    try:
        for raw in mails:
            box.add(raw)
        box.flush()
    finally:
        box.close()
    assert path.read_bytes().startswith(b"From MAILER-DAEMON ")
    return path


BOUNCE = (
    b"Return-Path: <>\nFrom: Mail Delivery System <mailer-daemon@mx.example>\n"
    b"To: support@example.com\nSubject: Undelivered Mail Returned to Sender\n"
    b"Message-ID: <bounce-1@mx.example>\nDate: Mon, 06 Jan 2025 12:00:00 +0000\n\n"
    b"This is the mail system at host mx.example. I'm sorry...\n"
)
REPORT = (
    b"From: postmaster@mx.example\nTo: support@example.com\nSubject: Delivery Status\n"
    b"Message-ID: <report-1@mx.example>\nDate: Mon, 06 Jan 2025 13:00:00 +0000\n"
    b"MIME-Version: 1.0\n"
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
    b"--b\nContent-Type: text/plain\n\nDelivery failed.\n"
    b"--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example\n\n"
    b"Final-Recipient: rfc822; nobody@customer.example\nAction: failed\nStatus: 5.1.1\n\n"
    b"--b--\n"
)


def test_a_python_mbox_of_customer_mail_is_customer_mail(
    tmp_path: Path, config_file: Path, database_url: str
) -> None:
    mails = [
        thread_mail(1, sender=ADA),
        thread_mail(2, sender="Bob <bob@customer.example>"),
        thread_mail(3, parent=1, sender=ADA),
    ]
    mbox = python_mbox(tmp_path / "python.mbox", mails)
    dry = run_import(config_file, str(mbox), "--notify", "--status", "keep-open", "--dry-run")
    real = run_import(config_file, str(mbox), "--notify", "--status", "keep-open")
    for summary in (dry, real):
        assert (summary["new_tickets"], summary["replies"], summary["automated"]) == (2, 1, 0)
    engine = create_engine(database_url)
    with engine.connect() as connection:
        kinds = connection.execute(select(OutboxMessage.kind)).scalars().all()
        automated = connection.execute(select(Message.automated)).scalars().all()
    engine.dispose()
    assert kinds == ["acknowledgement", "acknowledgement"]
    assert automated == [None, None, None]


def test_a_real_bounce_in_a_python_mbox_is_still_automated(
    tmp_path: Path, config_file: Path, database_url: str
) -> None:
    mbox = python_mbox(tmp_path / "python.mbox", [thread_mail(1, sender=ADA), BOUNCE, REPORT])
    dry = run_import(config_file, str(mbox), "--dry-run")
    real = run_import(config_file, str(mbox))
    for summary in (dry, real):
        # Ada's mail is hers; the two reports are known as delivery reports (for no mail
        # of ours, so held), not as customer mail.
        assert (summary["new_tickets"], summary["quarantined"]) == (1, 2)
    reasons = {held["reason"] for held in dry["would"]["quarantine"]}
    assert reasons == {"delivery failure report for no message of ours"}
    [ticket] = dry["would"]["tickets"]
    assert ticket["requester"] == "ada@customer.example"
