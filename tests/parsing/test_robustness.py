"""parse_message never raises and always returns storable text, whatever the bytes."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsing import ParsedMail, parse_message
from parsing.report import as_json_dict
from tests.parsing.corpus import PREFIX, fixture_names, load

FIXTURES = [load(name) for name in fixture_names()]
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _strings(parsed: ParsedMail) -> list[str]:
    values = [parsed.subject, parsed.text, parsed.reply_text, *parsed.defects]
    values += [v for v in (parsed.message_id, parsed.in_reply_to, parsed.return_path) if v]
    values += list(parsed.references)
    for address in (parsed.from_, *parsed.to, *parsed.cc, *parsed.reply_to):
        if address is not None:
            values += [address.name, address.address]
    values += [a.filename for a in parsed.attachments]
    if parsed.signature is not None:
        values.append(parsed.signature)
    if parsed.bounce is not None:
        values += [*parsed.bounce.recipients, parsed.bounce.original_message_id or ""]
    for name, value in parsed.headers:
        values += [name, value]
    return values


def _assert_sane(parsed: ParsedMail) -> None:
    assert isinstance(parsed, ParsedMail)
    for value in _strings(parsed):
        value.encode("utf-8")  # no lone surrogates: storable and printable
        assert "\x00" not in value
    assert "\n" not in parsed.subject and "\r" not in parsed.subject
    for attachment in parsed.attachments:
        assert attachment.filename
        assert "/" not in attachment.filename and "\\" not in attachment.filename
        assert attachment.filename not in (".", "..")
    if parsed.date is not None:
        assert parsed.date.utcoffset() is not None
    if parsed.text.strip():
        assert parsed.reply_text.strip()  # a mail with text never has an empty reply
    json.dumps(as_json_dict(parsed))


@SETTINGS
@given(st.binary(max_size=2000))
def test_random_bytes(raw: bytes) -> None:
    _assert_sane(parse_message(raw, ticket_prefix=PREFIX))


_MUTATION = st.tuples(
    st.sampled_from(["insert", "delete", "replace", "truncate", "duplicate"]),
    st.floats(min_value=0, max_value=1),
    st.binary(min_size=1, max_size=12)
    | st.sampled_from(
        [b"\n", b"\r\n", b"--", b"=?utf-8?b?", b"?=", b"<", b">", b";", b'"', b"\xff", b"\x00"]
    ),
)


def _mutate(raw: bytes, mutations: list[tuple[str, float, bytes]]) -> bytes:
    data = bytearray(raw)
    for kind, where, chunk in mutations:
        at = int(where * len(data))
        if kind == "insert":
            data[at:at] = chunk
        elif kind == "delete":
            del data[at : at + len(chunk) * 8]
        elif kind == "replace":
            data[at : at + len(chunk)] = chunk
        elif kind == "truncate":
            del data[at:]
        else:
            data[at:at] = data[at : at + 200]
    return bytes(data)


@SETTINGS
@given(st.sampled_from(FIXTURES), st.lists(_MUTATION, min_size=1, max_size=6))
def test_mutated_fixtures(raw: bytes, mutations: list[tuple[str, float, bytes]]) -> None:
    _assert_sane(parse_message(_mutate(raw, mutations), ticket_prefix=PREFIX))


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "From",
                    "To",
                    "Cc",
                    "Reply-To",
                    "Subject",
                    "Date",
                    "Message-ID",
                    "In-Reply-To",
                    "References",
                    "Return-Path",
                    "Content-Type",
                    "Content-Transfer-Encoding",
                    "Auto-Submitted",
                    "Precedence",
                ]
            ),
            st.text(max_size=80),
        ),
        max_size=8,
    ),
    st.text(max_size=200),
)
def test_random_header_values(headers: list[tuple[str, str]], body: str) -> None:
    head = "".join(f"{name}: {value}\n" for name, value in headers)
    raw = (head + "\n" + body).encode("utf-8", "surrogatepass")
    _assert_sane(parse_message(raw, ticket_prefix=PREFIX))


def test_non_bytes_input_does_not_raise() -> None:
    _assert_sane(parse_message(bytearray(FIXTURES[0])))
    _assert_sane(parse_message(memoryview(FIXTURES[0])))  # type: ignore[arg-type]
