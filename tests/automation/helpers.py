"""Configurations with rules, agents, teams and tiers for the automation tests, and small
readers of what the daemon stored and sent."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from sqlalchemy import select

from maild.config import Config, config_from_mapping
from storage.models import Event, Ticket
from tests.conftest import config_data
from tests.support import DaemonThread, Received, write_toml

AGENTS: list[dict[str, Any]] = [
    {"address": "alice@example.com", "name": "Alice", "teams": ["support"], "skills": ["billing"]},
    {"address": "bob@example.com", "name": "Bob", "teams": ["support"], "skills": ["technical"]},
    {"address": "carol@example.com", "name": "Carol", "teams": ["support"]},
    {"address": "sue@example.com", "name": "Sue Senior", "teams": ["senior"]},
]
TEAMS: list[dict[str, Any]] = [
    {"name": "support"},
    {"name": "senior"},
    {"name": "security", "address": "security-team@example.com"},
]
TIERS: list[dict[str, Any]] = [
    {"name": "L1", "team": "support"},
    {"name": "L2", "team": "senior", "raise_priority": "high"},
    {"name": "L3", "team": "senior"},
    {"name": "L4", "addresses": ["ciso@example.com"], "team": "security"},
]
# The seeds' examples.
SECURITY_RULE = {
    "name": "security",
    "when": {
        "any": [
            {"subject": ["security", "breach", "hacked"]},
            {"body": ["security incident", "breach", "hacked"]},
        ]
    },
    "then": {"priority": "urgent", "escalate": "L4", "stop": True},
}
REFUND_RULE = {
    "name": "refunds",
    "when": {"to": "billing@example.com", "body": ["refund"]},
    "then": {"priority": "high", "tags": ["refund_request"], "category": "billing"},
}
VIP_RULE = {"name": "vip", "when": {"vip": True}, "then": {"priority": "high", "escalate": "L2"}}


def make(
    tmp_path: Path,
    database_url: str,
    relay_port: int,
    *,
    rules: list[dict[str, Any]] | None = None,
    agents: list[dict[str, Any]] | None = None,
    strategy: str | None = None,
    **extra: Any,
) -> Config:
    data = config_data(tmp_path, database_url, relay_port)
    data["agents"] = copy.deepcopy(AGENTS if agents is None else agents)
    data["teams"] = copy.deepcopy(TEAMS)
    data["escalation"] = {"tiers": copy.deepcopy(TIERS)}
    data["vip"] = {"domains": ["bigcorp.example"]}
    data["rules"] = copy.deepcopy(rules or [])
    if strategy:
        data["assignment"] = {"strategy": strategy}
    for key, value in extra.items():
        data[key] = value
    return config_from_mapping(data)


def tickets(daemon: DaemonThread) -> list[Ticket]:
    with daemon.runtime.sessions() as session:
        return list(session.scalars(select(Ticket).order_by(Ticket.number)))


def events(daemon: DaemonThread, number: int) -> list[Event]:
    with daemon.runtime.sessions() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        return list(
            session.scalars(select(Event).where(Event.ticket_id == ticket.id).order_by(Event.id))
        )


def to(received: list[Received], address: str) -> list[Received]:
    return [mail for mail in received if address in mail.rcpt_tos]


def text_of(mail: Received) -> str:
    return mail.message.get_body(("plain",)).get_content()


def write_rules_file(path: Path, data: dict[str, Any]) -> None:
    """A rules file (only rules keys), written like any test TOML."""
    write_toml(data, path)
