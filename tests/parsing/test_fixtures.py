"""Header fields, body and attachments of parse_message over the first fixtures.

Reply text, signature, automated verdict and bounce of every fixture are in the table of
:mod:`tests.parsing.test_corpus`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from parsing import Address, parse_message
from parsing.model import Bounce, ParsedMail
from tests.parsing.corpus import PREFIX, crlf, fixture_names, load

ANNA = Address("Anna Berg", "anna.berg@example.org")
SUPPORT = Address("ACME Support", "support@acme.test")
BARE_SUPPORT = Address("", "support@acme.test")

EXPECTED: dict[str, dict[str, Any]] = {
    "thunderbird-plain.eml": {
        "message_id": "<5f0c2a7e-1b8d-4e2a-9a53-2c1f0d7e6b11@example.org>",
        "in_reply_to": None,
        "references": (),
        "from_": ANNA,
        "to": (SUPPORT,),
        "cc": (),
        "return_path": "anna.berg@example.org",
        "subject": "Printer in room 4.12 does not print anymore",
        "date": datetime(2024, 11, 12, 8, 14, 1, tzinfo=UTC),
        "text_contains": ('shows "paper jam" although', "Anna Berg · Buchhaltung"),
        "attachments": (),
        "automated": None,
        "bounce": None,
        "ticket_ref": None,
        "problem": None,
    },
    "outlook-html-alternative.eml": {
        "message_id": (
            "<AM0PR04MB6542A1B2C3D4E5F6A7B8C9D0E1F2@AM0PR04MB6542.eurprd04.prod.outlook.example>"
        ),
        "from_": Address("Keller, Thomas", "T.Keller@contoso.example"),
        "to": (BARE_SUPPORT,),
        "cc": (
            Address("Maria Lopez", "maria.lopez@contoso.example"),
            Address("Ops Team", "ops@contoso.example"),
        ),
        "return_path": None,
        "subject": "VPN access for new colleague",
        "date": datetime(2024, 11, 13, 14, 2, 7, tzinfo=UTC),
        # The text/plain alternative is used, soft line breaks joined; no HTML in it.
        "text_contains": ("our new colleague Maria Lopez (in CC), starting Monday.",),
        "text_lacks": ("<p", "MsoNormal"),
        "attachments": (("image001.png", "image/png"),),
        "automated": None,  # X-Auto-Response-Suppress is on ordinary Outlook mail
        "problem": None,
    },
    "gmail-attachment.eml": {
        "from_": Address("Jürgen Müller", "juergen.mueller@gmail.example"),
        "to": (BARE_SUPPORT,),
        "subject": "Grüße aus Köln - invoice question",
        "date": datetime(2024, 11, 14, 17, 45, 30, tzinfo=UTC),
        "text_contains": ("Rechnung vom März", "Viele Grüße\nJürgen"),
        "text_lacks": ("<div",),
        "attachments": (("Rechnung März.pdf", "application/pdf"),),
        "automated": None,
        "problem": None,
    },
    "html-only.eml": {
        "from_": Address("Webshop Kontakt", "kontakt@shop.example"),
        "subject": "Frage zu Bestellung 77812",
        "date": datetime(2024, 11, 15, 12, 30, tzinfo=UTC),
        "text_contains": ("Name: Petra Schön", "Können Sie bitte nachsehen?", "77812"),
        "text_lacks": ("<p>", "alert(", "color: #333", "&nbsp;"),
        "attachments": (),
        "automated": None,
        "problem": None,
    },
    "autoreply-rfc3834.eml": {
        "in_reply_to": "<ticket-1187.a8f3@acme.test>",
        "references": ("<ticket-1187.a8f3@acme.test>",),
        "subject": "Automatic reply: [ACME #1187] Order status",
        "date": datetime(2024, 11, 18, 0, 0, 2, tzinfo=UTC),
        "automated": "auto-replied",
        "ticket_ref": 1187,
        "problem": None,
    },
    "dsn-postfix.eml": {
        "from_": Address("Mail Delivery System", "MAILER-DAEMON@mx.acme.test"),
        "return_path": "",
        "subject": "Undelivered Mail Returned to Sender",
        "date": datetime(2024, 11, 19, 9, 21, 44, tzinfo=UTC),
        "text_contains": ("could not\nbe delivered",),
        "text_lacks": ("Reporting-MTA",),
        "attachments": (("attachment-1.txt", "text/rfc822-headers"),),
        "automated": "bounce",
        "bounce": Bounce(
            recipients=("gone.user@customer.example",),
            permanent=True,
            status="5.1.1",
            original_message_id="<ticket-1203.x1@acme.test>",
        ),
        "ticket_ref": None,  # the returned headers' [ACME #1203] is not our subject
        "problem": None,
    },
    "mailing-list.eml": {
        "from_": Address("Sam Carter", "sam@carter.example"),
        "subject": "[devel] Release 2.4 schedule",
        "date": datetime(2024, 11, 21, 0, 10, tzinfo=UTC),
        "automated": "list",
        "problem": None,
    },
    "broken-mime.eml": {
        "from_": Address("Erik Nilsson", "erik@nilsson.example"),
        "subject": "Screenshot of the error",
        "defects_include": ("StartBoundaryNotFoundDefect",),
        "attachments": (),
        "problem": "broken MIME: multipart boundary missing or never found, "
        "body cannot be determined",
    },
    "garbage-from.eml": {
        "from_": None,
        "to": (BARE_SUPPORT,),
        "subject": "Hallo",
        "text_contains": ("Please call me back.",),
        "defects_include": ("undecodable-header:From",),
        "problem": "From header is undecodable 8-bit data: no sender address can be read",
    },
    "reply-ticket.eml": {
        "message_id": "<8a1d3e55-77aa-4c1e-b0f2-9de3c1a40d20@example.org>",
        "in_reply_to": "<reply-1234-2.k3J9@acme.test>",
        "references": (
            "<5f0c2a7e-1b8d-4e2a-9a53-2c1f0d7e6b11@example.org>",
            "<ticket-1234.k3J9@acme.test>",
            "<reply-1234-2.k3J9@acme.test>",
        ),
        "from_": ANNA,
        "to": (Address("ACME Support", "support+Q2x9@acme.test"),),
        "subject": "Re: [ACME #1234] Printer in room 4.12 does not print anymore",
        "date": datetime(2024, 11, 25, 16, 59, 58, tzinfo=UTC),
        "text_contains": ("Thanks, it works again.",),
        "ticket_ref": 1234,
        "automated": None,
        "problem": None,
    },
}

CHECKED_FIELDS = (
    "message_id",
    "in_reply_to",
    "references",
    "from_",
    "to",
    "cc",
    "return_path",
    "subject",
    "date",
    "automated",
    "bounce",
    "ticket_ref",
    "problem",
)


def test_every_row_has_a_fixture() -> None:
    assert set(EXPECTED) <= set(fixture_names())


def _check(parsed: ParsedMail, expected: dict[str, Any]) -> None:
    for name in CHECKED_FIELDS:
        if name in expected:
            assert getattr(parsed, name) == expected[name], name
    for fragment in expected.get("text_contains", ()):
        assert fragment in parsed.text
    for fragment in expected.get("text_lacks", ()):
        assert fragment not in parsed.text
    if "attachments" in expected:
        found = tuple((a.filename, a.content_type) for a in parsed.attachments)
        assert found == expected["attachments"]
    for defect in expected.get("defects_include", ()):
        assert defect in parsed.defects


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_fields(name: str) -> None:
    _check(parse_message(load(name), ticket_prefix=PREFIX), EXPECTED[name])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_fields_with_crlf_line_ends(name: str) -> None:
    _check(parse_message(crlf(load(name)), ticket_prefix=PREFIX), EXPECTED[name])


@pytest.mark.parametrize("name", fixture_names())
def test_dates_are_utc_aware(name: str) -> None:
    parsed = parse_message(load(name))
    assert parsed.date is not None
    assert parsed.date.utcoffset() is not None
    assert parsed.date.tzinfo is UTC


def test_ticket_ref_needs_a_prefix() -> None:
    assert parse_message(load("reply-ticket.eml")).ticket_ref is None
    assert parse_message(load("reply-ticket.eml"), ticket_prefix="OTHER").ticket_ref is None


def test_attachment_bytes_are_decoded() -> None:
    (pdf,) = parse_message(load("gmail-attachment.eml")).attachments
    assert pdf.data.startswith(b"%PDF-1.4")
    (png,) = parse_message(load("outlook-html-alternative.eml")).attachments
    assert png.data.startswith(b"\x89PNG\r\n\x1a\n")


def test_headers_keep_order_and_decode_values() -> None:
    parsed = parse_message(load("gmail-attachment.eml"))
    names = [name for name, _ in parsed.headers]
    assert names[:3] == ["MIME-Version", "Date", "Message-ID"]
    assert parsed.header_values("subject") == ("Grüße aus Köln - invoice question",)
    outlook = parse_message(load("outlook-html-alternative.eml"))
    assert outlook.header_values("X-Auto-Response-Suppress") == ("All",)
    # Folded values are unfolded: no line breaks survive in any header value.
    assert all("\n" not in value and "\r" not in value for _, value in outlook.headers)


def test_thread_ids_of_a_reply_are_nearest_first() -> None:
    parsed = parse_message(load("reply-ticket.eml"))
    assert parsed.thread_ids == (
        "<reply-1234-2.k3J9@acme.test>",
        "<ticket-1234.k3J9@acme.test>",
        "<5f0c2a7e-1b8d-4e2a-9a53-2c1f0d7e6b11@example.org>",
    )


def test_undecodable_from_is_not_a_clean_mail() -> None:
    parsed = parse_message(load("garbage-from.eml"))
    assert parsed.from_ is None
    # the body and other headers are still understood, for the quarantine view
    assert parsed.subject == "Hallo"
    assert parsed.message_id == "<garbage-from-1@relay.example>"
