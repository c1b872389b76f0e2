"""No mail loops, and bounces that find their ticket: through real SMTP, read from the sink."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from maild.cli import cli
from maild.clock import ManualClock
from storage.models import (
    Event,
    Message,
    MessageKind,
    OutboxMessage,
    Participant,
    QuarantinedMessage,
    Ticket,
)
from tests.mails import customer_mail
from tests.support import DaemonThread, Sink


def rows(daemon: DaemonThread, model: type) -> list:
    with daemon.runtime.sessions() as session:
        return list(session.scalars(select(model).order_by(model.id)))


def delivery_failure(recipient: str, original_message_id: str, *, status: str = "5.1.1") -> bytes:
    """A Postfix-style RFC 3464 report for a message of ours that could not be delivered."""
    action = "failed" if status.startswith("5") else "delayed"
    return (
        "From: MAILER-DAEMON@mx.customer.example (Mail Delivery System)\r\n"
        "To: support@example.com\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <bounce-1@mx.customer.example>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n'
        "\r\n--B\r\nContent-Type: text/plain\r\n\r\n"
        f"<{recipient}>: host mx.customer.example said: 550 5.1.1 User unknown\r\n"
        "\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.customer.example\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        f"Action: {action}\r\nStatus: {status}\r\n"
        "\r\n--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {original_message_id}\r\nTo: {recipient}\r\n"
        "Subject: [ACME #1000] Printer on fire\r\n"
        "\r\n--B--\r\n"
    ).encode()


def test_per_address_limit_holds_back_automatic_mail(
    daemon: DaemonThread, sink: Sink, clock: ManualClock
) -> None:
    # An auto-responder that does not mark its replies writes new mail again and again.
    for n in range(8):
        daemon.send(
            customer_mail(
                subject=f"Thanks for your mail {n}",
                sender="robot@customer.example",
                message_id=f"<loop-{n}@customer.example>",
            )
        )
    assert len(rows(daemon, Ticket)) == 8
    assert len(rows(daemon, OutboxMessage)) == 5
    with daemon.runtime.sessions() as session:
        skipped = session.scalars(
            select(Event.data).where(Event.kind == "acknowledgement.skipped")
        ).all()
    assert [d["reason"] for d in skipped] == ["per-address limit reached"] * 3
    assert len(sink.wait_for(5)) == 5

    clock.advance(timedelta(minutes=61))
    daemon.send(
        customer_mail(
            subject="next hour",
            sender="robot@customer.example",
            message_id="<loop-next@customer.example>",
        )
    )
    assert len(rows(daemon, OutboxMessage)) == 6


def test_bounce_is_recorded_on_its_ticket_and_stops_mail(
    daemon: DaemonThread, sink: Sink, config_file: Path
) -> None:
    daemon.send(customer_mail(sender="gone@customer.example", message_id="<q@customer.example>"))
    [ack] = sink.wait_for(1)
    assert ack.mail_from.startswith("support+")  # VERP: bounces come back with the token
    daemon.send(
        delivery_failure("gone@customer.example", ack.message["Message-ID"]),
        mail_from="",
        rcpt_tos=(ack.mail_from,),
    )

    [ticket] = rows(daemon, Ticket)
    _customer, bounce = rows(daemon, Message)
    assert bounce.ticket_id == ticket.id and bounce.kind == MessageKind.SYSTEM
    assert bounce.automated == "bounce"
    [person] = rows(daemon, Participant)
    assert person.bouncing
    with daemon.runtime.sessions() as session:
        kinds = session.scalars(select(Event.kind).order_by(Event.id)).all()
    assert "bounce.received" in kinds and "participant.bouncing" in kinds

    # No more mail to a bouncing address, until a human clears it.
    daemon.send(
        customer_mail(
            sender="gone@customer.example", subject="another", message_id="<q2@customer.example>"
        )
    )
    assert len(rows(daemon, OutboxMessage)) == 1
    runner = CliRunner()
    listed = runner.invoke(cli, ["-c", str(config_file), "participants", "--json"])
    assert json.loads(listed.stdout)[0]["address"] == "gone@customer.example"
    cleared = runner.invoke(
        cli, ["-c", str(config_file), "participants", "clear", "gone@customer.example"]
    )
    assert cleared.exit_code == 0, cleared.output
    daemon.send(
        customer_mail(
            sender="gone@customer.example", subject="back again", message_id="<q3@customer.example>"
        )
    )
    assert len(rows(daemon, OutboxMessage)) == 2


def test_bounce_without_verp_finds_its_ticket_but_marks_nobody(
    daemon: DaemonThread, sink: Sink
) -> None:
    """Anyone who got our mail knows its Message-ID: only a report to the envelope sender
    of one recipient's copy can mark that recipient bouncing."""
    daemon.send(customer_mail(sender="gone@customer.example", message_id="<q@customer.example>"))
    [ack] = sink.wait_for(1)
    daemon.send(
        delivery_failure("gone@customer.example", ack.message["Message-ID"]),
        mail_from="",
        rcpt_tos=("support@example.com",),
    )
    assert len(rows(daemon, Ticket)) == 1
    assert rows(daemon, Message)[-1].automated == "bounce"
    assert not rows(daemon, Participant)[0].bouncing
    with daemon.runtime.sessions() as session:
        kinds = session.scalars(select(Event.kind).order_by(Event.id)).all()
    assert "bounce.unverified" in kinds and "participant.bouncing" not in kinds


def test_temporary_failure_does_not_mark_bouncing(daemon: DaemonThread, sink: Sink) -> None:
    daemon.send(customer_mail(sender="slow@customer.example", message_id="<s@customer.example>"))
    [ack] = sink.wait_for(1)
    daemon.send(
        delivery_failure("slow@customer.example", ack.message["Message-ID"], status="4.4.1"),
        mail_from="",
        rcpt_tos=(ack.mail_from,),
    )
    assert len(rows(daemon, Ticket)) == 1
    assert not rows(daemon, Participant)[0].bouncing


def test_bounce_for_no_ticket_of_ours_opens_none(daemon: DaemonThread) -> None:
    daemon.send(
        delivery_failure("x@customer.example", "<not-ours@elsewhere.example>"), mail_from=""
    )
    assert rows(daemon, Ticket) == []
    [held] = rows(daemon, QuarantinedMessage)
    assert "delivery failure" in held.error


def test_unmarked_out_of_office_reply_to_our_acknowledgement_gets_no_answer(
    daemon: DaemonThread, sink: Sink
) -> None:
    daemon.send(customer_mail(message_id="<first@customer.example>"))
    [ack] = sink.wait_for(1)
    # Only the subject says what it is: no Auto-Submitted, no Precedence, and no threading
    # headers either, as some auto-responders write.
    daemon.send(
        customer_mail(
            subject="Out of Office: " + ack.message["Subject"],
            message_id="<ooo@customer.example>",
            body="I am away until Monday.\n",
        )
    )
    assert len(rows(daemon, OutboxMessage)) == 1
    [ticket] = rows(daemon, Ticket)
    auto = rows(daemon, Message)[-1]
    assert auto.ticket_id == ticket.id and auto.automated == "out-of-office-subject"


def test_bounce_without_a_sender_address_still_finds_its_ticket(
    daemon: DaemonThread, sink: Sink
) -> None:
    """Courier writes ``From: <@>``: no address to read, yet the report is ours."""
    daemon.send(customer_mail(sender="gone@customer.example", message_id="<c@customer.example>"))
    [ack] = sink.wait_for(1)
    report = delivery_failure("gone@customer.example", ack.message["Message-ID"]).replace(
        b"From: MAILER-DAEMON@mx.customer.example (Mail Delivery System)",
        b'From: "Courier mail server at mx.customer.example" <@>',
    )
    daemon.send(report, mail_from="", rcpt_tos=(ack.mail_from,))
    assert len(rows(daemon, Ticket)) == 1
    assert rows(daemon, QuarantinedMessage) == []
    assert rows(daemon, Message)[-1].automated == "bounce"
    assert rows(daemon, Participant)[0].bouncing


def test_mail_without_sender_that_is_no_bounce_is_still_quarantined(daemon: DaemonThread) -> None:
    daemon.send(
        b'From: "Nobody" <@>\r\nTo: support@example.com\r\nSubject: hi\r\n\r\nhello\r\n',
        mail_from="",
    )
    assert rows(daemon, Ticket) == []
    assert len(rows(daemon, QuarantinedMessage)) == 1
