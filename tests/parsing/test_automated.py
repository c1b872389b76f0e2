"""The automated-mail verdict that keeps maild out of mail loops (DESIGN invariant 3)."""

from __future__ import annotations

import pytest

from parsing import parse_message
from tests.parsing.corpus import mail


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (("Auto-Submitted: auto-replied",), "auto-replied"),
        (("Auto-Submitted: auto-generated",), "auto-generated"),
        (("Auto-Submitted: auto-notified; owner-email=x@y.example",), "auto-notified"),
        (("Auto-Submitted: Auto-Replied (vacation)",), "auto-replied"),
        (("Auto-Submitted: auto-something-new",), "auto-generated"),
        (("Precedence: bulk",), "bulk"),
        (("Precedence: junk",), "junk"),
        (("Precedence: list",), "list"),
        (("Precedence: auto_reply",), "auto-reply"),
        (("X-Autoreply: yes",), "auto-reply"),
        (("X-Autorespond: Out of office",), "auto-reply"),
        (("List-Id: Devel <devel.lists.example>",), "list"),
        (("List-Unsubscribe: <mailto:leave@lists.example>",), "list"),
        (("Return-Path: <>",), "null-sender"),
        (("Return-Path:  < > ",), "null-sender"),
    ],
)
def test_signals(headers: tuple[str, ...], expected: str) -> None:
    assert parse_message(mail(*headers)).automated == expected


@pytest.mark.parametrize(
    "headers",
    [
        (),
        ("Auto-Submitted: no",),
        ("Auto-Submitted: No",),
        ("X-Auto-Response-Suppress: All",),
        ("X-Auto-Response-Suppress: DR, RN, NRN, OOF, AutoReply",),
        ("Precedence: first-class",),
        ("X-Autoreply: no",),
        ("Return-Path: <ada@customer.example>",),
        ("Thread-Index: AQHbNd1xK2h3",),
        ("List-Id: ",),
    ],
)
def test_person_mail_is_not_automated(headers: tuple[str, ...]) -> None:
    assert parse_message(mail(*headers)).automated is None


def test_x_auto_response_suppress_alone_is_not_an_auto_reply() -> None:
    """Outlook sets it on ordinary mail; reading it as a signal silenced real customers."""
    raw = mail("X-Auto-Response-Suppress: All", "X-MS-Has-Attach:", "Thread-Topic: VPN")
    assert parse_message(raw).automated is None


@pytest.mark.parametrize(
    "sender",
    [
        "MAILER-DAEMON@mx.example.org",
        "Mail Delivery Subsystem <mailer-daemon@googlemail.example>",
        "postmaster@example.org",
        "<Postmaster@example.org>",
    ],
)
def test_mailer_daemon_senders(sender: str) -> None:
    assert parse_message(mail(sender=sender)).automated == "mailer-daemon"


def test_postmaster_in_a_name_is_not_a_daemon() -> None:
    raw = mail(sender="Postmaster Anna <anna@customer.example>")
    assert parse_message(raw).automated is None


def test_first_signal_wins_in_documented_order() -> None:
    raw = mail("Return-Path: <>", "Precedence: bulk", "Auto-Submitted: auto-generated")
    assert parse_message(raw).automated == "auto-generated"
    raw = mail("Return-Path: <>", "List-Id: <x.example>", "Precedence: junk")
    assert parse_message(raw).automated == "junk"
    raw = mail("Return-Path: <>", sender="MAILER-DAEMON@mx.example")
    assert parse_message(raw).automated == "null-sender"


def test_bounce_wins_over_null_sender_and_auto_submitted() -> None:
    raw = mail(
        "Return-Path: <>",
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
        body="--b\nContent-Type: text/plain\n\nfailed\n--b--\n",
        sender="MAILER-DAEMON@mx.example",
    )
    assert parse_message(raw).automated == "bounce"


@pytest.mark.parametrize(
    "subject",
    [
        "Out of Office: [ACME #12] Printer",
        "Out of office",
        "Automatic reply: [ACME #12] Printer",
        "Autoreply: Printer",
        "Auto-Reply: Printer",
        "Abwesenheitsnotiz: [ACME #12] Drucker",
        "Automatische Antwort: Drucker",
        "Réponse automatique : Imprimante",
        "Absence : Imprimante",
        "Respuesta automática: Impresora",
        "Risposta automatica: Stampante",
        "Automatisch antwoord: Printer",
        "Resposta automática: Impressora",
        "Odpowiedź automatyczna: Drukarka",
        "Autosvar: Skrivare",
        "Automaattinen vastaus: Tulostin",
        "自动回复: 打印机",
        "  OUT OF OFFICE - back on Monday",
    ],
)
def test_out_of_office_subjects_are_a_weaker_signal(subject: str) -> None:
    assert parse_message(mail(f"Subject: {subject}")).automated == "out-of-office-subject"


@pytest.mark.parametrize(
    "subject",
    [
        "Absence of the March invoice",
        "Out of office printer does not work",
        "Re: Automatic reply settings in Outlook",
        "Question about your out of office policy",
        "Autoreplies keep arriving",
        "",
    ],
)
def test_subjects_that_only_mention_absence_are_a_persons(subject: str) -> None:
    assert parse_message(mail(f"Subject: {subject}")).automated is None


def test_header_signals_win_over_the_subject() -> None:
    raw = mail("Subject: Automatic reply: x", "Auto-Submitted: auto-replied")
    assert parse_message(raw).automated == "auto-replied"
