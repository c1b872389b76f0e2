"""The whole of one ticket row as a plain value, and the views ``rules/`` takes of it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from rules.businesstime import from_us
from rules.config import RulesConfig
from rules.model import TicketView as RulesTicketView
from storage import workflow
from storage.models import TicketStatus


@dataclass(slots=True)
class TicketRecord:
    """A ticket as stored. ``sla_paused`` holds [start, end] pairs in microseconds since
    the epoch (end None while the ticket still waits on the customer); ``sla_fired`` the
    warnings and breaches already sent, as ``"target.kind"``."""

    id: int
    number: int
    token: str
    mailbox: str
    subject: str
    status: TicketStatus
    priority: str
    requester: str
    requester_name: str = ""
    assignee: str | None = None
    team: str | None = None
    tier: str | None = None
    category: str | None = None
    tags: list[str] = field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    resolved_assignee: str | None = None
    assigned_at: datetime | None = None
    sla_paused: list[list[int | None]] = field(default_factory=list)
    sla_fired: list[str] = field(default_factory=list)
    auto_close_warned_at: datetime | None = None
    merged_into_id: int | None = None
    linked_ticket_id: int | None = None

    @property
    def paused(self) -> tuple[tuple[datetime, datetime | None], ...]:
        """The SLA pauses as instants, for ``rules.sla``."""
        return pauses_as_datetimes(self.sla_paused)

    @property
    def fired(self) -> frozenset[tuple[str, str]]:
        return fired_keys(self.sla_fired)

    def rules_view(self, policy: RulesConfig) -> RulesTicketView:
        """What rules may know of this ticket."""
        return RulesTicketView(
            number=self.number,
            subject=self.subject,
            requester=self.requester,
            mailbox=self.mailbox,
            status=str(self.status),
            priority=self.priority,
            category=self.category,
            tags=frozenset(self.tags),
            vip=policy.vip.is_vip(self.requester),
            team=self.team,
            assignee=self.assignee,
            tier=self.tier,
            created_at=self.created_at,
            first_response_at=self.first_response_at,
            resolved_at=self.resolved_at,
            paused=self.paused,
        )


def pauses_as_datetimes(
    stored: Sequence[Sequence[int | None]] | None,
) -> tuple[tuple[datetime, datetime | None], ...]:
    return tuple(
        (from_us(int(start)), None if end is None else from_us(int(end)))
        for start, end in (stored or ())
        if start is not None
    )


def fired_keys(stored: Sequence[str] | None) -> frozenset[tuple[str, str]]:
    keys = set()
    for item in stored or ():
        target, _, kind = item.partition(".")
        keys.add((target, kind))
    return frozenset(keys)


def _record(values: dict[str, Any] | None) -> TicketRecord | None:
    if values is None:
        return None
    values["status"] = TicketStatus(values["status"])
    values["tags"] = list(values["tags"] or [])
    values["sla_paused"] = [list(pair) for pair in values["sla_paused"] or []]
    values["sla_fired"] = list(values["sla_fired"] or [])
    values["requester_name"] = values["requester_name"] or ""
    return TicketRecord(**values)


def load_ticket(connection: Connection, ticket_id: int) -> TicketRecord:
    record = _record(workflow.ticket_row(connection, ticket_id))
    if record is None:
        raise LookupError(f"no ticket with id {ticket_id}")
    return record


def find_ticket(connection: Connection, number: int) -> TicketRecord | None:
    return _record(workflow.ticket_row_by_number(connection, number))
