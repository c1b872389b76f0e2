"""The ticket tag in subjects: ``[ACME #1234]``: find it, write it, strip it for display.

Mail clients surround a subject with reply and forward markers in many languages
(``Re:``, ``AW:``, ``SV:``, ``Fwd:``, ``WG:``, ``TR:``, ``Antw:``, ``RE[2]:``…) and mail
gateways add ``[EXT]`` / ``[External]``; none of that may hide the tag. Only our own prefix
counts: a subject that went through another helpdesk keeps its ``[OTHER #55]``, which must
not thread into our ticket 55. A tag alone never makes the sender a participant
(DESIGN invariant 6): that check belongs to the pipeline. Imports nothing of the project.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Reply and forward markers (lower case), each followed by a colon in a subject.
_REPLY_WORDS = (
    *("re", "fw", "fwd"),  # English (and Latin "re")
    *("aw", "wg", "antw", "antwort"),  # German
    *("sv", "vs", "vb"),  # Scandinavian, Finnish
    *("doorst",),  # Dutch
    *("tr", "réf", "ref"),  # French
    *("r", "rif"),  # Italian
    *("rv", "res", "enc"),  # Spanish, Portuguese
    *("odp", "pd"),  # Polish
    *("ynt", "ilt"),  # Turkish
    *("vá",),  # Hungarian
    *("απ", "σχετ", "πρθ"),  # Greek
    *("отв", "ответ", "пересл"),  # Russian
    *("回复", "回覆", "答复", "转发", "轉寄"),  # Chinese
    *("返信", "転送"),  # Japanese
    *("답장", "전달"),  # Korean
    *("external",),  # mail gateways: "EXTERNAL: subject"
)
_REPLY_WORD = "|".join(re.escape(word) for word in sorted(_REPLY_WORDS, key=len, reverse=True))
# "Re:", "RE :", "Re[2]:", "Re(2):", "Re：" (full-width colon).
_REPLY_PREFIX = rf"(?:{_REPLY_WORD})\s*(?:\[\d+\]|\(\d+\))?\s*[:：]"
# "[EXT]", "[External]", "[EXTERNAL EMAIL]", "[Ext. Sender]", "*EXTERNAL*", "[SPAM]".
_MARKER = (
    r"(?:\[\s*(?:ext(?:ernal)?\.?(?:[\s_:-]*(?:e-?mail|sender|message|mail))?|spam)\s*\]"
    r"|\*+\s*(?:external|spam)\s*\*+)"
)
_ANY_TAG = r"\[[^\[\]#\r\n]{1,40}?\s*#\s*\d{1,18}\s*\]"
_MAX_DIGITS = 18
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=32)
def _tag_pattern(prefix: str) -> re.Pattern[str]:
    words = [re.escape(word) for word in prefix.split()]
    return re.compile(
        r"\[\s*" + r"\s+".join(words) + rf"\s*#\s*(\d{{1,{_MAX_DIGITS}}})\s*\]",
        re.IGNORECASE,
    )


@lru_cache(maxsize=32)
def _leading_pattern(tag: str) -> re.Pattern[str]:
    return re.compile(rf"^\s*(?:{_REPLY_PREFIX}|{_MARKER}|{tag})\s*", re.IGNORECASE)


def extract_ticket_ref(subject: str, prefix: str) -> int | None:
    """The ticket number of our tag ``[PREFIX #1234]`` in ``subject``, or None.

    The prefix is matched case-insensitively, a space before ``#`` is optional, and the
    first of our tags wins when a subject carries several.
    """
    if not subject or not prefix or not prefix.strip():
        return None
    match = _tag_pattern(prefix.strip()).search(subject)
    if match is None:
        return None
    number = int(match.group(1))
    return number if number > 0 else None


def format_ticket_tag(prefix: str, number: int) -> str:
    """``[ACME #1234]``: the tag we put in the subjects we send."""
    return f"[{prefix} #{number}]"


def strip_reply_prefixes(subject: str, prefix: str | None = None) -> str:
    """The subject without leading Re:/AW:/Fwd:… chains, gateway markers and the ticket tag.

    With ``prefix`` only our tag is removed, wherever it is; without it, any tag-shaped
    ``[NAME #123]`` at the start is removed (what a new ticket's subject should not carry).
    Used for display and acknowledgement subjects, never for matching.
    """
    if not subject:
        return ""
    if prefix and prefix.strip():
        tag = _tag_pattern(prefix.strip())
        subject = tag.sub(" ", subject)
        leading = _leading_pattern(tag.pattern)
    else:
        leading = _leading_pattern(_ANY_TAG)
    previous = None
    while previous != subject:
        previous = subject
        subject = leading.sub("", subject, count=1)
    return _SPACES.sub(" ", subject).strip()
