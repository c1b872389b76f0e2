"""Composition: headers that cannot be injected, threading, encodings, tokened Message-IDs."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outbound.compose import (
    AddressError,
    OutgoingMail,
    TokenAddress,
    compose,
    make_message_id,
    new_ticket_token,
    new_verp_id,
    parse_token_local_part,
    token_from_message_id,
    verp_address,
)

TOKEN = "abcdefghijklmnopqrstuvwxyz"
MESSAGE_ID = f"<maild-{TOKEN}.AbCdEfGhIjKlMnOp@example.com>"


def mail(**changes: object) -> OutgoingMail:
    base = OutgoingMail(
        from_name="ACME Support",
        from_address="support@example.com",
        to=(("Jane Doe", "jane@example.org"),),
        subject="[ACME #1234] Printer on fire",
        text="We received your request.\n",
        html="<p>We received your request.</p>\n",
        message_id=MESSAGE_ID,
        in_reply_to="<CAF123@mail.gmail.com>",
        references=("<CAF000@mail.gmail.com>", "<CAF123@mail.gmail.com>"),
        reply_to=f"support+{TOKEN}@example.com",
        date=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def content(part: EmailMessage | None) -> str:
    """The decoded text of a part (the parser keeps the wire's CRLF line ends)."""
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def header_names(raw: bytes) -> list[str]:
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    return [line.split(":", 1)[0] for line in head.split("\r\n") if not line[:1].isspace()]


def assert_well_formed(raw: bytes) -> EmailMessage:
    raw.decode("ascii")  # 7-bit clean
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert b"\r" not in raw.replace(b"\r\n", b"")
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    message = parse(raw)
    assert all(not part.defects for part in message.walk())
    return message


def test_composes_threaded_multipart_acknowledgement() -> None:
    raw = compose(mail())
    message = assert_well_formed(raw)
    assert message["From"] == "ACME Support <support@example.com>"
    assert message["To"] == "Jane Doe <jane@example.org>"
    assert message["Reply-To"] == f"support+{TOKEN}@example.com"
    assert message["Subject"] == "[ACME #1234] Printer on fire"
    assert message["Date"] == "Mon, 02 Mar 2026 09:00:00 +0000"
    assert message["Message-ID"] == MESSAGE_ID
    assert message["In-Reply-To"] == "<CAF123@mail.gmail.com>"
    assert message["References"] == "<CAF000@mail.gmail.com> <CAF123@mail.gmail.com>"
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["X-Auto-Response-Suppress"] == "All"
    assert message["MIME-Version"] == "1.0"
    assert message.get_content_type() == "multipart/alternative"
    assert content(message.get_body(("plain",))) == "We received your request.\n"
    assert content(message.get_body(("html",))) == "<p>We received your request.</p>\n"


def test_text_only_mail_is_a_single_part() -> None:
    message = assert_well_formed(compose(mail(html=None)))
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert content(message) == "We received your request.\n"


def test_subject_with_crlf_cannot_inject_a_header() -> None:
    raw = compose(mail(subject="Hello\r\nBcc: victim@evil.example"))
    message = assert_well_formed(raw)
    names = [name.lower() for name in header_names(raw)]
    assert "bcc" not in names
    assert names.count("subject") == 1
    assert message.get_all("Bcc") is None
    assert message["Subject"] == "Hello  Bcc: victim@evil.example"


@pytest.mark.parametrize("breaker", ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x85", "\u2028", "\x00"])
def test_no_line_break_in_any_header_value_survives(breaker: str) -> None:
    evil = f"x{breaker}Bcc: victim@evil.example"
    raw = compose(
        mail(
            from_name=evil,
            to=((evil, "jane@example.org"),),
            subject=evil,
            in_reply_to=f"<a@b>{breaker}Bcc: victim@evil.example",
            references=(f"<c@d>{breaker}Bcc: victim@evil.example",),
            extra_headers=(("Thread-Topic", evil),),
        )
    )
    message = assert_well_formed(raw)
    assert "bcc" not in [name.lower() for name in header_names(raw)]
    assert [a.addr_spec for a in message["To"].addresses] == ["jane@example.org"]
    assert message["In-Reply-To"] is None  # not a msg-id any more: dropped, not sent
    assert message["References"] is None


@pytest.mark.parametrize(
    "address",
    [
        "jane@example.org>, evil@example.net",
        "jane@example.org, evil@example.net",
        "jane doe@example.org",
        "<jane@example.org>",
        "jane",
        "",
        "jörg@example.de",
    ],
)
def test_bad_or_smuggling_address_is_refused(address: str) -> None:
    with pytest.raises(AddressError):
        compose(mail(to=(("Jane", address),)))


def test_display_name_with_specials_is_quoted_and_stays_one_mailbox() -> None:
    name = 'Doe, Jane "JD" <jane@evil.example>; \\'
    message = assert_well_formed(compose(mail(to=((name, "jane@example.org"),))))
    addresses = message["To"].addresses
    assert len(addresses) == 1
    assert addresses[0].display_name == name
    assert addresses[0].addr_spec == "jane@example.org"


def test_internationalized_domain_becomes_punycode() -> None:
    message = assert_well_formed(compose(mail(to=(("", "jorg@bücher.example"),))))
    assert message["To"] == "jorg@xn--bcher-kva.example"


def test_several_recipients_are_folded_one_per_line() -> None:
    to = tuple((f"Person Number {i}", f"person{i}@example.org") for i in range(6))
    raw = compose(mail(to=to))
    message = assert_well_formed(raw)
    assert [a.addr_spec for a in message["To"].addresses] == [a for _, a in to]


def test_non_ascii_names_and_subject_use_encoded_words() -> None:
    raw = compose(
        mail(
            from_name="Zoë via Support",
            to=(("Jörg Müller", "jm@example.de"),),
            subject="[ACME #1] Drucker — 打印机坏了 🙁",
        )
    )
    assert b"=?utf-8?b?" in raw
    message = assert_well_formed(raw)
    assert message["Subject"] == "[ACME #1] Drucker — 打印机坏了 🙁"
    assert message["From"].addresses[0].display_name == "Zoë via Support"
    assert message["To"].addresses[0].display_name == "Jörg Müller"


def test_ascii_subject_that_looks_encoded_is_sent_literally() -> None:
    subject = "=?utf-8?b?RXZpbA==?= is not a word"
    message = assert_well_formed(compose(mail(subject=subject)))
    assert message["Subject"] == subject


def test_long_subject_is_folded_and_unfolds_to_the_same_text() -> None:
    subject = " ".join(f"word{i}" for i in range(60))
    raw = compose(mail(subject=subject))
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 78 for line in head.split(b"\r\n"))
    assert assert_well_formed(raw)["Subject"] == subject


def test_enormous_word_in_subject_keeps_lines_under_998() -> None:
    subject = "x" * 5000
    message = assert_well_formed(compose(mail(subject=subject)))
    assert message["Subject"] == subject


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("plain ascii\nsecond line\n", "7bit"),
        ("a" * 5000 + "\nshort\n", "quoted-printable"),
        ("Grüße aus Köln\nZeile zwei  \n", "quoted-printable"),
        ("打印机坏了。" * 300 + "\n", "base64"),
    ],
)
def test_body_encoding_keeps_lines_short_and_content_exact(text: str, encoding: str) -> None:
    message = assert_well_formed(compose(mail(text=text, html=None)))
    assert message["Content-Transfer-Encoding"] == encoding
    assert content(message) == text


def test_body_line_ends_are_normalized_and_controls_dropped() -> None:
    message = assert_well_formed(compose(mail(text="one\r\ntwo\rthree\x00\x1b\nfour", html=None)))
    assert content(message) == "one\ntwo\nthree\nfour\n"


def test_references_keep_the_root_and_the_latest_nineteen() -> None:
    refs = tuple(f"<id{i}@example.org>" for i in range(50))
    message = assert_well_formed(compose(mail(references=(*refs, refs[3], "not an id"))))
    sent = message["References"].split()
    assert sent == [refs[0], *refs[-19:]]


def test_bare_message_ids_get_angle_brackets() -> None:
    message = assert_well_formed(compose(mail(in_reply_to="abc@example.org", references=())))
    assert message["In-Reply-To"] == "<abc@example.org>"
    assert message["References"] is None


def test_mail_written_by_a_person_has_no_auto_headers() -> None:
    raw = compose(mail(auto_submitted=None))
    names = header_names(raw)
    assert "Auto-Submitted" not in names
    assert "X-Auto-Response-Suppress" not in names


def test_auto_generated_is_kept() -> None:
    message = assert_well_formed(compose(mail(auto_submitted="auto-generated")))
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Auto-Response-Suppress"] == "All"


def test_date_is_rendered_in_its_zone_and_naive_dates_are_refused() -> None:
    local = datetime(2026, 3, 2, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    assert (
        assert_well_formed(compose(mail(date=local)))["Date"] == "Mon, 02 Mar 2026 10:00:00 +0100"
    )
    assert "Date" not in header_names(compose(mail(date=None)))
    with pytest.raises(ValueError, match="naive"):
        compose(mail(date=datetime(2026, 3, 2, 9, 0)))


def test_extra_headers_are_added_but_cannot_replace_ours() -> None:
    message = assert_well_formed(compose(mail(extra_headers=(("Thread-Topic", "Drucker"),))))
    assert message["Thread-Topic"] == "Drucker"
    for name in ("Bcc", "subject", "Content-Type", "Bad Name", "X:Y"):
        with pytest.raises(ValueError):
            compose(mail(extra_headers=((name, "x"),)))


def test_malformed_own_message_id_is_a_bug() -> None:
    with pytest.raises(ValueError, match="Message-ID"):
        compose(mail(message_id="no-brackets"))


def test_compose_never_repeats_a_boundary() -> None:
    first, second = compose(mail()), compose(mail())
    boundary = re.compile(rb'boundary="([^"]+)"')
    match_first, match_second = boundary.search(first), boundary.search(second)
    assert match_first and match_second
    assert match_first.group(1) != match_second.group(1)


header_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=300
)


def cleaned(value: str) -> str:
    return re.sub("[\x00-\x1f\x7f\x85\u2028\u2029]", " ", value).strip()


@given(subject=header_text, name=header_text)
def test_any_subject_and_name_round_trip(subject: str, name: str) -> None:
    raw = compose(mail(subject=subject, to=((name, "jane@example.org"),)))
    message = parse(raw)
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert "bcc" not in [n.lower() for n in header_names(raw)]
    assert str(message["Subject"]) == cleaned(subject)
    addresses = message["To"].addresses
    assert [a.addr_spec for a in addresses] == ["jane@example.org"]


# -- tokens and Message-IDs ------------------------------------------------------------------


def test_new_ticket_tokens_are_26_lowercase_base32_and_unique() -> None:
    tokens = {new_ticket_token() for _ in range(1000)}
    assert len(tokens) == 1000
    assert all(re.fullmatch(r"[a-z2-7]{26}", token) for token in tokens)


def test_message_id_carries_the_token_and_gives_it_back() -> None:
    token = new_ticket_token()
    message_id = make_message_id(token, "example.com")
    assert re.fullmatch(rf"<maild-{token}\.[A-Za-z0-9_-]{{16}}@example\.com>", message_id)
    assert token_from_message_id(message_id) == token
    assert token_from_message_id(message_id.upper()) == token
    assert token_from_message_id(f"  {message_id[1:-1]} ") == token
    assert make_message_id(token, "example.com") != message_id


@pytest.mark.parametrize(
    "message_id",
    [
        "<CAF123@mail.gmail.com>",
        "<maild-short.AbCdEfGhIjKlMnOp@example.com>",
        f"<maild-{TOKEN}@example.com>",
        f"<maild-{TOKEN}.short@example.com>",
        f"<x-maild-{TOKEN}.AbCdEfGhIjKlMnOp@example.com>",
        f"<maild-{TOKEN}.AbCdEfGhIjKlMnOp@example.com> <other@x>",
        "",
    ],
)
def test_foreign_message_ids_give_no_token(message_id: str) -> None:
    assert token_from_message_id(message_id) is None


@pytest.mark.parametrize("token", ["short", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", f"{TOKEN}.x", "a" * 33])
def test_make_message_id_refuses_malformed_tokens(token: str) -> None:
    with pytest.raises(ValueError):
        make_message_id(token, "example.com")


def test_make_message_id_refuses_malformed_domains() -> None:
    for domain in ("", "a b", "ex>ample.com", "@example.com"):
        with pytest.raises(ValueError):
            make_message_id(TOKEN, domain)


def test_verp_address_names_token_and_copy_within_64_octets() -> None:
    token = new_ticket_token()
    verp_id = new_verp_id()
    address = verp_address("support@example.com", token, verp_id)
    assert address == f"support+{token}-{verp_id}@example.com"
    local = address.partition("@")[0]
    assert parse_token_local_part(local.partition("+")[2]) == TokenAddress(token, verp_id)
    long_box = "customer-service-department@example.com"
    fallback = verp_address(long_box, token, verp_id)
    assert fallback == f"customer-service-department+{token}@example.com"
    assert len(fallback.partition("@")[0]) <= 64


@pytest.mark.parametrize("detail", ["", "hello", "x" * 26 + "-short", "x" * 19, "x" * 26 + "-"])
def test_other_sub_addresses_are_no_token(detail: str) -> None:
    assert parse_token_local_part(detail) is None
