"""``problem``: set for what cannot be handled as ordinary mail, and for nothing else."""

from __future__ import annotations

import pytest

from parsing import parse_message, problems
from tests.parsing.corpus import fixture_names, load, mail

# Courier's bounces come "From: … <@>": no sender address, so they are quarantined like any
# mail without one (their bounce is still read, see test_corpus).
CLEAN_FIXTURES = sorted(
    set(fixture_names()) - {"broken-mime.eml", "garbage-from.eml", "bounce-courier.eml"}
)


@pytest.mark.parametrize("name", CLEAN_FIXTURES)
def test_real_client_mail_has_no_problem(name: str) -> None:
    assert parse_message(load(name)).problem is None


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"", problems.EMPTY),
        (b"   \r\n\r\n  ", problems.EMPTY),
        (b"just some text, no headers at all\n", problems.NO_HEADERS),
        (b"\x00\x01\x02\xff\xfe binary junk", problems.NO_HEADERS),
        (mail("Subject: hi", sender=""), problems.NO_FROM),
        (mail(sender="undisclosed-recipients:;"), problems.NO_SENDER),
        (mail(sender="root"), problems.NO_SENDER),
        (mail(sender="Ada <>"), problems.NO_SENDER),
        (mail(sender="\udcff\udcfe <\udce9\udcff@\udcfe>"), problems.UNDECODABLE_FROM),
    ],
)
def test_problems(raw: bytes, problem: str) -> None:
    parsed = parse_message(raw)
    assert parsed.problem == problem


@pytest.mark.parametrize(
    "raw",
    [
        mail("Date: not a date"),
        mail("Subject: =?x-unknown?q?odd?="),
        mail("Content-Type: text/plain; charset=bogus", body=b"caf\xe9"),
        mail("Message-ID: no brackets at all"),
        mail("To: broken <<<"),
        mail("X-Header-Without-Value:"),
        mail(
            "MIME-Version: 1.0",
            'Content-Type: multipart/mixed; boundary="b"',
            body="--b\nContent-Type: text/plain\n\nunterminated",
        ),
        mail(sender="J\udcfcrgen M\udcfcller <j@x.example>"),
        mail("Content-Transfer-Encoding: base64", body="aGVsbG8=\n!!!garbage"),
        b"From: a@b.example\nNot a header line\n\nbody",
    ],
)
def test_minor_defects_are_not_problems(raw: bytes) -> None:
    assert parse_message(raw).problem is None


def test_problem_mail_still_carries_what_was_readable() -> None:
    parsed = parse_message(mail("Subject: hi", "Message-ID: <m@x>", sender=""))
    assert (parsed.subject, parsed.message_id, parsed.text) == ("hi", "<m@x>", "Hello.")
