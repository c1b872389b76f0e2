"""Which configured support mailbox an envelope recipient means.

``support@example.com`` and its sub-addresses ``support+TOKEN@example.com`` both reach the
``support`` mailbox; the part after ``+`` is our per-ticket reply token, read by the one
token parser, :func:`outbound.compose.parse_token_local_part`. :func:`split_address` is the
one place that takes such an address apart; everything here that asks "is this one of ours,
and with which token" goes through it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from maild.config import MailboxConfig
from outbound.compose import TokenAddress, parse_token_local_part


@dataclass(frozen=True, slots=True)
class Recipient:
    mailbox: MailboxConfig
    token: TokenAddress | None


@dataclass(frozen=True, slots=True)
class SplitAddress:
    """An address taken apart: ``base`` without the sub-address (``support@example.com``),
    whether it had one, and the reply token that sub-address carries (None when it is no
    token of ours: a sub-address someone else chose)."""

    base: str
    sub_addressed: bool
    token: TokenAddress | None


def split_address(address: str) -> SplitAddress | None:
    """``support+TOKEN@example.com`` → base ``support@example.com`` and the token; lower
    case, angle brackets removed; None for something that is no address."""
    address = address.strip().strip("<>").lower()
    local, at, domain = address.rpartition("@")
    if not at:
        return None
    base, plus, detail = local.partition("+")
    if not plus:
        return SplitAddress(address, False, None)
    return SplitAddress(f"{base}@{domain}", True, parse_token_local_part(detail))


def addressed_to(rcpt_tos: Iterable[str], address: str) -> bool:
    """Whether an envelope recipient is ``address`` or one of its ``+…`` forms."""
    wanted = address.lower()
    return any((split := split_address(rcpt)) and split.base == wanted for rcpt in rcpt_tos)


def token_recipients(mailbox: MailboxConfig, addresses: Iterable[str]) -> tuple[str, ...]:
    """The addresses among ``addresses`` that are ``mailbox`` with a reply token
    (``support+TOKEN@example.com``); other mailboxes are not this delivery's business."""
    found = []
    for address in addresses:
        split = split_address(address)
        if split is not None and split.token is not None and split.base == mailbox.address:
            found.append(address)
    return tuple(found)


class MailboxDirectory:
    """``note_address`` (``[maild] note_address``) and its ``+TOKEN`` forms are accepted
    too, for the first mailbox: the agent chain finds the ticket by thread, token or tag and
    keeps the mail as an internal note there (maild.agents)."""

    def __init__(self, mailboxes: Iterable[MailboxConfig], note_address: str | None = None) -> None:
        boxes = list(mailboxes)
        self._by_address = {box.address: box for box in boxes}
        if note_address and boxes and note_address not in self._by_address:
            self._by_address[note_address] = boxes[0]

    def __contains__(self, address: str) -> bool:
        return self.resolve(address) is not None

    def resolve(self, address: str) -> Recipient | None:
        """The mailbox an address reaches, or None for an address that is not ours."""
        box = self._by_address.get(address.strip().strip("<>").lower())
        if box is not None:
            return Recipient(box, None)
        split = split_address(address)
        if split is None or not split.sub_addressed:
            return None
        box = self._by_address.get(split.base)
        return Recipient(box, split.token) if box is not None else None

    def is_ours(self, address: str) -> bool:
        return self.resolve(address) is not None
