"""Final outcomes and failures of the pipeline, caught in one place: the driver."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from maild.pipeline.delivery import DeliveryResult


class TemporaryFailure(Exception):
    """The message could not be stored now (database locked or down): try again later.

    Sources map it to ``451`` (SMTP/LMTP), exit 75 (``maild ingest``), or leaving an IMAP
    message where it is.
    """


class Duplicate(Exception):
    """The message is already stored for this mailbox; nothing new is created."""

    def __init__(self, ticket_number: int | None) -> None:
        super().__init__(f"duplicate of a message on ticket {ticket_number}")
        self.ticket_number = ticket_number


class Unprocessable(Exception):
    """The message cannot be handled as ordinary mail and belongs in quarantine."""


class Handled(Exception):
    """A step finished the job itself (an agent's mail that finds no ticket, held in
    quarantine with the reply explaining why): the later steps do not run, and what the step
    wrote commits with the job. ``ticket_id`` is the ticket the message ended on, if any."""

    def __init__(self, result: DeliveryResult, ticket_id: int | None = None) -> None:
        super().__init__(f"handled: {result.outcome}")
        self.result = result
        self.ticket_id = ticket_id
