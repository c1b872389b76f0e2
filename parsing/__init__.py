"""Understanding mail: raw bytes in, an immutable :class:`ParsedMail` out.

This package is pure: it imports nothing of the project, reads no clock and does no I/O.
That keeps it fast to test and safe to change (see DESIGN.md, "Packages").
"""

from parsing.model import Address, Attachment, Bounce, ParsedMail
from parsing.parse import parse_message
from parsing.ticketref import extract_ticket_ref

__all__ = [
    "Address",
    "Attachment",
    "Bounce",
    "ParsedMail",
    "extract_ticket_ref",
    "parse_message",
]
