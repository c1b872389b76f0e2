"""The console's views over a SQLite database filled by ``maild ingest``: what each prints
comes from one query function of ``storage/console.py``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import create_engine, delete, select
from sqlalchemy.orm import Session

from parsing import problems
from storage.models import OutboxMessage, OutboxStatus, Ticket
from tests.cli.conftest import invoke
from tests.mails import customer_mail

NO_FROM = b"To: support@example.com\r\nSubject: who sent this?\r\n\r\nNo sender at all.\r\n"


def with_attachment() -> bytes:
    message = EmailMessage()
    message["From"] = "Ada Lovelace <ada@customer.example>"
    message["To"] = "support@example.com"
    message["Subject"] = "Screenshot"
    message["Message-ID"] = "<shot@customer.example>"
    message.set_content("See the screenshot.\n")
    message.add_attachment(b"\x89PNG fake", maintype="image", subtype="png", filename="shot.png")
    return message.as_bytes()


def test_an_empty_database_shows_nothing(console_config: Path) -> None:
    absent = invoke(console_config, "tickets", "list", "--json")
    assert absent.exit_code == 1 and "no database at" in absent.output
    assert invoke(console_config, "db", "upgrade").exit_code == 0
    listed = invoke(console_config, "tickets", "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout) == []
    missing = invoke(console_config, "tickets", "show", "1000")
    assert missing.exit_code == 1 and "no ticket #1000" in missing.output


def test_tickets_show_lists_messages_attachments_and_events(console_config: Path) -> None:
    assert invoke(console_config, "ingest", input=with_attachment()).exit_code == 0
    shown = json.loads(invoke(console_config, "tickets", "show", "1000", "--json").stdout)
    assert shown["number"] == 1000 and shown["requester"] == "ada@customer.example"
    [message] = shown["messages"]
    assert message["attachments"] == [
        {"filename": "shot.png", "content_type": "image/png", "size": len(b"\x89PNG fake")}
    ]
    assert {"address": "ada@customer.example", "role": "requester"}.items() <= (
        shown["participants"][0].items()
    )
    assert shown["events"][0]["kind"] == "ticket.created"
    text = invoke(console_config, "tickets", "show", "1000").stdout
    assert text.startswith("[ACME #1000] Screenshot") and "[attachment] shot.png" in text


def test_outbox_lists_pending_and_dead_mail_with_its_ticket(
    console_config: Path, sqlite_url: str
) -> None:
    assert invoke(console_config, "ingest", input=customer_mail()).exit_code == 0
    engine = create_engine(sqlite_url)
    with Session(engine) as session, session.begin():
        ticket_id = session.scalars(select(Ticket.id).where(Ticket.number == 1000)).one()
        session.execute(delete(OutboxMessage))
        rows = [(OutboxStatus.DEAD, ticket_id), (OutboxStatus.SENT, ticket_id)]
        for status, ticket in [*rows, (OutboxStatus.PENDING, None)]:
            session.add(
                OutboxMessage(
                    ticket_id=ticket,
                    kind="notice",
                    message_id=f"<{status}@example.com>",
                    mail_from="support@example.com",
                    recipients=["ada@customer.example"],
                    raw=b"",
                    status=status,
                    attempts=3,
                    next_attempt_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
                    last_error="550 5.1.1 no such user" if status is OutboxStatus.DEAD else None,
                    created_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
                )
            )
    engine.dispose()
    dead, pending = json.loads(invoke(console_config, "outbox", "--json").stdout)
    assert (dead["status"], dead["ticket"], dead["last_error"]) == (
        "dead",
        1000,
        "550 5.1.1 no such user",
    )
    assert (pending["status"], pending["ticket"]) == ("pending", None)
    assert dead["recipients"] == ["ada@customer.example"] and dead["attempts"] == 3


def test_quarantine_list_and_show_a_held_message(console_config: Path) -> None:
    stored = invoke(console_config, "ingest", input=NO_FROM)
    assert stored.exit_code == 0 and "(quarantine)" in stored.stdout
    [held] = json.loads(invoke(console_config, "quarantine", "list", "--json").stdout)
    assert held["status"] == "held" and held["error"].startswith(problems.NO_FROM)

    shown = invoke(console_config, "quarantine", "show", str(held["id"])).stdout
    assert "recipients: support@example.com" in shown and problems.NO_FROM in shown
    raw = invoke(console_config, "quarantine", "show", "--raw", str(held["id"]))
    assert raw.stdout_bytes.replace(b"\r\n", b"\n") == NO_FROM.replace(b"\r\n", b"\n")
    assert "no quarantined message 99" in invoke(console_config, "quarantine", "show", "99").output


def test_participants_lists_no_bouncing_address_on_a_fresh_helpdesk(
    console_config: Path,
) -> None:
    assert invoke(console_config, "ingest", input=customer_mail()).exit_code == 0
    assert json.loads(invoke(console_config, "participants", "--json").stdout) == []
    cleared = invoke(console_config, "participants", "clear", "ada@customer.example")
    assert cleared.exit_code == 1 and "is not marked bouncing" in cleared.output
