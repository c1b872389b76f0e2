"""Non-standard bounces (flufl.bounce), and what every bounce says about our message.

The MTA dialects themselves are in the fixture table (test_corpus); these tests hold the
edges: who may send a bounce, how temporary differs from permanent, where the Message-ID
of the bounced message comes from, and that a detector failing costs nothing but itself.
"""

from __future__ import annotations

import pytest

from parsing import parse_message
from parsing.bounces import notification
from parsing.model import Bounce
from tests.parsing.corpus import load, mail

QMAIL_TEXT = (
    "Hi. This is the qmail-send program at mail.example.org.\n"
    "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
    "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
    "<gone@example.org>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n"
    "--- Below this line is a copy of the message.\n\n"
    "From: ACME Support <support@acme.test>\nMessage-ID: <ack-1@acme.test>\n\nHello\n"
)


def test_a_customer_quoting_a_bounce_is_not_one() -> None:
    """Only a machine's mail is read for bounce dialects: a person's words never are."""
    parsed = parse_message(mail("Subject: Undeliverable: my order", body=QMAIL_TEXT))
    assert parsed.bounce is None
    assert parsed.automated is None
    assert parsed.reply_text.startswith("Hi. This is the qmail-send program")


@pytest.mark.parametrize(
    "headers",
    [
        ("Return-Path: <>",),
        ("Subject: failure notice",),
    ],
)
def test_a_machine_sender_makes_the_text_a_bounce(headers: tuple[str, ...]) -> None:
    raw = mail(*headers, body=QMAIL_TEXT, sender="MAILER-DAEMON@mail.example.org")
    parsed = parse_message(raw)
    assert parsed.automated == "bounce"
    assert parsed.bounce == Bounce(("gone@example.org",), True, "5.1.1", "<ack-1@acme.test>")


def test_null_return_path_alone_lets_the_detectors_read() -> None:
    raw = mail("Return-Path: <>", body=QMAIL_TEXT, sender="Bounces <bounce@mail.example.org>")
    assert parse_message(raw).bounce == Bounce(
        ("gone@example.org",), True, "5.1.1", "<ack-1@acme.test>"
    )


def test_x_failed_recipients_names_the_failed() -> None:
    raw = mail(
        "X-Failed-Recipients: Gone@Example.org, other@example.org",
        "Subject: Mail delivery failed: returning message to sender",
        body="A message that you sent could not be delivered.\n550 5.1.1 unknown user\n",
        sender="Mail Delivery System <Mailer-Daemon@mx.example.org>",
    )
    bounce = parse_message(raw).bounce
    assert bounce == Bounce(("gone@example.org", "other@example.org"), True, "5.1.1", None)


def test_a_bounce_subject_from_a_machine_is_a_bounce_even_unread() -> None:
    """An unknown dialect still belongs to the ticket whose mail bounced."""
    raw = mail(
        "Subject: Undeliverable: [ACME #12] We received your request",
        "In-Reply-To: <ack-9@acme.test>",
        body="Something went wrong: 554 5.7.1 rejected by policy.\n\n"
        "------ This is a copy of the message's headers. ------\n\n"
        "Message-ID: <ack-9@acme.test>\nSubject: [ACME #12] We received your request\n",
        sender="postmaster@mx.example.org",
    )
    parsed = parse_message(raw)
    assert parsed.automated == "bounce"
    assert parsed.bounce == Bounce((), True, "5.7.1", "<ack-9@acme.test>")


def test_mailer_daemon_without_a_bounce_is_only_a_daemon() -> None:
    parsed = parse_message(mail("Subject: Your mailbox is almost full", sender="postmaster@x.org"))
    assert (parsed.automated, parsed.bounce) == ("mailer-daemon", None)


@pytest.mark.parametrize(
    "subject",
    [
        "Warning: message 1tsKab-0003Zz-1Q delayed 24 hours",
        "Delayed Mail (still being retried)",
        "Delivery Status Notification (Delay)",
        "WARNING: delayed mail.",
    ],
)
def test_delay_warnings_are_temporary(subject: str) -> None:
    """flufl.bounce counts what it cannot classify as permanent; the subject knows better."""
    raw = mail(
        f"Subject: {subject}",
        "X-Failed-Recipients: slow@example.org",
        body="Delivery will be retried.\n",
        sender="MAILER-DAEMON@mx.example.org",
    )
    bounce = parse_message(raw).bounce
    assert bounce is not None
    assert bounce.recipients == ("slow@example.org",)
    assert bounce.permanent is False


def test_a_4xx_status_is_temporary() -> None:
    raw = mail(
        "X-Failed-Recipients: slow@example.org",
        body="451 4.7.1 greylisted, try later\n",
        sender="MAILER-DAEMON@mx.example.org",
    )
    bounce = parse_message(raw).bounce
    assert bounce is not None
    assert (bounce.permanent, bounce.status) == (False, "4.7.1")


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("host 5.9.1.12 said: 550 5.1.1 unknown\n", "5.1.1"),
        ("Sorry. (#5.2.2)\n", "5.2.2"),
        ("Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound'\n", "5.1.10"),
        ("no code here, the date is 5.12.2024\n", None),
    ],
)
def test_the_status_is_an_enhanced_code_not_an_address(text: str, status: str | None) -> None:
    raw = mail("X-Failed-Recipients: gone@example.org", body=text, sender="MAILER-DAEMON@x.example")
    bounce = parse_message(raw).bounce
    assert bounce is not None
    assert bounce.status == status


def test_status_codes_of_the_returned_message_do_not_count() -> None:
    text = "Delivery failed.\n\n--- Below this line is a copy of the message.\n\nStatus 5.1.1\n"
    assert notification(text) == "Delivery failed.\n\n"
    raw = mail("X-Failed-Recipients: a@example.org", body=text, sender="MAILER-DAEMON@x.example")
    bounce = parse_message(raw).bounce
    assert bounce is not None
    assert bounce.status is None


def _report(per_message: str, returned: str = "") -> bytes:
    body = (
        "--b\nContent-Type: text/plain\n\nDelivery failed.\n"
        f"--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n{per_message}\n"
        "Final-Recipient: rfc822; gone@example.org\nAction: failed\nStatus: 5.1.1\n"
        f"{returned}--b--\n"
    )
    return mail(
        "MIME-Version: 1.0",
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
        body=body,
        sender="MAILER-DAEMON@mx.example",
    )


def test_original_message_id_from_the_returned_headers() -> None:
    returned = "--b\nContent-Type: text/rfc822-headers\n\nMessage-ID:\n <ack-7@acme.test>\n\n"
    bounce = parse_message(_report("", returned)).bounce
    assert bounce is not None
    assert bounce.original_message_id == "<ack-7@acme.test>"


def test_original_message_id_from_the_returned_message() -> None:
    returned = (
        "--b\nContent-Type: message/rfc822\n\nFrom: s@acme.test\nMessage-Id: <ack-8@acme.test>\n"
        "Subject: hi\n\nbody\n"
    )
    bounce = parse_message(_report("", returned)).bounce
    assert bounce is not None
    assert bounce.original_message_id == "<ack-8@acme.test>"


def test_original_message_id_from_the_report_itself() -> None:
    bounce = parse_message(_report("X-Original-Message-ID: <ack-9@acme.test>\n")).bounce
    assert bounce is not None
    assert bounce.original_message_id == "<ack-9@acme.test>"


def test_no_original_message_id_when_the_bounce_has_none() -> None:
    bounce = parse_message(_report("")).bounce
    assert bounce is not None
    assert bounce.original_message_id is None


def test_a_failing_detector_costs_only_its_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(_message: object) -> None:
        raise RuntimeError("detector bug")

    monkeypatch.setattr("parsing.bounces.all_failures", explode)
    parsed = parse_message(
        mail("Subject: failure notice", body=QMAIL_TEXT, sender="MAILER-DAEMON@x.org")
    )
    assert parsed.automated == "bounce"
    assert parsed.bounce == Bounce((), True, "5.1.1", "<ack-1@acme.test>")
    rfc3464 = parse_message(load("dsn-postfix.eml")).bounce
    assert rfc3464 is not None
    assert rfc3464.recipients == ("gone.user@customer.example",)


def test_the_reply_text_of_a_bounce_is_the_mtas_notification() -> None:
    parsed = parse_message(load("bounce-exim.eml"))
    assert "This is a copy of the message" not in parsed.reply_text
    assert parsed.reply_text.endswith("User unknown in local recipient table")
    assert parsed.signature is None
