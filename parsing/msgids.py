"""Message-IDs out of Message-ID, In-Reply-To and References, the way threading needs them.

Ids are returned as ``<local@domain>``: brackets kept, whitespace (from folding) removed, so
an id compares equal whatever client folded it. Real headers carry commas, comments, phrases
("Your message of …") and garbage between ids; only what sits between ``<`` and ``>`` counts.
Imports nothing of the project.
"""

from __future__ import annotations

import re

_BRACKETED = re.compile(r"<([^<>]*)>")
_WHITESPACE = re.compile(r"\s+")
# An id longer than this is garbage, not an id (RFC 5322 lines stop at 998 octets).
MAX_ID_LENGTH = 998


def _normalise(inner: str) -> str | None:
    inner = _WHITESPACE.sub("", inner)
    if not inner or len(inner) > MAX_ID_LENGTH:
        return None
    return f"<{inner}>"


def all_ids(value: str | None) -> tuple[str, ...]:
    """Every bracketed id in ``value``, in order, each once."""
    if not value:
        return ()
    ids = (_normalise(match.group(1)) for match in _BRACKETED.finditer(value))
    return tuple(dict.fromkeys(i for i in ids if i is not None))


def first_id(value: str | None) -> str | None:
    """The first bracketed id in ``value`` (In-Reply-To may add a phrase or a second id)."""
    if not value:
        return None
    for match in _BRACKETED.finditer(value):
        normalised = _normalise(match.group(1))
        if normalised is not None:
            return normalised
    return None


def message_id(value: str | None) -> str | None:
    """The Message-ID; a bare ``id@host`` some broken mailers send is given its brackets."""
    found = first_id(value)
    if found is not None or not value:
        return found
    bare = value.strip()
    if bare and "<" not in bare and ">" not in bare and not _WHITESPACE.search(bare):
        return _normalise(bare)
    return None
