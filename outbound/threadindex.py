"""Outlook's conversation headers: ``Thread-Topic`` and ``Thread-Index`` for our mail.

Outlook and OWA group a conversation by ``Thread-Index`` (the PidTagConversationIndex of
MS-OXOMSG 2.2.1.3) and ``Thread-Topic``, not by References. Without them every helpdesk mail
to an Outlook user shows as a conversation of its own. Both values here are derived from what
the ticket already holds (a stable seed and its creation time), so every mail of one ticket
carries the same conversation GUID without storing anything new.

Pure: imports only the standard library, reads no clock.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from datetime import UTC, datetime

__all__ = ["continue_thread_index", "thread_index", "thread_topic"]

# Reply and forward prefixes as mail clients in the languages we meet write them: English,
# German (AW, WG, Antw), Nordic (SV, VS), Dutch (Antw), French (TR), Italian (RIF). Outlook
# and others may add a count (``Re[2]:``, ``AW(3):``) and Asian clients a full-width colon.
_PREFIX = re.compile(
    r"^(?:re|fwd?|aw|wg|sv|vs|antw|tr|rif)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*",
    re.IGNORECASE,
)
_TICKET_TAG = re.compile(r"\[[^\[\]]*#\d+\]")
_UNSAFE = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")
_SPACES = re.compile(r"\s+")

_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
_GUID_DOMAIN = b"maild thread-index v1\x00"
_MAX_INDEX_BYTES = 22 + 5 * 100  # a conversation 100 replies deep; longer is no index
_SHORT_DELTA_LIMIT = 1 << 49  # 100-ns units, about 1.78 years: beyond it the coarse code


def thread_topic(subject: str) -> str:
    """The conversation topic: ``subject`` without reply prefixes and without our ticket tag.

    Outlook compares topics literally, so ``Re: [ACME #1234] Printer`` and ``[ACME #1234]
    Printer`` must both give ``Printer``. Every bracketed ``[… #digits]`` is removed wherever
    it stands (whatever prefix an admin configured, and an agent may have moved it), then
    any run of prefixes, whitespace collapsed. Line breaks and other controls become spaces
    first, so the result is always safe as a header value.
    """
    text = _TICKET_TAG.sub(" ", _UNSAFE.sub(" ", subject))
    text = _SPACES.sub(" ", text).strip()
    while True:
        stripped = _PREFIX.sub("", text, count=1)
        if stripped == text:
            return text
        text = stripped


def thread_index(seed: str, started_at: datetime, sent_at: datetime | None = None) -> str:
    """A base64 ``Thread-Index`` value: 22-byte header, plus one 5-byte child block.

    The header is the reserved byte ``0x01``, the high 40 bits of ``started_at`` as a FILETIME
    (big-endian) and a GUID derived from ``seed``. Give every mail of one ticket the same
    ``seed`` (the ticket token, say: the GUID is a one-way hash and reveals nothing of it)
    and the ticket's ``created_at`` as ``started_at``, and Outlook files them all in one
    conversation. Anyone can copy a Thread-Index, so it proves nothing about a ticket.

    ``sent_at`` ``None`` gives the header alone (22 bytes): the conversation's first message.
    Otherwise one child block (27 bytes in all) records the time since ``started_at``, which
    Outlook uses to order the messages. One level is enough: our mail is not a reply to an
    Outlook message whose index we keep, and the GUID, not the depth, makes the conversation.

    Deterministic: the same arguments give the same value. Raises ``ValueError`` for a naive
    datetime or one before 1601. A ``sent_at`` before ``started_at`` (clock skew between the
    stored ticket and the sender) counts as no time at all rather than failing a send.
    """
    start = _filetime(started_at, "started_at")
    header_time = start >> 24  # 40 bits: bits 24..63 of the FILETIME
    index = b"\x01" + header_time.to_bytes(5, "big") + _guid(seed)
    if sent_at is not None:
        index += _child_block(seed, header_time << 24, _filetime(sent_at, "sent_at"))
    return base64.b64encode(index).decode("ascii")


def continue_thread_index(parent: str, sent_at: datetime) -> str | None:
    """``parent`` (the Thread-Index of the mail we answer, an Outlook user's, say) with one
    child block more: Outlook then shows our answer in that very conversation. None when
    ``parent`` is not a well-formed index (22 bytes and 5 per level, base64), so the caller
    falls back to its own."""
    try:
        raw = base64.b64decode(parent.strip(), validate=True)
    except (ValueError, binascii.Error):
        return None
    if len(raw) < 22 or (len(raw) - 22) % 5 or len(raw) > _MAX_INDEX_BYTES:
        return None
    header_time = int.from_bytes(raw[1:6], "big")
    seed = raw[6:22].hex()
    return base64.b64encode(
        raw + _child_block(seed, header_time << 24, _filetime(sent_at, "sent_at"))
    ).decode("ascii")


def _filetime(when: datetime, what: str) -> int:
    """100-ns intervals since 1601-01-01 UTC (a Windows FILETIME), exactly, without floats."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"naive datetime given as {what} of a Thread-Index")
    delta = when - _FILETIME_EPOCH
    ticks = (delta.days * 86_400 + delta.seconds) * 10_000_000 + delta.microseconds * 10
    if ticks < 0:
        raise ValueError(f"{what} {when.isoformat()} is before 1601, out of FILETIME range")
    return ticks


def _guid(seed: str) -> bytes:
    """16 bytes from SHA-256 of ``seed``, marked as an RFC 9562 version 8 (custom) UUID.

    Written in UUID byte order, which is what MS-OXOMSG asks for (Data1 to Data3 big-endian).
    """
    raw = bytearray(hashlib.sha256(_GUID_DOMAIN + seed.encode("utf-8")).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x80  # version 8
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 / 9562 variant
    return bytes(raw)


def _child_block(seed: str, header: int, now: int) -> bytes:
    """One response level: delta code (1 bit), time delta (31 bits), 8 low bits.

    MS-OXOMSG: a delta below 2**49 (about 1.78 years) is stored as bits 18..48 with code 0,
    a larger one as bits 23..53 with code 1. The low byte is "random" (MS-OXOMSG) or
    4 random bits and a 4-bit sequence (MAPI docs); we fill it from a hash of the seed and
    the time, so a value never changes between retries of the same mail.
    """
    delta = max(0, now - header)
    if delta < _SHORT_DELTA_LIMIT:
        code, time_bits = 0, delta >> 18
    else:
        code, time_bits = 1, min(delta >> 23, 0x7FFF_FFFF)
    low = hashlib.sha256(f"{seed}\x00{now}".encode()).digest()[0]
    value = (code << 39) | (time_bits << 8) | low
    return value.to_bytes(5, "big")
