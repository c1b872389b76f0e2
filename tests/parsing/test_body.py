"""Body text and attachments out of the MIME tree, whatever the charset claims."""

from __future__ import annotations

import base64

import pytest

from parsing import parse_message
from parsing.charsets import decode_body
from parsing.filenames import safe_filename
from tests.parsing.corpus import mail


def _multipart(subtype: str, *parts: str, boundary: str = "b") -> bytes:
    body = "".join(f"--{boundary}\n{part}\n" for part in parts) + f"--{boundary}--\n"
    return mail(
        "MIME-Version: 1.0",
        f'Content-Type: multipart/{subtype}; boundary="{boundary}"',
        body=body,
    )


PLAIN = "Content-Type: text/plain; charset=utf-8\n\nplain text"
HTML = "Content-Type: text/html; charset=utf-8\n\n<p>html <b>text</b></p>"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()


@pytest.mark.parametrize(
    ("data", "charset", "text"),
    [
        ("Grüße".encode(), "utf-8", "Grüße"),
        ("Grüße".encode("latin-1"), "iso-8859-1", "Grüße"),
        ("Grüße".encode("latin-1"), "us-ascii", "Grüße"),  # mislabelled Latin-1
        ("Grüße".encode(), None, "Grüße"),
        ("Grüße".encode(), "x-no-such-charset", "Grüße"),
        ("Grüße".encode("latin-1"), "x-no-such-charset", "Grüße"),
        ("“quoted”".encode("windows-1252"), "us-ascii", "“quoted”"),
        ("Grüße".encode() + b"\xff", "utf-8", "Grüße\ufffd"),  # mostly UTF-8: one bad byte
        (b"\\u0041", "unicode_escape", "\\u0041"),  # not a charset: never interpreted
        (b"abc", "rot13", "abc"),
    ],
)
def test_decode_body(data: bytes, charset: str | None, text: str) -> None:
    assert decode_body(data, charset)[0] == text


def test_unknown_charset_is_a_defect() -> None:
    raw = mail("Content-Type: text/plain; charset=x-klingon", body="Qapla'")
    parsed = parse_message(raw)
    assert parsed.text == "Qapla'"
    assert "unknown-charset:x-klingon" in parsed.defects
    assert parsed.problem is None


def test_plain_alternative_is_preferred() -> None:
    parsed = parse_message(_multipart("alternative", PLAIN, HTML))
    assert parsed.text == "plain text"
    assert parsed.attachments == ()


def test_html_alternative_when_plain_is_empty() -> None:
    empty = "Content-Type: text/plain\n\n   \n"
    assert parse_message(_multipart("alternative", empty, HTML)).text == "html text"


def test_html_only_mail_is_rendered_by_inscriptis() -> None:
    raw = mail(
        "Content-Type: text/html; charset=utf-8",
        body="<ul><li>one</li><li>two</li></ul><table><tr><td>a</td><td>b</td></tr></table>",
    )
    # lists and tables keep their layout, which a tag stripper would lose
    assert parse_message(raw).text == "  * one\n  * two\na  b"


def test_crlf_bodies_become_lf() -> None:
    parsed = parse_message(mail(body="one\r\ntwo\r\n"))
    assert parsed.text == "one\ntwo"


def test_nul_bytes_never_reach_the_text() -> None:
    assert "\x00" not in parse_message(mail(body=b"a\x00b")).text


def test_several_plain_parts_are_joined_in_order() -> None:
    image = f"Content-Type: image/png\nContent-Transfer-Encoding: base64\n\n{PNG}"
    second = "Content-Type: text/plain\n\nsecond part"
    parsed = parse_message(_multipart("mixed", PLAIN, image, second))
    assert parsed.text == "plain text\n\nsecond part"
    assert [a.filename for a in parsed.attachments] == ["attachment-1.png"]


def test_inline_images_of_a_related_alternative_are_attachments() -> None:
    image = (
        'Content-Type: image/png; name="logo.png"\nContent-ID: <logo>\n'
        f"Content-Disposition: inline\nContent-Transfer-Encoding: base64\n\n{PNG}"
    )
    related = f'Content-Type: multipart/related; boundary="r"\n\n--r\n{HTML}\n--r\n{image}\n--r--'
    parsed = parse_message(_multipart("alternative", PLAIN, related))
    assert parsed.text == "plain text"
    assert [(a.filename, a.data[:4]) for a in parsed.attachments] == [("logo.png", b"\x89PNG")]


def test_text_parts_with_a_filename_are_attachments() -> None:
    log = 'Content-Type: text/plain\nContent-Disposition: inline; filename="error.log"\n\nboom'
    csv = 'Content-Type: text/csv\nContent-Disposition: attachment; filename="a.csv"\n\nx,y'
    html = "Content-Type: text/html\nContent-Disposition: attachment\n\n<p>saved page</p>"
    parsed = parse_message(_multipart("mixed", PLAIN, log, csv, html))
    assert parsed.text == "plain text"
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [
        ("error.log", "text/plain"),
        ("a.csv", "text/csv"),
        ("attachment-3.html", "text/html"),
    ]
    assert parsed.attachments[0].data == b"boom"


def test_attached_message_is_one_eml_attachment() -> None:
    inner = "Content-Type: message/rfc822\n\nFrom: x@y.example\nSubject: inner\n\ninner body"
    parsed = parse_message(_multipart("mixed", PLAIN, inner))
    assert parsed.text == "plain text"
    (eml,) = parsed.attachments
    assert (eml.filename, eml.content_type) == ("attachment-1.eml", "message/rfc822")
    assert b"Subject: inner" in eml.data


def test_rfc2231_filename() -> None:
    part = (
        "Content-Type: application/pdf\n"
        "Content-Disposition: attachment; filename*=UTF-8''Rechnung%20M%C3%A4rz.pdf\n\n%PDF"
    )
    (pdf,) = parse_message(_multipart("mixed", PLAIN, part)).attachments
    assert pdf.filename == "Rechnung März.pdf"


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\system.ini", "system.ini"),
        ("C:\\Users\\x\\evil.exe", "evil.exe"),
        ("/absolute/path.txt", "path.txt"),
        ("..", "attachment-1.pdf"),
        (".", "attachment-1.pdf"),
        ("", "attachment-1.pdf"),
        (None, "attachment-1.pdf"),
        ("a\x00b\r\nc.txt", "abc.txt"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ('what?<>:"|*.txt', "what_______.txt"),
        (".hidden", "hidden"),
        ("trailing. ", "trailing"),
        ("CON.txt", "_CON.txt"),
        ("dir/", "attachment-1.pdf"),
        ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
    ],
)
def test_safe_filename(name: str | None, safe: str) -> None:
    assert safe_filename(name, index=1, content_type="application/pdf") == safe


def test_hostile_attachment_name_in_a_mail() -> None:
    part = (
        'Content-Type: application/octet-stream; name="=?utf-8?q?..=2F..=2Fx.sh?="\n'
        "Content-Disposition: attachment\n\n#!/bin/sh"
    )
    (attachment,) = parse_message(_multipart("mixed", PLAIN, part)).attachments
    assert attachment.filename == "x.sh"


def test_missing_closing_boundary_is_only_a_defect() -> None:
    """Truncated mail is common; its parts are all there, so it is ordinary mail."""
    raw = mail(
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="b"',
        body=f"--b\n{PLAIN}\n",
    )
    parsed = parse_message(raw)
    assert parsed.text == "plain text"
    assert parsed.problem is None


def test_multipart_without_boundary_parameter_is_a_problem() -> None:
    raw = mail("MIME-Version: 1.0", "Content-Type: multipart/mixed", body=f"--b\n{PLAIN}\n--b--\n")
    parsed = parse_message(raw)
    assert parsed.problem is not None
    assert "NoBoundaryInMultipartDefect" in parsed.defects


def test_broken_nested_multipart_is_a_problem() -> None:
    broken = 'Content-Type: multipart/alternative; boundary="never"\n\n--other\n\ntext\n'
    parsed = parse_message(_multipart("mixed", broken))
    assert parsed.problem is not None


def test_broken_part_beside_readable_text_is_only_a_defect() -> None:
    broken = 'Content-Type: multipart/alternative; boundary="never"\n\n--other\n\ntext\n'
    parsed = parse_message(_multipart("mixed", PLAIN, broken))
    assert parsed.text == "plain text"
    assert parsed.problem is None
    assert "unreadable-multipart" in parsed.defects


def test_truncated_mail_with_a_broken_inner_part_survives_mail_parser() -> None:
    """mail-parser raises on this (no epilogue to search); the stdlib reading stands in."""
    raw = mail(
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="b"',
        body=f'--b\n{PLAIN}\n--b\nContent-Type: multipart/alternative; boundary="never"\n\nx\n',
    )
    parsed = parse_message(raw)
    assert "mail-parser-failed:AttributeError" in parsed.defects
    assert parsed.from_ is not None
    assert parsed.from_.address == "ada@customer.example"
    assert parsed.text == "plain text"
    assert parsed.problem is None


def test_broken_multipart_inside_an_attached_message_is_not_our_problem() -> None:
    inner = (
        "Content-Type: message/rfc822\n\nFrom: x@y.example\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="never"\n\n--other\n\ntext\n'
    )
    parsed = parse_message(_multipart("mixed", PLAIN, inner))
    assert parsed.problem is None
    assert parsed.text == "plain text"


@pytest.mark.parametrize("depth", [60, 2000])
def test_deep_nesting_is_survived(depth: int) -> None:
    head = "".join(
        f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n' for i in range(depth)
    )
    tail = "".join(f"\n--b{i}--\n" for i in reversed(range(depth)))
    raw = ("From: a@b.example\nMIME-Version: 1.0\n" + head + PLAIN + tail).encode()
    parsed = parse_message(raw)
    assert parsed.problem is not None
    assert parsed.defects
