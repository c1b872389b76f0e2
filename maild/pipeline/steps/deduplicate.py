"""Invariant 2: the same message for the same mailbox is stored once."""

from __future__ import annotations

from maild.pipeline.context import IntakeContext
from maild.pipeline.errors import Duplicate
from storage import tickets


class Deduplicate:
    """Ends the job as a duplicate when the mailbox already holds this message (by
    Message-ID, or the SHA-256 of the raw bytes when there is none)."""

    name = "deduplicate"

    def __call__(self, context: IntakeContext) -> None:
        number = tickets.duplicate_of(
            context.connection, context.job.mailbox.address, context.dedup_key
        )
        if number is not None:
            raise Duplicate(number)
