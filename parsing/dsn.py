"""RFC 3464 delivery-status notifications: is this a bounce, and who bounced.

Only the standard report format is read here: a ``message/delivery-status`` part whose
per-recipient blocks carry ``Final-Recipient``, ``Action`` and ``Status``. The non-standard
dialects (Exim and qmail text, old Exchange, Yahoo…) are read by :mod:`parsing.bounces`.

A delivery report a customer forwards as an attachment is the customer's mail, not a bounce
to us, so attached messages (``message/rfc822``) are never searched. Imports nothing of the
project.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import Message
from email.parser import HeaderParser

from parsing.headers import decode_header_value
from parsing.model import Bounce

_STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
_BLOCK_SEPARATOR = re.compile(r"\r?\n[ \t]*\r?\n")
MAX_DEPTH = 40


def report_parts(part: Message, depth: int = 0) -> Iterator[Message]:
    """Parts of ``part`` in order, without entering attached messages."""
    yield part
    if depth >= MAX_DEPTH or part.get_content_type() == "message/rfc822":
        return
    if part.get_content_maintype() == "multipart" and part.is_multipart():
        for child in part.get_payload():
            if isinstance(child, Message):
                yield from report_parts(child, depth + 1)


def _status_part(message: Message) -> Message | None:
    for part in report_parts(message):
        if part.get_content_type() == "message/delivery-status":
            return part
    return None


def is_delivery_report(message: Message) -> bool:
    """A ``multipart/report; report-type=delivery-status`` or any delivery-status part."""
    content_type = message.get_content_type()
    if content_type == "multipart/report":
        report_type = message.get_param("report-type")
        if isinstance(report_type, str) and report_type.strip().lower() == "delivery-status":
            return True
    elif not content_type.startswith("multipart/"):
        return content_type == "message/delivery-status"
    return _status_part(message) is not None


def _blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    if isinstance(payload, str):  # the stdlib left it unparsed: read the blocks ourselves
        parser = HeaderParser()
        return [parser.parsestr(text) for text in _BLOCK_SEPARATOR.split(payload) if text]
    return []


def _field(block: Message, name: str) -> str:
    raw = block.get(name)
    if raw is None:
        return ""
    return decode_header_value(str(raw))[0]


def _recipient(value: str) -> str:
    """``rfc822; Gone.User@example.org`` → ``gone.user@example.org``."""
    _, _, address = value.rpartition(";")
    return address.strip().strip("<>").strip().lower()


def parse_bounce(message: Message) -> Bounce | None:
    """What the delivery-status report says failed, or None when there is no report.

    Recipients are those whose Action is ``failed`` or ``delayed``; a report that only says
    ``delivered`` or ``relayed`` yields a Bounce with no recipients. ``permanent`` is true
    when any listed recipient failed or has a 5.x.x status.
    """
    part = _status_part(message)
    if part is None:
        return None
    recipients: list[str] = []
    permanent = False
    first_status: str | None = None
    any_status: str | None = None
    for block in _blocks(part):
        final = _field(block, "Final-Recipient") or _field(block, "Original-Recipient")
        action = _field(block, "Action").lower().split(" ", 1)[0]
        match = _STATUS.search(_field(block, "Status"))
        status = match.group(1) if match else None
        if not final and not action:
            continue  # the per-message block
        any_status = any_status or status
        failed = action == "failed" or (not action and bool(status and status[0] == "5"))
        delayed = action == "delayed" or (not action and bool(status and status[0] == "4"))
        if not (failed or delayed):
            continue
        address = _recipient(final)
        if address and address not in recipients:
            recipients.append(address)
        permanent = permanent or failed or bool(status and status[0] == "5")
        first_status = first_status or status
    return Bounce(
        recipients=tuple(recipients),
        permanent=permanent,
        status=first_status or any_status,
    )


def reported_message_id(message: Message) -> str:
    """The ``X-Original-Message-ID`` a report names (Gmail, Google Workspace), or ``""``."""
    part = _status_part(message)
    if part is None:
        return ""
    for block in _blocks(part):
        value = _field(block, "X-Original-Message-ID") or _field(block, "Original-Message-ID")
        if value:
            return value
    return ""
