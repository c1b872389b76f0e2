"""The working state of one job while its steps run inside the writer's transaction."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from maild.pipeline.delivery import Job
from parsing import ParsedMail
from rules.config import Agent, RulesConfig
from storage.models import MessageKind
from storage.tickets import TicketView


@dataclass
class IntakeContext:
    connection: Connection
    job: Job
    now: datetime
    automated: str | None = None
    ticket: TicketView | None = None
    created: bool = False
    threaded_by: str | None = None
    linked_ticket: TicketView | None = None
    kind: MessageKind = MessageKind.CUSTOMER
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # The rules, agents and SLA in force for this job (one value for the whole job, even
    # when the rules file is reloaded meanwhile).
    policy: RulesConfig = field(default_factory=RulesConfig)
    # The agent who sent this mail, when the trust rule accepted it as theirs.
    agent: Agent | None = None
    # Who was already told about this mail (a rule's "assigned to you"), so the
    # notification step does not write to them twice.
    notified: set[str] = field(default_factory=set)
    # The mail claims an agent's address but the trust rule rejected it: it is nobody's,
    # so it joins no ticket as that agent or as a participant (invariant 6).
    suspect: bool = False
    # Cc addresses this mail brought onto the ticket, for the agents' notice.
    cc_added: list[str] = field(default_factory=list)

    @property
    def withheld(self) -> bool:
        """A suspect mail stored on an existing ticket (it used our token): it changes the
        ticket in no way and is relayed and announced to nobody."""
        return self.suspect and not self.created

    @property
    def parsed(self) -> ParsedMail:
        return self.job.parsed

    @property
    def sender(self) -> str:
        """The sender's address, lower-cased. Only a delivery report may lack one (other
        mail without a sender is quarantined first); it then reads as empty."""
        from_ = self.job.parsed.from_
        return from_.key if from_ is not None else ""

    @property
    def sender_name(self) -> str:
        from_ = self.job.parsed.from_
        return from_.name if from_ is not None else ""

    @property
    def actor(self) -> str:
        """Who the audit trail names for what this message changed."""
        if self.agent is not None:
            return f"agent:{self.agent.address}"
        return f"customer:{self.sender}" if self.automated is None else "system"

    @property
    def dedup_key(self) -> str:
        return dedup_key(self.job)

    def record(self, kind: str, **data: Any) -> None:
        """An audit event, written with the message by the store step."""
        self.events.append((kind, data))


def dedup_key(job: Job) -> str:
    """Message-ID when there is one, otherwise the SHA-256 of the raw bytes (invariant 2)."""
    if job.parsed.message_id:
        return job.parsed.message_id
    return "sha256:" + hashlib.sha256(job.delivery.raw).hexdigest()
