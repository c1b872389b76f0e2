"""The people a customer's mail addresses join the ticket as Cc (invariant 6)."""

from __future__ import annotations

from collections.abc import Mapping

from maild.config import Config
from maild.pipeline.context import IntakeContext
from maild.pipeline.mailboxes import MailboxDirectory
from maild.pipeline.participation import accept_cc
from storage import tickets
from storage.models import ParticipantRole


class AcceptCc:
    """The people a customer's mail addresses join the ticket: on a new ticket, and on a
    reply from the requester or an accepted Cc. Nobody else's mail adds anyone. Our own
    addresses and agents are never Cc participants; ``[maild] max_cc`` caps them."""

    name = "accept-cc"

    def __init__(self, config: Config, mailboxes: MailboxDirectory) -> None:
        self._max_cc = config.maild.max_cc
        self._mailboxes = mailboxes

    def __call__(self, context: IntakeContext) -> None:
        ticket = context.ticket
        assert ticket is not None
        if context.automated is not None or context.suspect or context.agent is not None:
            return
        if context.flooded:  # past the new-ticket limit: stored, changes nothing
            return
        policy, sender, parsed = context.policy, context.sender, context.parsed
        if all(self._mailboxes.is_ours(a.key) for a in (*parsed.to, *parsed.cc)):
            return  # the usual mail: to support only (and no query on the hot path)
        if context.created:
            roles: Mapping[str, ParticipantRole] = {sender: ParticipantRole.REQUESTER}
        else:
            roles = tickets.participant_roles(context.connection, ticket.id)
        if roles.get(sender) not in (ParticipantRole.REQUESTER, ParticipantRole.CC):
            return

        def excluded(address: str) -> bool:
            return (
                address == sender
                or self._mailboxes.is_ours(address)
                or policy.agent_for(address) is not None
            )

        added = accept_cc(
            context,
            (*parsed.to, *parsed.cc),
            max_cc=self._max_cc,
            excluded=excluded,
            roles=roles,
        )
        context.cc_added.extend(added)
