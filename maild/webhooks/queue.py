"""Ticket events become webhook deliveries, in the transaction that records them.

Every change of a ticket is an audit event written by ``EventLog.write`` in the caller's
transaction; that method hands what it wrote to :func:`queue_events`, which adds one
delivery row per subscribed ``[[webhooks]]`` receiver. The row commits or rolls back with
the change (like the outbox's rows), and ``outbound.webhooks`` sends it after the commit.

Which webhooks exist travels with the database connection: :func:`webhook_options` puts
the subscriptions of the configuration on the engine the daemon and the console open
(``maild.database.open_engine``) as an execution option, as ``storage.engine`` does with its
write option. So every path that changes tickets (intake, agents' commands, rules, the SLA
sweep, survey ratings, the console) queues deliveries without being told, and a path on an
engine without it (the simulations' scratch copies) queues none.

Two kinds of events reach webhooks:

- ticket changes, mapped from the audit event kinds in :data:`CHANGES` (``status.changed``
  is ``ticket.status_changed``, …), with the details listed there;
- mail, which intake announces (``EventLog.announce``) with its new text:
  ``ticket.created``, ``ticket.customer_replied``, ``ticket.agent_replied``.

The payload is Standard Webhooks' ``{"type", "timestamp", "data"}``; ``data`` is the ticket
as the transaction leaves it (see README, "Webhooks"). The subject, the new text and rating
comments are customer data, sent only to receivers with ``include_text = true``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from maild.config import Config
from parsing.ticketref import format_ticket_tag
from storage import webhooks

OPTION = "maild_webhooks"
"""The execution option that carries :class:`Subscriptions` on an engine."""

CHANGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "status.changed": ("ticket.status_changed", ("from", "to")),
    "assignment.changed": ("ticket.assigned", ("from", "to", "team")),
    "ticket.merged": ("ticket.merged", ("into",)),
    "sla.warning": ("sla.warning", ("target", "due_at", "deadline")),
    "sla.breached": ("sla.breached", ("target", "due_at", "deadline")),
    "ticket.rated": ("ticket.rated", ("rating", "scale", "via", "previous")),
}
"""Audit event kind → (webhook event, the details of the change it carries)."""

TEXT_DETAILS = {"ticket.rated": "comment"}
"""The detail of a change that is customer text: sent as ``text`` with ``include_text``."""


@dataclass(frozen=True, slots=True)
class Subscription:
    name: str
    events: frozenset[str]
    include_text: bool


@dataclass(frozen=True, slots=True)
class Subscriptions:
    """The configured webhooks, as the queueing needs them."""

    hooks: tuple[Subscription, ...]
    ticket_prefix: str

    @classmethod
    def from_config(cls, config: Config) -> Subscriptions:
        return cls(
            tuple(
                Subscription(hook.name, frozenset(hook.events), hook.include_text)
                for hook in config.webhooks
            ),
            config.maild.ticket_prefix,
        )

    def wanting(self, event: str) -> list[Subscription]:
        return [hook for hook in self.hooks if event in hook.events]


def webhook_options(config: Config) -> dict[str, Subscriptions]:
    """The execution options that carry the webhooks of ``config`` to every connection of
    an engine made with them (none when no webhook is configured)."""
    return {OPTION: Subscriptions.from_config(config)} if config.webhooks else {}


def subscriptions(connection: Connection) -> Subscriptions | None:
    found = connection.get_execution_options().get(OPTION)
    return found if isinstance(found, Subscriptions) else None


def new_msg_id() -> str:
    """A ``webhook-id``: unique, and the same for every attempt of one delivery."""
    return "msg_" + secrets.token_urlsafe(18)


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def queue_events(connection: Connection, events: Sequence[Mapping[str, Any]]) -> int:
    """Queue a delivery for each subscribed webhook of each of ``events`` (as
    ``EventLog.write`` wrote them: ``ticket_id``, ``at``, ``actor``, ``kind``, ``data``, and
    ``announced`` for mail events); how many. Without webhooks on the connection: none, at
    no cost."""
    subscribed = subscriptions(connection)
    if subscribed is None:
        return 0
    rows: list[dict[str, Any]] = []
    tickets: dict[int, dict[str, Any] | None] = {}
    for event in events:
        kind, details = _webhook_event(event)
        if kind is None:
            continue
        hooks = subscribed.wanting(kind)
        if not hooks:
            continue
        ticket_id = event["ticket_id"]
        if ticket_id not in tickets:
            tickets[ticket_id] = webhooks.ticket_fields(connection, ticket_id)
        ticket = tickets[ticket_id]
        if ticket is None:
            continue
        at = event["at"]
        for hook in hooks:
            payload = build_payload(
                kind, at, ticket, subscribed.ticket_prefix, event, details, hook.include_text
            )
            rows.append(
                {
                    "webhook": hook.name,
                    "event": kind,
                    "msg_id": new_msg_id(),
                    "ticket_number": ticket["number"],
                    "payload": payload,
                    "created_at": at,
                }
            )
    webhooks.insert_deliveries(connection, rows)
    return len(rows)


def _webhook_event(event: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The webhook event of an audit or announced event, and the details it carries."""
    data = event["data"]
    if event.get("announced"):
        return event["kind"], {key: value for key, value in data.items() if key != "text"}
    mapped = CHANGES.get(event["kind"])
    if mapped is None:
        return None, {}
    kind, keys = mapped
    return kind, {key: data[key] for key in keys if key in data}


def build_payload(
    kind: str,
    at: datetime,
    ticket: Mapping[str, Any],
    prefix: str,
    event: Mapping[str, Any],
    details: Mapping[str, Any],
    include_text: bool,
) -> str:
    """The JSON body of one delivery (Standard Webhooks' type, timestamp and data)."""
    data: dict[str, Any] = {
        "ticket": ticket["number"],
        "tag": format_ticket_tag(prefix, ticket["number"]),
        "mailbox": ticket["mailbox"],
        "status": str(ticket["status"]),
        "priority": ticket["priority"],
        "category": ticket["category"],
        "tags": list(ticket["tags"] or []),
        "requester": ticket["requester"],
        "assignee": ticket["assignee"],
        "team": ticket["team"],
        "actor": event["actor"],
        "change": dict(details),
    }
    if include_text:
        data["subject"] = ticket["subject"]
        text = event["data"].get("text") if event.get("announced") else None
        if text is None and kind in TEXT_DETAILS:
            text = event["data"].get(TEXT_DETAILS[kind])
        if text is not None:
            data["text"] = text
    body = {"type": kind, "timestamp": iso(at), "data": data}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str)


def ping_payload(name: str, at: datetime) -> str:
    """The body ``maild webhooks test NAME`` sends."""
    body = {"type": "ping", "timestamp": iso(at), "data": {"webhook": name}}
    return json.dumps(body, separators=(",", ":"))
