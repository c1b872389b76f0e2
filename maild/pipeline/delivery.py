"""The values that cross from a source into the pipeline and back."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from maild.config import MailboxConfig
from parsing import ParsedMail


@dataclass(frozen=True, slots=True)
class Delivery:
    """Raw bytes plus the envelope, as a source received them.

    ``notify`` False stores the message without telling anyone: no acknowledgement (``maild
    import`` of old mail, unless ``--notify``).
    """

    raw: bytes
    mail_from: str
    rcpt_tos: tuple[str, ...]
    source: str
    notify: bool = True
    # The [[imap]] account it came from (source "imap"), for the trust rule's "imap:NAME".
    account: str = ""


class Outcome(enum.StrEnum):
    NEW_TICKET = "new_ticket"
    REPLY = "reply"
    DUPLICATE = "duplicate"
    QUARANTINED = "quarantined"


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What became of a delivery for one mailbox, after commit."""

    mailbox: str
    outcome: Outcome
    ticket_number: int | None = None
    quarantine_id: int | None = None
    automated: str | None = None  # why the message counts as automated mail, if it does


@dataclass(frozen=True, slots=True)
class Job:
    """One delivery for one mailbox: the unit the writer stores in a SAVEPOINT."""

    delivery: Delivery
    parsed: ParsedMail
    mailbox: MailboxConfig
    reply_tokens: tuple[str, ...] = ()
    quarantine_id: int | None = None  # set when re-running a quarantined message
    # The per-recipient ids of our envelope senders it was addressed to (support+TOKEN-RID@):
    # only a delivery report to one of them can mark an address bouncing.
    verp_ids: tuple[str, ...] = ()
