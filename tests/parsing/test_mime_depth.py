"""MIME nesting deeper than [intake] max_mime_depth is a problem found before the parse."""

from __future__ import annotations

import email

import pytest

from parsing import parse_message
from parsing.parse import MAX_MIME_DEPTH, mime_depth_exceeds


def nested_multipart(depth: int, *, closed: bool = True) -> bytes:
    lines = ["From: Ada <ada@customer.example>", "To: support@example.com", "Subject: deep"]
    lines.append("MIME-Version: 1.0")
    for level in range(depth):
        lines += [f'Content-Type: multipart/mixed; boundary="level{level}"', "", f"--level{level}"]
    lines += ["Content-Type: text/plain", "", "Hello from the bottom."]
    if closed:
        lines += [f"--level{level}--" for level in reversed(range(depth))]
    return ("\r\n".join(lines) + "\r\n").encode()


def nested_messages(depth: int) -> bytes:
    """message/rfc822 parts inside each other, no multipart at all."""
    lines = ["From: Ada <ada@customer.example>", "Subject: forwarded"]
    for level in range(depth):
        lines += ["Content-Type: message/rfc822", "", f"From: level{level}@example.org"]
    lines += ["", "The original."]
    return ("\n".join(lines) + "\n").encode()


def tree_depth(part: email.message.Message) -> int:
    if not part.is_multipart():
        return 0
    return 1 + max((tree_depth(child) for child in part.get_payload()), default=0)


def test_forty_levels_is_a_problem_named_after_the_limit() -> None:
    parsed = parse_message(nested_multipart(40), ticket_prefix="ACME")
    assert parsed.problem == "MIME nesting deeper than 30 levels"
    assert parsed.defects == ("mime-too-deep",)


def test_the_limit_itself_is_ordinary_mail() -> None:
    parsed = parse_message(nested_multipart(MAX_MIME_DEPTH), ticket_prefix="ACME")
    assert parsed.problem is None
    assert parsed.text.strip() == "Hello from the bottom."
    assert parse_message(nested_multipart(MAX_MIME_DEPTH + 1)).problem is not None


def test_nesting_deep_enough_to_exhaust_the_stack_is_named_not_a_recursion_error() -> None:
    parsed = parse_message(nested_multipart(5000, closed=False))
    assert parsed.problem == "MIME nesting deeper than 30 levels"


def test_the_depth_is_a_parameter() -> None:
    assert parse_message(nested_multipart(6), max_mime_depth=5).problem == (
        "MIME nesting deeper than 5 levels"
    )
    assert parse_message(nested_multipart(5), max_mime_depth=5).problem is None


def test_message_rfc822_parts_count_as_levels() -> None:
    raw = nested_messages(12)
    assert tree_depth(email.message_from_bytes(raw)) == 12
    assert mime_depth_exceeds(raw, 11)
    assert not mime_depth_exceeds(raw, 12)


def test_an_outer_boundary_ends_the_parts_inside_it() -> None:
    """Many multiparts one after the other, each left open: the next boundary of the outer
    multipart closes it (as the stdlib reads it), so the depth stays two."""
    lines = ["From: a@example.org", 'Content-Type: multipart/mixed; boundary="outer"', ""]
    for n in range(40):
        lines += ["--outer", f'Content-Type: multipart/alternative; boundary="inner{n}"', ""]
        lines += [f"--inner{n}", "Content-Type: text/plain", "", "text"]
    lines.append("--outer--")
    raw = ("\n".join(lines) + "\n").encode()
    assert tree_depth(email.message_from_bytes(raw)) == 2
    assert not mime_depth_exceeds(raw, 2)
    assert mime_depth_exceeds(raw, 1)


@pytest.mark.parametrize("implicit", [True, False])
def test_digest_parts_are_messages_by_default(implicit: bool) -> None:
    lines = ["From: a@example.org"]
    for level in range(10):
        lines += [f'Content-Type: multipart/digest; boundary="d{level}"', "", f"--d{level}"]
        if implicit:  # no Content-Type: a message/rfc822 part with headers of its own
            lines += ["", f"From: inner{level}@example.org"]
    lines += ["Content-Type: text/plain", "", "end"]
    raw = ("\n".join(lines) + "\n").encode()
    depth = tree_depth(email.message_from_bytes(raw))
    assert depth == (20 if implicit else 10)
    assert mime_depth_exceeds(raw, depth - 1)
    assert not mime_depth_exceeds(raw, depth)
