"""Header text: encoded words, 8-bit octets, folding, ids and addresses."""

from __future__ import annotations

import pytest

from parsing import Address, parse_message
from parsing.headers import decode_encoded_words, decode_header_value
from parsing.msgids import all_ids, first_id, message_id
from tests.parsing.corpus import mail


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("plain", "plain"),
        ("=?utf-8?q?Gr=C3=BC=C3=9Fe?=", "Grüße"),
        ("=?UTF-8?B?R3LDvMOfZQ==?=", "Grüße"),
        ("=?utf-8?b?R3LDvMOfZQ?=", "Grüße"),  # missing padding
        ("=?iso-8859-1?q?Sch=F6n?= und =?iso-8859-1?q?gut?=", "Schön und gut"),
        ("=?utf-8?q?a?= =?utf-8?q?b?=", "ab"),  # space between encoded words is dropped
        ("=?utf-8?q?a?=\r\n =?utf-8?q?b?=", "ab"),
        ("=?utf-8?b?w6Q=?= x", "ä x"),
        ("=?utf-8?q?=C3?= =?utf-8?q?=A4?=", "ä"),  # a character split across two words
        ("=?utf-8*de?q?Hallo?=", "Hallo"),  # RFC 2231 language
        ("=?x-bogus?q?abc?=", "abc"),
        ("=?utf-8?q?Re=3A_path_C:\\users?=", "Re: path C:\\users"),
        ("C:\\users\\u1234 =?utf-8?q?x?=", "C:\\users\\u1234 x"),
        ("=?utf-8?b?###?=", "=?utf-8?b?###?="),
    ],
)
def test_encoded_words(raw: str, expected: str) -> None:
    assert decode_encoded_words(raw) == expected


def test_decode_header_value_reads_raw_utf8_and_flags_latin1() -> None:
    utf8 = "Grüße".encode().decode("ascii", "surrogateescape")
    assert decode_header_value(utf8) == ("Grüße", True)
    latin1 = "Grüße".encode("latin-1").decode("ascii", "surrogateescape")
    assert decode_header_value(latin1) == ("Grüße", False)


def test_decode_header_value_unfolds_and_drops_controls() -> None:
    assert decode_header_value("a\r\n\tb\x00c\x07") == ("a\tbc", True)
    assert decode_header_value("=?utf-8?q?line=0Abreak?=") == ("line break", True)


@pytest.mark.parametrize(
    ("raw", "subject"),
    [
        (
            "Subject: Printer in room 4.12 does not\n print anymore",
            "Printer in room 4.12 does not print anymore",
        ),
        ("Subject: tab\tinside", "tab inside"),
        ("Subject: =?utf-8?q?two=0D=0Alines?=", "two lines"),
        ("Subject:    padded   ", "padded"),
        ("Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=", "Grüße aus Köln"),
    ],
)
def test_subject_is_one_clean_line(raw: str, subject: str) -> None:
    assert parse_message(mail(raw)).subject == subject


def test_missing_subject_is_empty() -> None:
    assert parse_message(mail()).subject == ""


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("<a@b.example>", "<a@b.example>"),
        ("  <a@b.example>  ", "<a@b.example>"),
        ("<a@\n b.example>", "<a@b.example>"),
        ("a@b.example", "<a@b.example>"),
        ("", None),
        ("<>", None),
        ("not an id at all", None),
    ],
)
def test_message_id(header: str, expected: str | None) -> None:
    assert message_id(header) == expected


def test_in_reply_to_takes_the_first_id() -> None:
    assert first_id('"Your message of Monday" <x@y.example> (Ada)') == "<x@y.example>"
    assert first_id("<one@x> <two@x>") == "<one@x>"
    assert first_id("no id") is None


def test_references_tolerate_folding_commas_and_garbage() -> None:
    value = "<a@x>,<b@x>\r\n\t<c@\r\n x> garbage (comment) <> <a@x>"
    assert all_ids(value) == ("<a@x>", "<b@x>", "<c@x>")


def test_several_references_headers_are_joined_in_order() -> None:
    parsed = parse_message(mail("References: <a@x> <b@x>", "References: <c@x>"))
    assert parsed.references == ("<a@x>", "<b@x>", "<c@x>")


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        ("Ada <ada@customer.example>", Address("Ada", "ada@customer.example")),
        ("ada@customer.example", Address("", "ada@customer.example")),
        ('"Keller, Thomas" <t@c.example>', Address("Keller, Thomas", "t@c.example")),
        (
            "=?utf-8?q?M=C3=BCller=2C_J=C3=BCrgen?= <j@x.example>",
            Address("Müller, Jürgen", "j@x.example"),
        ),
        ('"=?utf-8?q?J=C3=BCrgen?=" <j@x.example>', Address("Jürgen", "j@x.example")),
        ("Jürgen Müller <j@x.example>", Address("Jürgen Müller", "j@x.example")),
        ("ada@customer.example (Ada Lovelace)", Address("Ada Lovelace", "ada@customer.example")),
        ("jürgen@müller.example", Address("", "jürgen@müller.example")),
    ],
)
def test_from_address(sender: str, expected: Address) -> None:
    assert parse_message(mail(sender=sender)).from_ == expected


def test_latin1_name_is_read_and_flagged() -> None:
    raw = mail(sender="J\udcfcrgen <j@x.example>")  # a raw Latin-1 ü
    parsed = parse_message(raw)
    assert parsed.from_ == Address("Jürgen", "j@x.example")
    assert "undecodable-header:From" in parsed.defects
    assert parsed.problem is None  # the address is readable: an ordinary mail


def test_address_lists() -> None:
    raw = mail(
        "To: support@acme.test, Bob <bob@x.example>",
        "Cc: undisclosed-recipients:;",
        "Reply-To: Team: a@x.example, b@x.example;",
    )
    parsed = parse_message(raw)
    assert parsed.to == (Address("", "support@acme.test"), Address("Bob", "bob@x.example"))
    assert parsed.cc == ()
    assert parsed.reply_to == (Address("", "a@x.example"), Address("", "b@x.example"))


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("Return-Path: <>", ""),
        ("Return-Path: <bounce@x.example>", "bounce@x.example"),
        ("Return-Path: bounce@x.example", "bounce@x.example"),
    ],
)
def test_return_path(header: str | None, expected: str | None) -> None:
    raw = mail(header) if header else mail()
    assert parse_message(raw).return_path == expected


@pytest.mark.parametrize(
    ("date", "iso"),
    [
        ("Tue, 12 Nov 2024 09:14:01 +0100", "2024-11-12T08:14:01+00:00"),
        ("Tue, 19 Nov 2024 10:21:44 +0100 (CET)", "2024-11-19T09:21:44+00:00"),
        ("12 Nov 2024 09:14:01 -0500", "2024-11-12T14:14:01+00:00"),
        ("Tue, 12 Nov 2024 09:14:01 -0000", "2024-11-12T09:14:01+00:00"),
    ],
)
def test_dates_become_utc(date: str, iso: str) -> None:
    parsed = parse_message(mail(f"Date: {date}"))
    assert parsed.date is not None
    assert parsed.date.isoformat() == iso


@pytest.mark.parametrize("date", [None, "", "yesterday", "Tue, 45 Nov 2024 99:99:99 +0100"])
def test_bad_or_missing_dates_are_none(date: str | None) -> None:
    raw = mail(f"Date: {date}") if date is not None else mail()
    parsed = parse_message(raw)
    assert parsed.date is None
    assert parsed.problem is None


def test_encoded_word_with_non_ascii_inside_does_not_fail() -> None:
    assert decode_encoded_words("=?utf-8?q?M\ufffdrz?=") == "M\ufffdrz"
    assert decode_encoded_words("=?utf-8?q?M\udcfcrz?=") == "M\ufffdrz"


def test_mail_parser_failure_falls_back_to_the_stdlib() -> None:
    """mail-parser raises on a NUL in a body charset; the message is still understood."""
    raw = (
        b"From: Ada <ada@customer.example>\nTo: support@acme.test\n"
        b"Date: Tue, 12 Nov 2024 09:14:01 +0100\nSubject: hi\n"
        b"Content-Type: text/plain; charset=utf\x008\n"
        b"Content-Transfer-Encoding: base64\n\nYm9keQ==\n"
    )
    parsed = parse_message(raw)
    assert "mail-parser-failed:ValueError" in parsed.defects
    assert parsed.from_ == Address("Ada", "ada@customer.example")
    assert parsed.to == (Address("", "support@acme.test"),)
    assert parsed.date is not None
    assert parsed.date.isoformat() == "2024-11-12T08:14:01+00:00"
    assert parsed.text == "body"
    assert parsed.problem is None
