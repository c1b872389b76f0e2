"""A satisfaction rating written in a reply to our survey: ``5``, ``4/5``, ``4 stars``,
``good``, ``bad``, optionally followed by `` - `` or ``:`` and a comment.

Only the first non-empty line of what the person wrote counts, and only when it is a rating
alone (DECISIONS: "Thanks, 5 people here loved it" is no rating). Pure: imports nothing of
the project.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SCALES: dict[str, tuple[str, ...]] = {
    "1-5": ("1", "2", "3", "4", "5"),
    "good-bad": ("good", "bad"),
}
"""The ratings each survey scale offers, worst first for 1-5."""

_NUMBER = re.compile(
    r"(?P<value>[1-5])\s*(?:/\s*5|(?:stars?|★)|out of 5)?"
    r"(?:\s*(?:[-–—:]\s*|\s+-\s*)(?P<comment>.*))?",
    re.IGNORECASE,
)
_WORD = re.compile(r"(?P<value>good|bad)\b[.!]*(?:\s*[-–—:]\s*(?P<comment>.*))?", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Rating:
    value: str
    comment: str


def rating_in_reply(text: str, scale: str) -> Rating | None:
    """The rating a reply's new text starts with, in ``scale``, or None."""
    lines = text.splitlines()
    index = next((i for i, line in enumerate(lines) if line.strip()), None)
    if index is None:
        return None
    first = lines[index].strip()
    pattern = _NUMBER if scale == "1-5" else _WORD
    match = pattern.fullmatch(first)
    if match is None:
        return None
    rest = "\n".join(lines[index + 1 :]).strip()
    comment = "\n\n".join(part for part in ((match.group("comment") or "").strip(), rest) if part)
    return Rating(match.group("value").lower(), comment)
