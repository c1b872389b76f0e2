"""Mail to agents, teams and admins about a ticket: notifications, SLA warnings, breaches.

One message per recipient, so no agent's address is shown to another and each agent's
client threads the ticket on its own: the first notice to a recipient gets a Message-ID
derived from the ticket's token and the recipient, every later one names it in
``In-Reply-To``/``References``. Every Message-ID carries the ticket's token, and
``Reply-To`` is the ticket's token address, so an agent's answer threads to the ticket
whatever the subject says. ``Thread-Topic``/``Thread-Index`` do the same for Outlook.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from maild.config import Config
from maild.ticketing.mail import mail_ticket, queue
from maild.ticketing.record import TicketRecord
from outbound.templating import TemplateRenderer
from outbound.threads import agent_threading
from outbound.ticketmail import TicketMail
from parsing.ticketref import format_ticket_tag
from rules.config import RulesConfig
from storage import notices, watchers
from storage.models import MessageKind

log = logging.getLogger(__name__)

RECENT_MESSAGES = 3
"""How many earlier messages a notification shows below the new one."""
EXCERPT_CHARS = 4000


@dataclass(frozen=True, slots=True)
class Recipient:
    name: str
    address: str


def human_size(size: int) -> str:
    """``532 bytes``, ``48 KB``, ``2.1 MB``: an attachment's size as a person reads it."""
    if size < 1000:
        return f"{size} bytes"
    if size < 1_000_000:
        return f"{round(size / 1000)} KB"
    return f"{size / 1_000_000:.1f} MB"


class Notifier:
    """Composes and queues notices; the caller's transaction makes them durable with the
    change that caused them (invariant 4)."""

    def __init__(self, config: Config, renderer: TemplateRenderer) -> None:
        self._config = config
        self._renderer = renderer

    # -- who ---------------------------------------------------------------------------

    def resolve(
        self, record: TicketRecord, targets: Iterable[str], policy: RulesConfig
    ) -> list[Recipient]:
        """Addresses for rule and config targets: an address, a team name (its address,
        else its active members), ``assignee``, ``team`` (the ticket's team, else all
        agents), ``requester``. Duplicates are dropped, order kept."""
        found: list[Recipient] = []
        for target in targets:
            if "@" in target:
                agent = policy.agent_for(target)
                found.append(Recipient(agent.name if agent else "", target.lower()))
            elif target == "assignee":
                if record.assignee:
                    found.append(self._agent(record.assignee, policy))
                else:
                    found.extend(self.team_members(record.team, policy))
            elif target == "team":
                found.extend(self.team_members(record.team, policy))
            elif target == "requester":
                found.append(Recipient(record.requester_name, record.requester))
            else:
                found.extend(self.team_members(target, policy))
        unique: dict[str, Recipient] = {}
        for recipient in found:
            unique.setdefault(recipient.address, recipient)
        return list(unique.values())

    def team_members(self, team: str | None, policy: RulesConfig) -> list[Recipient]:
        """A team's distribution address, else its active agents; every active agent when
        ``team`` is None."""
        if team is not None:
            declared = policy.teams_by_name.get(team)
            if declared is not None and declared.address:
                return [Recipient(declared.name, declared.address)]
        return [
            Recipient(agent.name, agent.address)
            for agent in policy.agents
            if agent.active and (team is None or team in agent.teams)
        ]

    def with_watchers(
        self,
        connection: Connection,
        record: TicketRecord,
        recipients: Sequence[Recipient],
        policy: RulesConfig,
    ) -> list[Recipient]:
        """``recipients``, then the ticket's watchers who are not among them (and are
        still configured agents)."""
        found = list(recipients)
        known = {recipient.address for recipient in found}
        for address in watchers.watchers(connection, record.id):
            if address not in known and policy.agent_for(address) is not None:
                found.append(self._agent(address, policy))
                known.add(address)
        return found

    @staticmethod
    def _agent(address: str, policy: RulesConfig) -> Recipient:
        agent = policy.agent_for(address)
        return Recipient(agent.name if agent else "", address)

    # -- what --------------------------------------------------------------------------

    def recent_messages(
        self, connection: Connection, ticket_id: int, limit: int = RECENT_MESSAGES + 1
    ) -> list[dict[str, Any]]:
        """The last messages of the ticket, newest first, as template variables."""
        return [
            {
                "kind": str(message.kind),
                "internal": message.kind == MessageKind.NOTE,
                "from_address": message.from_address,
                "from_name": message.from_name or message.from_address,
                "text": message.text[:EXCERPT_CHARS],
                "at": message.created_at.strftime("%Y-%m-%d %H:%M UTC"),
                "attachments": [
                    {"filename": item.filename, "size": human_size(item.size)}
                    for item in message.attachments
                ],
            }
            for message in notices.recent_messages(connection, ticket_id, limit)
        ]

    def ticket_variables(self, record: TicketRecord, policy: RulesConfig) -> dict[str, Any]:
        assignee = policy.agent_for(record.assignee) if record.assignee else None
        return {
            "ticket_number": record.number,
            "ticket_tag": format_ticket_tag(self._config.maild.ticket_prefix, record.number),
            "subject": record.subject,
            "requester": record.requester,
            "requester_name": record.requester_name,
            "status": str(record.status),
            "priority": record.priority,
            "category": record.category or "",
            "tags": list(record.tags),
            "team": record.team or "",
            "tier": record.tier or "",
            "assignee": record.assignee or "",
            "assignee_name": (assignee.name if assignee else "") or (record.assignee or ""),
            "mailbox_name": self._mailbox_name(record.mailbox),
        }

    def _mailbox_name(self, address: str) -> str:
        box = self._config.mailbox(address)
        return box.name if box else address

    # -- sending -----------------------------------------------------------------------

    def send(
        self,
        connection: Connection,
        record: TicketRecord,
        recipients: Sequence[Recipient],
        *,
        template: str,
        reason: str,
        now: datetime,
        policy: RulesConfig,
        variables: Mapping[str, Any] | None = None,
        kind: str = "notification",
        skip: Iterable[str] = (),
        parent_index: str | None = None,
        to_watchers: bool = True,
    ) -> list[str]:
        """Queue ``template`` for each recipient, each in their own thread; the addresses
        it was queued for. ``skip``: addresses that must not get it (the agent whose mail
        caused it); ``parent_index``: the Thread-Index of the customer's mail it announces.
        The ticket's watchers (``#watch``) get every notice about it too, unless
        ``to_watchers`` is False (a notice meant for one person: "assigned to you")."""
        if to_watchers:
            recipients = self.with_watchers(connection, record, recipients, policy)
        if not recipients:
            return []
        skipped = {address.lower() for address in skip}
        linked = (
            notices.ticket_numbers(connection, [record.linked_ticket_id])
            if record.linked_ticket_id
            else []
        )
        prefix = self._config.maild.ticket_prefix
        context = {
            **self.ticket_variables(record, policy),
            "linked_tag": format_ticket_tag(prefix, linked[0]) if linked else "",
            "reason": reason,
            "messages": self.recent_messages(connection, record.id),
            **(variables or {}),
        }
        ticket = mail_ticket(record)
        sent = []
        for recipient in recipients:
            if recipient.address in skipped:
                continue
            rendered = self._renderer.render(
                template, {**context, "recipient_name": recipient.name}
            )
            queued = queue(
                connection,
                self._config,
                TicketMail(
                    kind=kind,
                    ticket=ticket,
                    recipients=[(recipient.name, recipient.address)],
                    from_name=context["mailbox_name"],
                    from_address=record.mailbox,
                    subject=f"{context['ticket_tag']} {record.subject}",
                    text=rendered.text,
                    html=rendered.html,
                    threading=agent_threading(
                        connection, ticket, recipient.address, parent_index=parent_index
                    ),
                ),
                now,
            )
            if queued.sent_to:
                sent.append(recipient.address)
            else:
                log.warning(
                    "no %s to %s: %s",
                    kind,
                    recipient.address,
                    queued.reason,
                    extra={"ticket": record.number},
                )
        return sent
