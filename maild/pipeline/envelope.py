"""The envelope of mail that arrives without one: fetched over IMAP, or read from an archive.

SMTP and LMTP hand maild the envelope (MAIL FROM, RCPT TO). A message taken from an IMAP
folder, an mbox or a Maildir has only its headers; this module reads from the header section
alone (cheap: no MIME parsing) what stands in for the envelope, and what ``maild import``
orders messages by. It makes a :class:`Delivery` for one configured mailbox.
"""

from __future__ import annotations

import email.parser
import email.policy
import email.utils
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from maild.config import MailboxConfig
from maild.pipeline.delivery import Delivery
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


def token_recipients(mailbox: MailboxConfig, addresses: Iterable[str]) -> tuple[str, ...]:
    """The addresses among ``addresses`` that are ``mailbox`` with a reply token
    (``support+TOKEN@example.com``); other mailboxes are not this delivery's business."""
    local, _, domain = mailbox.address.partition("@")
    found = []
    for address in addresses:
        their_local, at, their_domain = address.rpartition("@")
        base, plus, token = their_local.partition("+")
        if at and plus and token and base == local and their_domain == domain:
            found.append(address)
    return tuple(found)


def stored_delivery(
    raw: bytes,
    mailbox: MailboxConfig,
    source: str,
    *,
    facts: HeaderFacts | None = None,
    envelope_sender: str | None = None,
    notify: bool = True,
) -> Delivery:
    """A :class:`Delivery` of ``raw`` to ``mailbox`` for mail that came without an envelope.

    The sender is the Return-Path the delivering MTA wrote (``<>`` stays the null sender),
    else ``envelope_sender`` (an mbox ``From `` line), else the From address. Recipients are
    ``mailbox`` plus any of its token addresses the headers name, so a reply to
    ``support+TOKEN@…`` threads as it would over SMTP.
    """
    if facts is None:
        facts = read_headers(raw)
    if facts.return_path is not None:
        mail_from = facts.return_path
    elif envelope_sender is not None:
        mail_from = "" if envelope_sender.strip().lower() in NULL_SENDERS else envelope_sender
    else:
        mail_from = facts.from_address
    rcpt_tos = (mailbox.address, *token_recipients(mailbox, facts.recipients))
    return Delivery(raw, mail_from, rcpt_tos, source, notify=notify)
