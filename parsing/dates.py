"""The Date header as a timezone-aware UTC datetime (DESIGN invariant 7), or None.

mail-parser's reading is used when it has one; :func:`parse_date` is the stdlib reading for
when mail-parser could not read the message. A date without a zone (``-0000`` or none) is
taken as UTC. Imports nothing of the project.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def to_utc(value: object) -> datetime | None:
    """``value`` converted to UTC if it is a datetime; a naive one is taken as UTC."""
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_date(value: str | None) -> datetime | None:
    """An RFC 5322 date string in UTC, or None when missing or unreadable."""
    if not value or not value.strip():
        return None
    try:
        return to_utc(parsedate_to_datetime(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
