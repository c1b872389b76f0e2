"""Mail to agents, teams and admins about a ticket: notifications, SLA warnings, breaches.

One message per recipient, so no agent's address is shown to another and each agent's
client threads the ticket on its own: the first notice to a recipient gets a Message-ID
derived from the ticket's token and the recipient, every later one names it in
``In-Reply-To``/``References``. Every Message-ID carries the ticket's token, and
``Reply-To`` is the ticket's token address, so an agent's answer threads to the ticket
whatever the subject says. ``Thread-Topic``/``Thread-Index`` do the same for Outlook.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from maild.config import Config
from maild.ticketing.record import TicketRecord
from outbound.compose import AddressError, OutgoingMail, compose, make_message_id, token_address
from outbound.outbox import enqueue_each
from outbound.templating import TemplateRenderer
from outbound.threadindex import thread_index, thread_topic
from parsing.ticketref import format_ticket_tag
from rules.config import RulesConfig
from storage.models import Message, MessageKind, OutboxMessage

log = logging.getLogger(__name__)

RECENT_MESSAGES = 3
"""How many earlier messages a notification shows below the new one."""
EXCERPT_CHARS = 4000

_messages, _outbox = Message.__table__, OutboxMessage.__table__
_RECENT = (
    select(
        _messages.c.kind,
        _messages.c.from_address,
        _messages.c.from_name,
        _messages.c.reply_text,
        _messages.c.created_at,
    )
    .where(_messages.c.ticket_id == bindparam("ticket_id"))
    .order_by(_messages.c.id.desc())
    .limit(bindparam("limit"))
)
_SENT = select(_outbox.c.id).where(_outbox.c.message_id == bindparam("message_id")).limit(1)


@dataclass(frozen=True, slots=True)
class Recipient:
    name: str
    address: str


def thread_root_id(token: str, address: str, domain: str) -> str:
    """The Message-ID of the first notice about a ticket to ``address``: the same every
    time, so later notices can name it before knowing whether it was sent."""
    digest = hashlib.sha256(f"{token}\0{address.lower()}".encode()).hexdigest()[:20]
    return f"<maild-{token}.n{digest}@{domain}>"


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

    @staticmethod
    def _agent(address: str, policy: RulesConfig) -> Recipient:
        agent = policy.agent_for(address)
        return Recipient(agent.name if agent else "", address)

    # -- what --------------------------------------------------------------------------

    def recent_messages(
        self, connection: Connection, ticket_id: int, limit: int = RECENT_MESSAGES + 1
    ) -> list[dict[str, Any]]:
        """The last messages of the ticket, newest first, as template variables."""
        rows = connection.execute(_RECENT, {"ticket_id": ticket_id, "limit": limit})
        return [
            {
                "kind": str(row.kind),
                "internal": row.kind == MessageKind.NOTE,
                "from_address": row.from_address,
                "from_name": row.from_name or row.from_address,
                "text": (row.reply_text or "")[:EXCERPT_CHARS],
                "at": row.created_at.strftime("%Y-%m-%d %H:%M UTC"),
            }
            for row in rows
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
    ) -> list[str]:
        """Queue ``template`` for each recipient; the addresses it was queued for.
        ``skip``: addresses that must not get it (the agent whose mail caused it)."""
        if not recipients:
            return []
        skipped = {address.lower() for address in skip}
        context = {
            **self.ticket_variables(record, policy),
            "reason": reason,
            "messages": self.recent_messages(connection, record.id),
            **(variables or {}),
        }
        domain = record.mailbox.partition("@")[2]
        reply_to = token_address(record.mailbox, record.token)
        tag = context["ticket_tag"]
        sent = []
        for recipient in recipients:
            if recipient.address in skipped:
                continue
            rendered = self._renderer.render(
                template, {**context, "recipient_name": recipient.name}
            )
            root = thread_root_id(record.token, recipient.address, domain)
            first = connection.execute(_SENT, {"message_id": root}).first() is None
            message_id = root if first else make_message_id(record.token, domain)
            assert record.created_at is not None
            mail = OutgoingMail(
                from_name=context["mailbox_name"],
                from_address=record.mailbox,
                to=((recipient.name, recipient.address),),
                subject=f"{tag} {record.subject}",
                text=rendered.text,
                html=rendered.html,
                message_id=message_id,
                in_reply_to=None if first else root,
                references=() if first else (root,),
                reply_to=reply_to,
                auto_submitted="auto-generated",
                date=now,
                thread_topic=thread_topic(record.subject),
                thread_index=thread_index(
                    f"{record.token}:{recipient.address}", record.created_at, None if first else now
                ),
            )
            try:
                raw = compose(mail)
            except AddressError as error:
                log.warning(
                    "no %s to %s: %s",
                    kind,
                    recipient.address,
                    error,
                    extra={"ticket": record.number},
                )
                continue
            enqueue_each(
                connection,
                ticket_id=record.id,
                kind=kind,
                message_id=message_id,
                mailbox=record.mailbox,
                token=record.token,
                recipients=[recipient.address],
                raw=raw,
                now=now,
            )
            sent.append(recipient.address)
        return sent
