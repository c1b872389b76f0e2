"""The working state of one job while its steps run inside the writer's transaction.

A chain whose steps share more than the pipeline knows of (the agent chain's answer being
worked out) keeps it in a part of its own: :meth:`IntakeContext.attach` it once,
:meth:`IntakeContext.part` reads it back. The pipeline stays ignorant of its type.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection

from maild.pipeline.delivery import Job
from maild.ticketing.editor import EventLog, TicketEditor
from maild.ticketing.record import TicketRecord, load_ticket
from parsing import ParsedMail
from rules.config import Agent, RulesConfig
from rules.model import EventKind
from storage.models import MessageKind
from storage.tickets import TicketView

P = TypeVar("P")


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
    # The one channel of this mail's audit events, in the order they happened: the mail's
    # own (recorded before the ticket may be known) and the changes of the editors of
    # :meth:`editor`. Written by the last step.
    events: EventLog = field(default_factory=EventLog)
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
    # The mail answered our survey with a rating, recorded as such (maild.csat).
    rated: bool = False
    # The sender had opened their hourly share of new tickets ([limits]): the mail that
    # would have opened one more is stored on their newest open ticket instead.
    flooded: bool = False
    # The messages row the mail was stored as (set by store_mail): what later steps that
    # index it (parents, full text) refer to, without looking it up again.
    message_row_id: int | None = None
    # The whole ticket, read when a step first needs it (see :meth:`ticket_record`).
    _record: TicketRecord | None = field(default=None, init=False, repr=False)
    # The state of a chain's steps that the pipeline knows nothing of, by type.
    _parts: dict[type, object] = field(default_factory=dict, init=False, repr=False)

    @property
    def withheld(self) -> bool:
        """A mail stored on an existing ticket that changes it in no way and is announced
        to nobody as a reply: a suspect mail that used our token, a rating given by
        replying to our survey (its own event and rules follow it), or a mail past the
        limit on new tickets (the admins hear of it once an hour)."""
        return self.rated or self.flooded or (self.suspect and not self.created)

    @property
    def customer_event(self) -> EventKind | None:
        """What this mail is to rules and webhooks when a customer wrote it:
        ``ticket.created`` for a new ticket, ``ticket.customer_replied`` for a reply. None
        for automated mail, agents' mail (live or in imported history) and withheld mail."""
        if self.automated is not None or self.agent is not None or self.withheld:
            return None
        if self.kind == MessageKind.AGENT:  # an agent's mail in imported history
            return None
        return EventKind.CREATED if self.created else EventKind.CUSTOMER_REPLIED

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
        """An audit event of this mail, on the ticket it ends on, by :attr:`actor`."""
        self.events.add(kind, data)

    def ticket_record(self) -> TicketRecord:
        """The whole ticket, read once per job when a step first needs it. The editors of
        :meth:`editor` change this one value, so each later step sees the ticket as it
        will be stored."""
        assert self.ticket is not None
        if self._record is None or self._record.id != self.ticket.id:
            self._record = load_ticket(self.connection, self.ticket.id)
        return self._record

    def attach(self, part: object) -> None:
        """Keep ``part`` for the later steps of this job's chain, found by its type."""
        self._parts[type(part)] = part

    def part(self, kind: type[P]) -> P:
        """The part of ``kind`` an earlier step attached."""
        found = self._parts[kind]
        assert isinstance(found, kind)
        return found

    def editor(self, actor: str) -> TicketEditor:
        """An editor of the ticket whose events join this mail's, in order."""
        return TicketEditor(
            self.connection, self.ticket_record(), self.now, actor, events=self.events
        )


def dedup_key(job: Job) -> str:
    """Message-ID when there is one, otherwise the SHA-256 of the raw bytes (invariant 2)."""
    if job.parsed.message_id:
        return job.parsed.message_id
    return "sha256:" + hashlib.sha256(job.delivery.raw).hexdigest()


def ticket_view(record: TicketRecord) -> TicketView:
    """The few columns the steps carry of a ticket (:attr:`IntakeContext.ticket`), from the
    whole record."""
    return TicketView(
        record.id,
        record.number,
        record.token,
        record.mailbox,
        record.subject,
        record.status,
        record.requester,
    )
