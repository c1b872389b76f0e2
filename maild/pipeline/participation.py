"""Who a customer's mail brings onto a ticket as a Cc participant (invariant 6).

Participants are the requester, the Cc addresses we accepted, and agents; only they get the
customer side of the thread. A customer's first mail and the later mail of the requester
or an accepted Cc bring along the people they addressed (To and Cc, without our own
addresses and agents), up to ``[maild] max_cc`` per ticket. Addresses past the cap are
recorded in an event and never mailed: one outsider's mail with 10,000 Cc addresses must
not turn one agent answer into 10,000 messages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from parsing import Address
from storage.models import ParticipantRole

LISTED_REFUSED = 50
"""How many refused addresses an event lists by name (all are counted)."""


@dataclass(frozen=True, slots=True)
class CcChoice:
    accepted: tuple[Address, ...]
    refused: tuple[str, ...]


def choose_cc(
    addressed: Iterable[Address],
    roles: Mapping[str, ParticipantRole],
    *,
    sender: str,
    max_cc: int,
    excluded: Callable[[str], bool],
) -> CcChoice:
    """The addresses among ``addressed`` to accept as Cc participants of a ticket whose
    participants are ``roles``, within ``max_cc``; and the ones refused for the cap.
    ``excluded`` says which addresses are never customers (ours, agents)."""
    room = max(0, max_cc - sum(1 for role in roles.values() if role == ParticipantRole.CC))
    accepted: list[Address] = []
    refused: list[str] = []
    seen = {sender, *roles}
    for address in addressed:
        key = address.key
        if not key or key in seen or excluded(key):
            continue
        seen.add(key)
        if len(accepted) < room:
            accepted.append(address)
        else:
            refused.append(key)
    return CcChoice(tuple(accepted), tuple(refused))


def refused_event(refused: tuple[str, ...]) -> dict[str, object]:
    """The data of a ``participant.cc_not_accepted`` event."""
    return {"count": len(refused), "addresses": list(refused[:LISTED_REFUSED])}
