"""RFC 3464 delivery reports: who bounced, permanently or not."""

from __future__ import annotations

from parsing import parse_message
from parsing.model import Bounce
from tests.parsing.corpus import load, mail


def _report(*recipient_blocks: str, report_type: str = "delivery-status") -> bytes:
    status = "Reporting-MTA: dns; mx.example\n\n" + "\n\n".join(recipient_blocks) + "\n"
    body = (
        "--b\nContent-Type: text/plain\n\nDelivery report.\n"
        f"--b\nContent-Type: message/delivery-status\n\n{status}"
        "--b--\n"
    )
    return mail(
        "Return-Path: <>",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type={report_type}; boundary="b"',
        body=body,
        sender="MAILER-DAEMON@mx.example",
    )


def test_postfix_fixture() -> None:
    parsed = parse_message(load("dsn-postfix.eml"))
    assert parsed.bounce == Bounce(
        ("gone.user@customer.example",), True, "5.1.1", "<ticket-1203.x1@acme.test>"
    )


def test_delayed_is_not_permanent() -> None:
    raw = _report("Final-Recipient: rfc822; Slow@Example.org\nAction: delayed\nStatus: 4.4.1")
    assert parse_message(raw).bounce == Bounce(("slow@example.org",), False, "4.4.1")


def test_several_recipients_only_failed_and_delayed_listed() -> None:
    raw = _report(
        "Final-Recipient: rfc822;ok@example.org\nAction: delivered\nStatus: 2.0.0",
        "Final-Recipient: rfc822; <gone@example.org>\nAction: failed\nStatus: 5.2.1",
        "Final-Recipient: rfc822; later@example.org\nAction: delayed\nStatus: 4.2.2",
    )
    bounce = parse_message(raw).bounce
    assert bounce == Bounce(("gone@example.org", "later@example.org"), True, "5.2.1")


def test_success_report_has_no_recipients() -> None:
    raw = _report("Final-Recipient: rfc822; ok@example.org\nAction: delivered\nStatus: 2.0.0")
    parsed = parse_message(raw)
    assert parsed.automated == "bounce"
    assert parsed.bounce == Bounce((), False, "2.0.0")


def test_status_without_action_decides() -> None:
    raw = _report("Final-Recipient: rfc822; x@example.org\nStatus: 5.7.1 (rejected)")
    assert parse_message(raw).bounce == Bounce(("x@example.org",), True, "5.7.1")


def test_original_recipient_when_final_is_missing() -> None:
    raw = _report("Original-Recipient: rfc822;Who@Example.org\nAction: failed\nStatus: 5.0.0")
    assert parse_message(raw).bounce == Bounce(("who@example.org",), True, "5.0.0")


def test_delivery_status_part_without_report_wrapper_is_a_bounce() -> None:
    raw = mail(
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="b"',
        body=(
            "--b\nContent-Type: text/plain\n\nfailed\n"
            "--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n"
            "Final-Recipient: rfc822; a@example.org\nAction: failed\nStatus: 5.1.1\n"
            "--b--\n"
        ),
    )
    parsed = parse_message(raw)
    assert parsed.automated == "bounce"
    assert parsed.bounce is not None
    assert parsed.bounce.recipients == ("a@example.org",)


def test_a_forwarded_bounce_is_the_customers_mail() -> None:
    """A customer forwarding a bounce as an attachment asks a question; it is no bounce."""
    inner = load("dsn-postfix.eml").decode("ascii")
    raw = mail(
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="outer"',
        body=(
            "--outer\nContent-Type: text/plain\n\nWhy did this bounce?\n"
            "--outer\nContent-Type: message/rfc822\nContent-Disposition: attachment\n\n"
            f"{inner}\n--outer--\n"
        ),
    )
    parsed = parse_message(raw)
    assert parsed.automated is None
    assert parsed.bounce is None
    assert parsed.text == "Why did this bounce?"
    assert [a.content_type for a in parsed.attachments] == ["message/rfc822"]
    assert parsed.attachments[0].data.startswith(b"Return-Path: <>")


def test_read_receipts_are_not_bounces() -> None:
    raw = mail(
        "MIME-Version: 1.0",
        'Content-Type: multipart/report; report-type=disposition-notification; boundary="b"',
        body=(
            "--b\nContent-Type: text/plain\n\nYour message was read.\n"
            "--b\nContent-Type: message/disposition-notification\n\n"
            "Final-Recipient: rfc822; ada@customer.example\n"
            "Disposition: manual-action/MDN-sent-manually; displayed\n"
            "--b--\n"
        ),
    )
    parsed = parse_message(raw)
    assert parsed.bounce is None
    assert parsed.automated is None
