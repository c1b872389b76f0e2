"""Which configured support mailbox an envelope recipient means.

``support@example.com`` and its sub-addresses ``support+TOKEN@example.com`` both reach the
``support`` mailbox; the part after ``+`` is our per-ticket reply token.
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


class MailboxDirectory:
    """``note_address`` (``[maild] note_address``) and its ``+TOKEN`` forms are accepted
    too, for the first mailbox: the agent step finds the ticket by thread, token or tag and
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
        address = address.strip().strip("<>").lower()
        local, at, domain = address.rpartition("@")
        if not at:
            return None
        box = self._by_address.get(address)
        if box is not None:
            return Recipient(box, None)
        base, plus, detail = local.partition("+")
        if plus:
            box = self._by_address.get(f"{base}@{domain}")
            if box is not None:
                return Recipient(box, parse_token_local_part(detail))
        return None

    def is_ours(self, address: str) -> bool:
        return self.resolve(address) is not None
