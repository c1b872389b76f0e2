"""The operator's views (`tickets`, `outbox`, `quarantine retry`, `parse`) over a real daemon."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from maild.cli import cli
from maild.cli.mail import PARSE_KEYS
from storage.models import OutboxMessage, OutboxStatus, QuarantinedMessage, QuarantineStatus
from tests.mails import customer_mail
from tests.support import DaemonThread, Sink, eventually


def run(config_file: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["-c", str(config_file), *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_tickets_list_and_show_json(daemon: DaemonThread, sink: Sink, config_file: Path) -> None:
    daemon.send(customer_mail(message_id="<first@customer.example>", body="first words\n"))
    [ack] = sink.wait_for(1)
    daemon.send(
        customer_mail(
            subject="Re: [ACME #1000] Printer on fire",
            body="second words\n",
            in_reply_to=ack.message["Message-ID"],
        )
    )

    [summary] = json.loads(run(config_file, "tickets", "list", "--json"))
    assert set(summary) == {
        "number",
        "subject",
        "status",
        "priority",
        "requester",
        "assignee",
        "team",
        "tier",
        "category",
        "tags",
        "created_at",
        "updated_at",
        "first_response_at",
        "resolved_at",
    }
    assert summary["number"] == 1000 and summary["status"] == "new"
    assert summary["tags"] == [] and summary["first_response_at"] is None

    shown = json.loads(run(config_file, "tickets", "show", "1000", "--json"))
    assert [m["kind"] for m in shown["messages"]] == ["customer", "customer"]
    assert "first words" in shown["messages"][0]["body"]
    assert "second words" in shown["messages"][1]["body"]
    assert {"kind", "from", "created_at", "body"} <= set(shown["messages"][0])
    kinds = [event["kind"] for event in shown["events"]]
    assert kinds[0] == "ticket.created" and "message.received" in kinds

    text = run(config_file, "tickets", "show", "1000")
    assert "[ACME #1000]" in text and text.index("first words") < text.index("second words")
    assert "filter" not in run(config_file, "tickets", "list", "--status", "closed")


def test_outbox_lists_dead_mail(daemon: DaemonThread, sink: Sink, config_file: Path) -> None:
    sink.handler.data_reply = "550 5.1.1 no such user"
    daemon.send(customer_mail())

    def dead() -> bool:
        with daemon.runtime.sessions() as session:
            return session.scalars(select(OutboxMessage.status)).all() == [OutboxStatus.DEAD]

    assert eventually(dead)
    [listed] = json.loads(run(config_file, "outbox", "--json"))
    assert listed["status"] == "dead" and listed["ticket"] == 1000
    assert "550" in listed["last_error"]


def test_quarantine_retry_releases_a_fixed_message(daemon: DaemonThread, config_file: Path) -> None:
    daemon.send(b"Subject: no sender at all\r\n\r\nbody\r\n")
    with daemon.runtime.sessions() as session:
        [held] = session.scalars(select(QuarantinedMessage)).all()
    result = CliRunner().invoke(cli, ["-c", str(config_file), "quarantine", "retry", str(held.id)])
    assert result.exit_code != 0 and "still held" in result.output

    with daemon.runtime.write_sessions() as session, session.begin():
        row = session.get(QuarantinedMessage, held.id)
        row.raw = b"From: ada@customer.example\r\n" + row.raw  # what an operator's fix does
    assert "new_ticket" in run(config_file, "quarantine", "retry", str(held.id))
    with daemon.runtime.sessions() as session:
        assert session.get(QuarantinedMessage, held.id).status == QuarantineStatus.RELEASED


def test_parse_json_has_the_documented_keys(tmp_path: Path) -> None:
    first = tmp_path / "a.eml"
    first.write_bytes(
        customer_mail(subject="Re: [ACME #1234] hello", message_id="<a@customer.example>")
    )
    second = tmp_path / "b.eml"
    second.write_bytes(b"\xff\xfe not a mail at all")
    config = tmp_path / "c.toml"
    config.write_text('[maild]\nticket_prefix = "ACME"\n')
    result = CliRunner().invoke(
        cli,
        [
            "-c",
            str(config),
            "parse",
            "--json",
            str(first),
            str(second),
            str(tmp_path / "missing.eml"),
        ],
    )
    assert result.exit_code != 0
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 2
    assert all(tuple(line) == PARSE_KEYS for line in lines)  # JSON_KEYS, then "quarantine"
    assert lines[0]["ticket_ref"] == 1234 and lines[0]["message_id"] == "<a@customer.example>"
    assert "missing.eml" in result.stderr
