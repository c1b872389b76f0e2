"""Final outcomes and failures of the pipeline, caught in one place: the driver."""

from __future__ import annotations


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
