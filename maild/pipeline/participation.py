"""Who a mail brings onto a ticket as a Cc participant (invariant 6).

Participants are the requester, the Cc addresses we accepted, and agents; only they get the
customer side of the thread. Two ways in, both within ``[maild] max_cc`` per ticket:

* :class:`~maild.pipeline.steps.join_thread.JoinThread`: whoever proved they received our
  mail (answered one of our Message-IDs, or wrote to the token address) joins as a Cc;
* :class:`~maild.pipeline.steps.accept_cc.AcceptCc`: a customer's first mail, and later mail
  of the requester or an accepted Cc, bring along the people they addressed (To and Cc,
  without our own addresses and agents).

Both steps accept through :func:`accept_cc` here.

Addresses past the cap are recorded in an event and never mailed: one outsider's mail with
10,000 Cc addresses must not turn one agent answer into 10,000 messages.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from maild.pipeline.context import IntakeContext
from parsing import Address
from storage import tickets
from storage.models import ParticipantRole

log = logging.getLogger(__name__)

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
    max_cc: int,
    excluded: Callable[[str], bool],
) -> CcChoice:
    """The addresses among ``addressed`` to accept as Cc participants of a ticket whose
    participants are ``roles``, within ``max_cc``; and the ones refused for the cap.
    ``excluded`` says which addresses are never customers (ours, agents, the sender)."""
    room = max(0, max_cc - sum(1 for role in roles.values() if role == ParticipantRole.CC))
    accepted: list[Address] = []
    refused: list[str] = []
    seen = set(roles)
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


def accept_cc(
    context: IntakeContext,
    addressed: Iterable[Address],
    *,
    max_cc: int,
    excluded: Callable[[str], bool],
    roles: Mapping[str, ParticipantRole] | None = None,
) -> tuple[str, ...]:
    """Add the addresses :func:`choose_cc` accepts to the job's ticket as Cc and record
    both what was added and what was refused; the addresses added."""
    ticket = context.ticket
    assert ticket is not None
    if roles is None:
        roles = tickets.participant_roles(context.connection, ticket.id)
    choice = choose_cc(addressed, roles, max_cc=max_cc, excluded=excluded)
    if choice.accepted:
        tickets.insert_participants(
            context.connection,
            ticket.id,
            [(cc.key, cc.name, ParticipantRole.CC) for cc in choice.accepted],
        )
        for cc in choice.accepted:
            context.record("participant.added", address=cc.key, by=context.sender)
    if choice.refused:
        log.warning(
            "%d Cc address(es) past max_cc = %d not accepted",
            len(choice.refused),
            max_cc,
            extra={"ticket": ticket.number},
        )
        context.record(
            "participant.cc_not_accepted",
            count=len(choice.refused),
            addresses=list(choice.refused[:LISTED_REFUSED]),
        )
    return tuple(cc.key for cc in choice.accepted)
