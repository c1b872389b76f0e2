"""The values that leave ``parsing/``: plain frozen dataclasses, safe to pass anywhere."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Address:
    """One mailbox of an address header; ``address`` is stripped, case kept as written."""

    name: str
    address: str

    @property
    def key(self) -> str:
        """The form used to compare addresses: lower-cased."""
        return self.address.lower()


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file carried by a message. ``filename`` is a bare name, never a path."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True, slots=True)
class Bounce:
    """What a delivery-status notification says failed."""

    recipients: tuple[str, ...]
    permanent: bool
    status: str | None
    original_message_id: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedMail:
    """Everything maild understood of one message.

    ``reply_text`` is the text without quoted history and signature, as stored and shown to
    agents (inline answers keep the quoted questions they answer); ``new_text`` is only the
    lines the sender wrote (no quoted line, attribution or signature): what rules match and
    all of an agent's mail that may be relayed to a customer.

    ``problem`` is set when the message cannot be handled as ordinary mail (no sender
    address, MIME structure too broken to find the body, undecodable header bytes): the
    pipeline quarantines such a message instead of guessing.
    """

    message_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    from_: Address | None
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    reply_to: tuple[Address, ...]
    return_path: str | None
    subject: str
    date: datetime | None
    text: str
    reply_text: str
    new_text: str
    signature: str | None
    attachments: tuple[Attachment, ...]
    automated: str | None
    bounce: Bounce | None
    ticket_ref: int | None
    defects: tuple[str, ...]
    problem: str | None = None
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def quarantine_reason(self) -> str | None:
        """Why intake holds this message in quarantine instead of storing it, or None: a
        parse problem, except in a delivery report, which goes on to be matched to the
        mail of ours that bounced (a report without a usable sender still finds it)."""
        return self.problem if self.problem is not None and self.bounce is None else None

    def header_values(self, name: str) -> tuple[str, ...]:
        """All values of header ``name`` (case-insensitive), in message order."""
        wanted = name.lower()
        return tuple(value for key, value in self.headers if key.lower() == wanted)

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """Message-IDs this message answers, nearest first (In-Reply-To, then References)."""
        ids: list[str] = []
        if self.in_reply_to:
            ids.append(self.in_reply_to)
        ids.extend(reversed(self.references))
        return tuple(dict.fromkeys(ids))
