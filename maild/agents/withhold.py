"""The last guard before an agent's text reaches a customer.

Quoted lines of our notification are cut from an agent's mail before relaying, wherever the
agent wrote (``ParsedMail.new_text``). What can still slip through is a copy the client did
not mark as quoted (Outlook writing under the quoted header block) or a paste: a line only
our notification carries, or the whole text of an internal note. Such an answer is not sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection

from rules.config import Agent
from storage import tickets

# Lines only a copy of our notification carries (outbound/templates/notification.*.j2): its
# "earlier in this ticket" heading, its hint under the newest message, and the heading of
# an internal note in it. Matched against each line without quote marks, dashes and case.
_NOTIFICATION_LINE = re.compile(
    r"earlier in this ticket"
    r"|reply to this mail to answer the customer\..*"
    r"|.{1,200}?\(internal note\), \d{4}-\d{2}-\d{2} \d{2}:\d{2} utc:",
    re.IGNORECASE,
)
_MARKS = " \t>|-—_="  # quote marks, the notification's "| " and its dashed rule
_MIN_NOTE_WORDS = 3  # "ok", "called her": too short to tell a paste from a coincidence
_SHOWN = 60


@dataclass(frozen=True, slots=True)
class Withheld:
    """An agent's answer that is not sent: ``reason`` for the event, ``message`` for the
    agent, ``text`` the answer (kept as a note)."""

    reason: str
    message: str
    text: str


def _plain(text: str) -> str:
    """``text`` as one line of words, without quote marks, for finding one text in another."""
    words = (line.strip(_MARKS) for line in text.casefold().splitlines())
    return " ".join(" ".join(words).split())


def _shown(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _SHOWN else line[: _SHOWN - 1] + "…"


def withheld_reply(
    connection: Connection, ticket_id: int, agent: Agent, text: str
) -> Withheld | None:
    """Why ``text`` must not be relayed to the customer, or None.

    Quoted lines of our notification are cut from an agent's mail before this, wherever
    the agent wrote; what is left here is a copy the client did not mark as quoted
    (Outlook writing under the quoted header block, a paste): a line of the notification,
    or the whole text of an internal note of the ticket. An agent's own note sent again
    unchanged (a draft, then ``#send``) is not a leak.
    """
    for line in text.splitlines():
        stripped = line.strip(_MARKS)
        if _NOTIFICATION_LINE.fullmatch(stripped):
            return Withheld(
                reason="notification quoted",
                message=(
                    "your answer still contains our notification (the line "
                    f'"{_shown(stripped)}"), which shows internal notes: write your answer '
                    "above the quoted notification, or delete the notification from it"
                ),
                text=text,
            )
    answer = _plain(text)
    for author, note in tickets.internal_notes(connection, ticket_id):
        wanted = _plain(note)
        if len(wanted.split()) < _MIN_NOTE_WORDS or f" {wanted} " not in f" {answer} ":
            continue
        if wanted == answer and author.lower() == agent.address.lower():
            continue
        return Withheld(
            reason="internal note",
            message=(
                "your answer contains an internal note of this ticket "
                f'("{_shown(note)}"): internal notes never go to the customer'
            ),
            text=text,
        )
    return None
