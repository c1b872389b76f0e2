"""The delivery of mail that arrives without an envelope: fetched over IMAP, or read from an
archive.

SMTP and LMTP hand maild the envelope (MAIL FROM, RCPT TO). For a message taken from an IMAP
folder, an mbox or a Maildir, :func:`parsing.envelope.read_headers` reads what stands in for
it from the header section; this module makes of that a :class:`Delivery` for one configured
mailbox.
"""

from __future__ import annotations

from maild.config import MailboxConfig
from maild.pipeline.delivery import Delivery, HistoryImport
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
    history: HistoryImport | None = None,
) -> Delivery:
    """A :class:`Delivery` of ``raw`` to ``mailbox`` for mail that came without an envelope.

    The sender is the Return-Path the delivering MTA wrote (``<>`` stays the null sender),
    else ``envelope_sender`` (an mbox ``From `` line), else the From address. The mbox
    separator is not a header and at best a hint: Python's ``mailbox`` writes ``From
    MAILER-DAEMON <date>`` for every message it has no envelope sender for, so a null
    sender there says nothing and the From address stands in (a real delivery report is
    still known by its Return-Path, its From or its multipart/report). Recipients are
    ``mailbox`` plus any of its token addresses the headers name, so a reply to
    ``support+TOKEN@…`` threads as it would over SMTP.
    """
    if facts is None:
        facts = read_headers(raw)
    if facts.return_path is not None:
        mail_from = facts.return_path
    elif envelope_sender is not None and envelope_sender.strip().lower() not in NULL_SENDERS:
        mail_from = envelope_sender
    else:
        mail_from = facts.from_address
    rcpt_tos = (mailbox.address, *token_recipients(mailbox, facts.recipients))
    return Delivery(raw, mail_from, rcpt_tos, source, notify=notify, history=history)
