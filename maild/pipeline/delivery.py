"""The values that cross from a source into the pipeline and back."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from maild.config import MailboxConfig
from parsing import ParsedMail

# The dates an imported mail may keep as its own: none before this, none more than
# :data:`FUTURE_SLACK` after the import.
EARLIEST_HISTORY = datetime(1990, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class HistoryImport:
    """How ``maild import`` stores old mail (DECISIONS "History import"): at the mail's own
    date, with the status the admin chose, agents recognised by address, and without
    running commands, relays, notices or the SLA."""

    status: Literal["closed", "keep-open"] = "closed"
    # Domains whose senders are agents in this history (``--agents-from``).
    agents_from: tuple[str, ...] = ()
    # When the import ran: SLA targets already past then are marked fired, not fired.
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    # Ids of the tickets this import created (the writer thread adds to it): mail added to
    # any other ticket leaves its status alone.
    created: set[int] = field(default_factory=set, compare=False, hash=False)

    def date_of(self, mail_date: datetime | None, now: datetime) -> datetime:
        """The mail's own date when plausible, else ``now`` (the import time)."""
        if mail_date is None or mail_date.tzinfo is None:
            return now
        if mail_date < EARLIEST_HISTORY or mail_date > now + FUTURE_SLACK:
            return now
        return mail_date.astimezone(UTC)


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
    # Old mail from ``maild import``: stored at its own date, as history (never None for
    # an import, None for live mail).
    history: HistoryImport | None = None

    @property
    def origin(self) -> str:
        """Where it came from, as the logs name it: ``smtp``, ``lmtp``, ``imap:NAME``, …"""
        return f"{self.source}:{self.account}" if self.account else self.source


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
