"""A bounce detector choking on a malformed message costs one WARNING line, no traceback."""

from __future__ import annotations

import logging

import pytest

from parsing import parse_message

# A machine's bounce whose From name holds 8-bit junk: the stdlib hands flufl.bounce a
# Header object there, and its Sina detector calls .lower() on it (AttributeError).
MALFORMED_BOUNCE = (
    b"Return-Path: <>\n"
    b"From: Mail Delivery System \xff <MAILER-DAEMON@mx.example.net>\n"
    b"To: support@example.com\n"
    b"Subject: Undelivered Mail Returned to Sender\n"
    b"Message-ID: <bounce-1@mx.example.net>\n"
    b"\n"
    b"This is the mail system.\n"
    b"\n"
    b"<ada@customer.example>: host said 550 5.1.1 unknown user\n"
)


def test_detector_error_is_one_warning_line_without_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    parsed = parse_message(MALFORMED_BOUNCE, ticket_prefix="ACME")
    assert parsed.bounce is not None  # the message is still read as a bounce
    assert parsed.bounce.status == "5.1.1"
    flufl = [r for r in caplog.records if r.name.startswith("flufl")]
    assert len(flufl) == 1
    [record] = flufl
    assert record.levelno == logging.WARNING
    assert record.exc_info is None
    message = record.getMessage()
    assert "\n" not in message
    assert "Sina" in message and "AttributeError" in message
    assert "Traceback" not in caplog.text


def test_flufl_other_records_pass_unchanged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="flufl.bounce")
    parse_message(MALFORMED_BOUNCE, ticket_prefix="ACME")
    infos = [r for r in caplog.records if r.name == "flufl.bounce" and r.levelno == logging.INFO]
    assert infos and all(r.getMessage().startswith("Running detector") for r in infos)
