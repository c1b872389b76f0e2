"""When a message cannot be handled as ordinary mail, and the one-line reason why.

A ParsedMail with ``problem`` set is quarantined by the pipeline (stored raw, acknowledged,
visible for retry) instead of becoming a ticket on a guess. The bar is deliberately high: a
real customer's mail with minor defects (a missing closing boundary, a wrong charset, an odd
date) must never land here. Only these do:

- empty input, or bytes with no header fields at all (not a mail);
- no From header, or no address in it that we could write back to (including 8-bit
  octets that are not UTF-8 where the address should be);
- a ``multipart/*`` body whose boundary is missing or never appears (or MIME nesting
  deeper than any client writes), so which part is the text cannot be determined;
- bytes the parser itself gives up on (``UNPARSEABLE``, set by :mod:`parsing.parse`).

Imports nothing of the project.
"""

from __future__ import annotations

EMPTY = "empty message"
UNPARSEABLE = "cannot be parsed"
NO_HEADERS = "not a mail: no header fields"
NO_FROM = "no From header"
UNDECODABLE_FROM = "From header is undecodable 8-bit data: no sender address can be read"
NO_SENDER = "no usable sender address in the From header"
BROKEN_MIME = "broken MIME: multipart boundary missing or never found, body cannot be determined"


def mime_too_deep(limit: int) -> str:
    """The reason a message nested deeper than ``limit`` levels is quarantined."""
    return f"MIME nesting deeper than {limit} levels"


def find_problem(
    *,
    has_headers: bool,
    from_header: bool,
    sender_usable: bool,
    from_decodable: bool,
    body_broken: bool,
) -> str | None:
    """The reason this message is not ordinary mail, or None (most messages)."""
    if not has_headers:
        return NO_HEADERS
    if not from_header:
        return NO_FROM
    if not sender_usable:
        return NO_SENDER if from_decodable else UNDECODABLE_FROM
    if body_broken:
        return BROKEN_MIME
    return None
