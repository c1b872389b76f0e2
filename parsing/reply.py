"""Where the new text of a reply ends and quoted history and signature begin.

A placeholder for now: the whole body is the reply and no signature is split off. The
quoted-history and signature stripping of a later issue replaces :func:`split_reply`;
:func:`parsing.parse.parse_message` already routes ``reply_text`` and ``signature`` through
it, so nothing else has to change. Imports nothing of the project.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Reply:
    """The new text of a message and the signature split off it (None: none found)."""

    text: str
    signature: str | None


def split_reply(text: str) -> Reply:
    """Split ``text`` into the new reply text and its signature (for now: all text, none)."""
    return Reply(text=text, signature=None)
