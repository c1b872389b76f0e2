"""The delivery of mail that arrives without an envelope: fetched over IMAP, or read from an
archive.

SMTP and LMTP hand maild the envelope (MAIL FROM, RCPT TO). For a message taken from an IMAP
folder, an mbox or a Maildir, :func:`parsing.envelope.read_headers` reads what stands in for
it from the header section; this module makes of that a :class:`Delivery` for one configured
mailbox.
"""

from __future__ import annotations

from maild.config import MailboxConfig
from maild.pipeline.delivery import Delivery
from maild.pipeline.mailboxes import token_recipients
from parsing.envelope import NULL_SENDERS, HeaderFacts, read_headers


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
