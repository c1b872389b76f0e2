"""Composition with attachments and Outlook's conversation headers.

Every message is parsed back with the stdlib's ``email`` (``policy.default``), as a mail
client would read it: parts, filenames, payload bytes and headers must come back intact, and
nothing a filename says can become a header.
"""

from __future__ import annotations

import base64
import random
import unicodedata
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from outbound.compose import OutgoingAttachment, compose
from outbound.threadindex import thread_index, thread_topic
from tests.outbound.test_compose import assert_well_formed, header_names, mail

PDF = OutgoingAttachment("report.pdf", "application/pdf", b"%PDF-1.7\n\x00\xff binary")


def attachments(message: EmailMessage) -> list[EmailMessage]:
    return list(message.iter_attachments())  # type: ignore[arg-type]


def only_attachment(raw: bytes) -> EmailMessage:
    found = attachments(assert_well_formed(raw))
    assert len(found) == 1
    return found[0]


def payload(part: EmailMessage) -> bytes:
    data = part.get_payload(decode=True)
    assert isinstance(data, bytes)
    return data


def body_text(message: EmailMessage, subtype: str) -> str:
    part = message.get_body((subtype,))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def part_header_names(part: EmailMessage) -> list[str]:
    return [name.lower() for name in part]


# -- structure -------------------------------------------------------------------------------


def test_text_mail_with_attachment_is_mixed_with_the_text_first() -> None:
    message = assert_well_formed(compose(mail(html=None, attachments=(PDF,))))
    assert message.get_content_type() == "multipart/mixed"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "application/pdf"]
    assert body_text(message, "plain") == "We received your request.\n"
    (attachment,) = attachments(message)
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_filename() == "report.pdf"
    assert attachment["Content-Transfer-Encoding"] == "base64"
    assert payload(attachment) == PDF.data


def test_alternative_body_stays_whole_inside_mixed() -> None:
    second = OutgoingAttachment("photo.png", "image/png", b"\x89PNG\r\n\x1a\n")
    message = assert_well_formed(compose(mail(attachments=(PDF, second))))
    assert message.get_content_type() == "multipart/mixed"
    first = next(message.iter_parts())
    assert first.get_content_type() == "multipart/alternative"
    assert body_text(message, "plain") == "We received your request.\n"
    assert body_text(message, "html") == "<p>We received your request.</p>\n"
    assert [(a.get_filename(), payload(a)) for a in attachments(message)] == [
        ("report.pdf", PDF.data),
        ("photo.png", second.data),
    ]


def test_headers_of_the_message_do_not_change_with_attachments() -> None:
    with_files = assert_well_formed(compose(mail(attachments=(PDF,))))
    without = assert_well_formed(compose(mail()))
    for name in ("From", "To", "Subject", "Message-ID", "References", "Auto-Submitted"):
        assert with_files[name] == without[name]


def test_outer_and_inner_boundaries_differ() -> None:
    message = assert_well_formed(compose(mail(attachments=(PDF,))))
    inner = next(message.iter_parts())
    assert message.get_boundary() != inner.get_boundary()


# -- payloads --------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 57, 58, 10_000])
def test_payload_bytes_round_trip_in_short_base64_lines(size: int) -> None:
    data = random.Random(size).randbytes(size)
    raw = compose(mail(attachments=(OutgoingAttachment("blob.bin", "application/zip", data),)))
    attachment = only_attachment(raw)
    assert payload(attachment) == data
    encoded = attachment.get_payload()
    assert isinstance(encoded, str)
    assert all(len(line) <= 76 for line in encoded.split("\r\n"))
    assert base64.b64decode("".join(encoded.split())) == data


def test_a_text_file_keeps_its_exact_bytes() -> None:
    data = "name;city\r\nJörg;Köln\r\n".encode("latin-1")
    attachment = only_attachment(
        compose(mail(attachments=(OutgoingAttachment("list.csv", "text/csv", data),)))
    )
    assert attachment.get_content_type() == "text/csv"
    assert payload(attachment) == data


@pytest.mark.parametrize(
    ("given_type", "sent_type"),
    [
        ("image/png", "image/png"),
        ("IMAGE/PNG", "image/png"),
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", None),
        ("text/plain; charset=utf-8", "application/octet-stream"),
        ("text/html\r\nBcc: victim@evil.example", "application/octet-stream"),
        ("multipart/mixed", "application/octet-stream"),
        ("message/rfc822", "application/octet-stream"),
        ("image/", "application/octet-stream"),
        ("pdf", "application/octet-stream"),
        ("", "application/octet-stream"),
    ],
)
def test_content_type_must_be_a_bare_type_and_subtype(
    given_type: str, sent_type: str | None
) -> None:
    raw = compose(mail(attachments=(OutgoingAttachment("f", given_type, b"x"),)))
    attachment = only_attachment(raw)
    assert attachment.get_content_type() == (sent_type or given_type)
    assert attachment.get_params() == [(sent_type or given_type, "")]
    assert "bcc" not in part_header_names(attachment)


# -- filenames -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given_name", "sent_name"),
    [
        ("report.pdf", "report.pdf"),
        ("Rechnung März.pdf", "Rechnung März.pdf"),
        ("打印机坏了.png", "打印机坏了.png"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\jane\\Desktop\\invoice.xlsx", "invoice.xlsx"),
        ("/tmp/", "attachment"),
        ("..", "attachment"),
        ("", "attachment"),
        ("  spaced \t name .txt ", "spaced name .txt"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ('say "hi".txt', 'say "hi".txt'),
        ("50% off; filename=evil.exe", "50% off; filename=evil.exe"),
        ("=?utf-8?b?ZXZpbC5leGU=?=", "=?utf-8?b?ZXZpbC5leGU=?="),
    ],
)
def test_filename_is_cleaned_and_round_trips(given_name: str, sent_name: str) -> None:
    attachment = OutgoingAttachment(given_name, "application/octet-stream", b"x")
    assert only_attachment(compose(mail(attachments=(attachment,)))).get_filename() == sent_name


def test_non_ascii_filename_uses_rfc_2231() -> None:
    raw = compose(mail(attachments=(OutgoingAttachment("März.pdf", "application/pdf", b"x"),)))
    assert b"filename*=utf-8''M%C3%A4rz.pdf" in raw
    assert only_attachment(raw).get_filename() == "März.pdf"


def test_long_filename_is_split_into_rfc_2231_sections_with_short_lines() -> None:
    name = "Überweisungsbestätigung für den Zeitraum Januar bis Dezember 打印机坏了.pdf"
    raw = compose(mail(attachments=(OutgoingAttachment(name, "application/pdf", b"x"),)))
    assert b"filename*1*=" in raw
    assert all(len(line) <= 78 for line in raw.split(b"\r\n") if b"filename" in line)
    assert only_attachment(raw).get_filename() == name


def test_enormous_filename_is_cut_to_255_characters_keeping_the_extension() -> None:
    name = "ä" * 1000 + ".pdf"
    raw = compose(mail(attachments=(OutgoingAttachment(name, "application/pdf", b"x"),)))
    sent = only_attachment(raw).get_filename()
    assert sent == "ä" * 251 + ".pdf"


def test_filename_cannot_inject_a_header() -> None:
    evil = "report.pdf\r\nBcc: x@y\r\n\r\nX-Evil: 1"
    raw = compose(mail(attachments=(OutgoingAttachment(evil, "application/pdf", PDF.data),)))
    message = assert_well_formed(raw)
    assert "bcc" not in [name.lower() for name in header_names(raw)]
    for part in message.walk():
        assert "bcc" not in part_header_names(part)
        assert "x-evil" not in part_header_names(part)
    (attachment,) = attachments(message)
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "report.pdfBcc: x@yX-Evil: 1"
    assert payload(attachment) == PDF.data


UNSAFE_IN_FILENAMES = {"Cc", "Cf", "Cs", "Zl", "Zp"}


@given(name=st.text(max_size=300))
def test_any_filename_gives_one_safe_name(name: str) -> None:
    raw = compose(mail(attachments=(OutgoingAttachment(name, "text/plain", b"x"),)))
    message = assert_well_formed(raw)
    assert "bcc" not in [n.lower() for n in header_names(raw)]
    sent = attachments(message)[0].get_filename()
    assert sent
    assert sent.strip(".")
    assert "/" not in sent and "\\" not in sent
    assert not any(unicodedata.category(ch) in UNSAFE_IN_FILENAMES for ch in sent)
    assert len(sent) <= 255


visible = st.characters(whitelist_categories=("L", "N", "P", "S"), blacklist_characters="/\\")


@given(name=st.text(alphabet=visible, min_size=1, max_size=120))
def test_any_visible_filename_round_trips(name: str) -> None:
    assume(name.strip("."))
    raw = compose(mail(attachments=(OutgoingAttachment(name, "text/plain", b"x"),)))
    assert attachments(assert_well_formed(raw))[0].get_filename() == name


# -- Outlook conversation headers ------------------------------------------------------------

CREATED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_thread_topic_and_index_follow_references() -> None:
    index = thread_index("abcdefghijklmnopqrstuvwxyz", CREATED, CREATED + timedelta(hours=1))
    topic = thread_topic("Re: [ACME #1234] Printer on fire")
    raw = compose(mail(thread_topic=topic, thread_index=index))
    message = assert_well_formed(raw)
    assert message["Thread-Topic"] == "Printer on fire"
    assert message["Thread-Index"] == index
    assert len(base64.b64decode(message["Thread-Index"])) == 27
    names = header_names(raw)
    position = names.index("References")
    assert names[position + 1 : position + 3] == ["Thread-Topic", "Thread-Index"]


def test_without_thread_fields_no_thread_headers_are_written() -> None:
    names = header_names(compose(mail()))
    assert "Thread-Topic" not in names
    assert "Thread-Index" not in names


def test_non_ascii_thread_topic_is_an_encoded_word() -> None:
    raw = compose(mail(thread_topic="Drucker — 打印机坏了"))
    assert b"Thread-Topic: =?utf-8?b?" in raw
    assert assert_well_formed(raw)["Thread-Topic"] == "Drucker — 打印机坏了"


def test_thread_topic_cannot_inject_a_header() -> None:
    raw = compose(mail(thread_topic="Printer\r\nBcc: victim@evil.example"))
    assert "bcc" not in [name.lower() for name in header_names(raw)]
    assert assert_well_formed(raw)["Thread-Topic"] == "Printer  Bcc: victim@evil.example"


def test_empty_thread_topic_is_left_out() -> None:
    assert "Thread-Topic" not in header_names(compose(mail(thread_topic=" \r\n ")))


@pytest.mark.parametrize(
    "index",
    [
        "",
        "AQHbNd1x K2h3",
        "AQHbNd1x\r\nBcc: x@y",
        "AQHbNd1xK2h",  # not a multiple of four
        "AQHbNd1xK2h3=",
        "AQHb!d1xK2h3",
        "A" * 1000,
    ],
)
def test_malformed_thread_index_is_a_bug(index: str) -> None:
    with pytest.raises(ValueError, match="Thread-Index"):
        compose(mail(thread_index=index))


def test_thread_headers_are_not_written_twice() -> None:
    with pytest.raises(ValueError):
        compose(mail(thread_topic="Printer", extra_headers=(("thread-topic", "Printer"),)))
    with pytest.raises(ValueError):
        compose(mail(thread_index="AQHb", extra_headers=(("Thread-Index", "AQHb"),)))
