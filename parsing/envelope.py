"""What the header section says in place of an envelope, for mail that arrives without one.

SMTP and LMTP hand maild the envelope (MAIL FROM, RCPT TO). A message taken from an IMAP
folder, an mbox or a Maildir has only its headers; :func:`read_headers` reads from the header
section alone (cheap: no MIME parsing) what stands in for the envelope, and what ``maild
import`` orders messages by. Turning these facts into a delivery for a configured mailbox is
maild's business (``maild.pipeline.envelope``).

Pure: imports nothing of the project but ``parsing``.
"""

from __future__ import annotations

import email.parser
import email.policy
import email.utils
from dataclasses import dataclass
from datetime import datetime

from parsing.dates import parse_date
from parsing.msgids import all_ids, message_id

# Headers that may name the address a message was delivered to, most specific first. They
# carry our per-ticket reply token (support+TOKEN@…) when the customer answered to it.
RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "To", "Cc")

# Envelope senders that mean "no sender" in an mbox ``From `` line.
NULL_SENDERS = frozenset({"", "<>", "mailer-daemon", "mailer_daemon"})

_HEADER_PARSER = email.parser.BytesHeaderParser(policy=email.policy.compat32)


@dataclass(frozen=True, slots=True)
class HeaderFacts:
    """What the header section says about where a message comes from and belongs."""

    date: datetime | None
    message_id: str | None
    parent_ids: tuple[str, ...]  # In-Reply-To, then References
    return_path: str | None  # None: no Return-Path header; "": the null sender <>
    from_address: str  # the first From address, "" if none
    recipients: tuple[str, ...]  # lower-cased, from RECIPIENT_HEADERS


def header_section(raw: bytes) -> bytes:
    """The bytes before the first empty line (CRLF or LF line ends)."""
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
    return raw[: min(ends) + 1] if ends else raw


def read_headers(raw: bytes) -> HeaderFacts:
    headers = _HEADER_PARSER.parsebytes(header_section(raw))

    def values(name: str) -> list[str]:
        return [str(value) for value in headers.get_all(name, [])]

    def first(name: str) -> str | None:
        found = values(name)
        return found[0] if found else None

    parents = list(all_ids(first("In-Reply-To")))
    parents.extend(i for i in all_ids(" ".join(values("References"))) if i not in parents)
    return_path: str | None = None
    raw_return_path = first("Return-Path")
    if raw_return_path is not None:
        return_path = email.utils.parseaddr(raw_return_path)[1].strip()
    senders = email.utils.getaddresses(values("From"))
    recipients: list[str] = []
    for name in RECIPIENT_HEADERS:
        for _, address in email.utils.getaddresses(values(name)):
            address = address.strip().lower()
            if address and address not in recipients:
                recipients.append(address)
    return HeaderFacts(
        date=parse_date(first("Date")),
        message_id=message_id(first("Message-ID")),
        parent_ids=tuple(parents),
        return_path=return_path,
        from_address=senders[0][1].strip() if senders else "",
        recipients=tuple(recipients),
    )
