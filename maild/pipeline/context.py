"""The working state of one job while its steps run inside the writer's transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from maild.pipeline.delivery import Job
from storage.models import MessageKind, Ticket


@dataclass
class IntakeContext:
    session: Session
    job: Job
    now: datetime
    automated: str | None = None
    ticket: Ticket | None = None
    created: bool = False
    threaded_by: str | None = None
    linked_ticket: Ticket | None = None
    kind: MessageKind = MessageKind.CUSTOMER
    notes: list[str] = field(default_factory=list)

    @property
    def parsed(self):
        return self.job.parsed

    @property
    def sender(self) -> str:
        """The sender's address, lower-cased (the quarantine step guarantees one exists)."""
        assert self.job.parsed.from_ is not None
        return self.job.parsed.from_.key

    @property
    def sender_name(self) -> str:
        assert self.job.parsed.from_ is not None
        return self.job.parsed.from_.name

    @property
    def dedup_key(self) -> str:
        return dedup_key(self.job)


def dedup_key(job: Job) -> str:
    """Message-ID when there is one, otherwise the SHA-256 of the raw bytes (invariant 2)."""
    if job.parsed.message_id:
        return job.parsed.message_id
    import hashlib

    return "sha256:" + hashlib.sha256(job.delivery.raw).hexdigest()
