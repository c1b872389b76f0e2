"""Raw message bytes to one :class:`ParsedMail`: the intake hot path's only parse.

The bytes are parsed once, by the stdlib (compat32, exactly what
``mailparser.parse_from_bytes`` does inside), and mail-parser reads that tree
(``mailparser.MailParser(message)``). Its results are used where they are good: address
lists split with lexical context and display names decoded, the date in UTC, its defect
categories. The rest is read from the stdlib tree by the small modules of this package:
header text, MIME body and attachments, the reply without quoted history and signature
(:mod:`parsing.reply`), bounces in RFC 3464 and other dialects (:mod:`parsing.bounces`, with
flufl.bounce), automated-mail signals.
mail-parser's own body and attachment lists are not used: it drops the body of a broken
multipart, names unnamed attachments with random strings and returns them as base64.

mail-parser raises on some damaged mail that a mail client reads fine (bad base64 in an
encoded-word From name, a broken multipart without epilogue, a NUL in a charset name).
Then the stdlib readings of :mod:`parsing.addresses` and :mod:`parsing.dates` stand in,
with a ``mail-parser-failed:…`` defect, and the message is still understood.

:func:`parse_message` never raises. What cannot be handled as ordinary mail is reported in
``problem`` (see :mod:`parsing.problems`) for the pipeline to quarantine.
"""

from __future__ import annotations

import email
import re
from collections.abc import Iterable
from email.message import Message
from typing import Any

import mailparser

from parsing import problems
from parsing.addresses import is_usable, parse_address_list, return_path, to_addresses
from parsing.automated import automated_reason
from parsing.body import extract_content
from parsing.bounces import find_bounce, notification
from parsing.dates import parse_date, to_utc
from parsing.headers import clean_text, decode_header_value, one_line
from parsing.model import Address, Bounce, ParsedMail
from parsing.msgids import all_ids, first_id, message_id
from parsing.reply import Reply, split_reply
from parsing.ticketref import extract_ticket_ref

# Address headers, and the attribute under which mail-parser exposes each.
_MAIL_PARSER_ATTRIBUTES = {"From": "from_", "To": "to", "Cc": "cc", "Reply-To": "reply_to"}

# Deeper MIME nesting than this is an attack, not mail ([intake] max_mime_depth).
MAX_MIME_DEPTH = 30
# A level of nesting needs one of these in a Content-Type (the stdlib compares content
# types in lower case), a multipart/digest at most two: its parts are message/rfc822 by
# default. Mail with few of them cannot be too deep.
_CONTAINER_TYPE = re.compile(rb"(?i)multipart/|message/")
_HEADER = re.compile(rb"From |[\x21-\x39\x3b-\x7e]*:")  # the stdlib feedparser's test
_BOUNDARY_TAIL = re.compile(rb"(--)?[ \t]*")


def _container(content_type: bytes | None, default: str) -> tuple[str, bytes | None]:
    """What a part's Content-Type makes it, read as the stdlib reads it: ``multipart/digest``
    or ``multipart`` (with its delimiter ``--BOUNDARY``), ``message`` (its body is a message
    with headers of its own) or ``leaf``."""
    if content_type is None:
        return ("message", None) if default == "message/rfc822" else ("leaf", None)
    if not _CONTAINER_TYPE.search(content_type):
        return "leaf", None
    part = Message()
    part.set_default_type(default)
    part["Content-Type"] = content_type.decode("latin-1")
    kind = part.get_content_type()
    if kind.startswith("multipart/"):
        boundary = part.get_boundary()
        if not boundary:
            return "leaf", None
        delimiter = b"--" + boundary.encode("latin-1", "replace")
        return ("multipart/digest" if kind == "multipart/digest" else "multipart"), delimiter
    if kind.startswith("message/") and kind != "message/delivery-status":
        return "message", None
    return "leaf", None


def mime_depth_exceeds(raw: bytes, limit: int) -> bool:
    """Whether ``raw`` nests multipart and ``message/*`` parts deeper than ``limit``.

    A scan of the lines that follows the stdlib's feedparser (header blocks, boundaries, an
    outer boundary ending every part inside it) without building anything and without
    recursion, so that the parse that follows never meets nesting deep enough to exhaust
    Python's stack. Most mail is answered by counting content types, without the scan.
    """
    found = 0
    for found, _ in enumerate(_CONTAINER_TYPE.finditer(raw), start=1):
        if 2 * found > limit:
            break
    if 2 * found <= limit:
        return False
    # One entry per open container: (delimiter, is multipart/digest), None for a message.
    stack: list[tuple[bytes, bool] | None] = []
    in_headers = True
    content_type: bytes | None = None
    in_content_type = False
    default = "text/plain"
    for line in raw.splitlines():
        if in_headers:
            if line[:1] in (b" ", b"\t"):  # a folded header line
                if in_content_type:
                    content_type = (content_type or b"") + line
                continue
            header = _HEADER.match(line) if line else None
            if header is not None:
                # The stdlib reads the first Content-Type of a header block.
                in_content_type = content_type is None and (
                    header.group().lower() == b"content-type:"
                )
                if in_content_type:
                    content_type = line[header.end() :]
                continue
            # A blank line (or a line that is no header): the body of this part starts.
            kind, delimiter = _container(content_type, default)
            content_type, in_content_type, default = None, False, "text/plain"
            if delimiter is not None:
                stack.append((delimiter, kind == "multipart/digest"))
            elif kind == "message":
                stack.append(None)
            if len(stack) > limit:
                return True
            in_headers = kind == "message"
            if not line or in_headers:
                continue
        if not stack or not line.startswith(b"--"):
            continue
        for index in range(len(stack) - 1, -1, -1):
            entry = stack[index]
            if entry is None or not line.startswith(entry[0]):
                continue
            tail = _BOUNDARY_TAIL.fullmatch(line, len(entry[0]))
            if tail is None:
                continue
            del stack[index + 1 :]  # an outer boundary ends every part inside it
            if tail.group(1):  # the close delimiter: this multipart is done
                stack.pop()
            else:  # the next part of this multipart: its headers follow
                in_headers = True
                default = "message/rfc822" if entry[1] else "text/plain"
            break
    return False


class _Defects:
    """Defect strings in first-seen order, each once."""

    def __init__(self) -> None:
        self._seen: dict[str, None] = {}

    def add(self, defect: str) -> None:
        self._seen.setdefault(clean_text(defect), None)

    def extend(self, defects: Iterable[str]) -> None:
        for defect in defects:
            self.add(defect)

    def as_tuple(self) -> tuple[str, ...]:
        return tuple(self._seen)


def _stdlib_defects(message: Message) -> list[str]:
    """Class names of the email package's defects, e.g. ``StartBoundaryNotFoundDefect``."""
    names: list[str] = []
    for part in message.walk():
        names.extend(type(defect).__name__ for defect in part.defects)
    return names


def _read_with_mail_parser(message: Message, defects: _Defects) -> Any:
    """mail-parser's reading of the parsed tree, or None when it gives up on the message."""
    try:
        return mailparser.MailParser(message)
    except Exception as error:
        defects.add(f"mail-parser-failed:{type(error).__name__}")
        return None


def _mail_parser_defects(mail: Any) -> list[str]:
    """mail-parser's own defect categories (AddressHeaderDefect, DateHeaderDefect…), sorted."""
    if mail is None:
        return []
    return sorted(str(category) for category in mail.defects_categories or ())


def _decoded_headers(
    message: Message, defects: _Defects
) -> tuple[tuple[tuple[str, str], ...], frozenset[str]]:
    """All top-level headers as text, and the lower-cased names of those with 8-bit junk."""
    headers: list[tuple[str, str]] = []
    undecodable: set[str] = set()
    for raw_name, raw_value in message.raw_items():
        name = one_line(clean_text(str(raw_name))) or "?"
        value, decodable = decode_header_value(str(raw_value))
        if not decodable:
            defects.add(f"undecodable-header:{name}")
            undecodable.add(name.lower())
        headers.append((name, value))
    return tuple(headers), frozenset(undecodable)


def _first_values(headers: tuple[tuple[str, str], ...]) -> dict[str, str]:
    first: dict[str, str] = {}
    for name, value in headers:
        first.setdefault(name.lower(), value)
    return first


def _addresses(mail: Any, message: Message, header: str, defects: _Defects) -> tuple[Address, ...]:
    """The mailboxes of the first ``header``: mail-parser's reading, else the stdlib's."""
    pairs: Any = None
    if mail is not None:
        try:
            pairs = getattr(mail, _MAIL_PARSER_ATTRIBUTES[header])
        except Exception as error:
            defects.add(f"mail-parser-failed:{header}:{type(error).__name__}")
    if not isinstance(pairs, list):
        raw = message.get_all(header)
        pairs = parse_address_list(str(raw[0])) if raw else []
    addresses, decodable = to_addresses(pairs)
    if not decodable:
        defects.add(f"undecodable-header:{header}")
    return addresses


def _bounce(
    message: Message,
    defects: _Defects,
    *,
    headers: dict[str, str],
    sender: Address | None,
    return_path: str | None,
    subject: str,
    text: str,
) -> tuple[bool, Bounce | None]:
    """Whether this is a bounce and what failed (see :func:`parsing.bounces.find_bounce`)."""
    try:
        return find_bounce(
            message,
            headers=headers,
            sender=sender,
            return_path=return_path,
            subject=subject,
            text=text,
        )
    except Exception as error:
        defects.add(f"dsn-error:{type(error).__name__}")
        return False, None


def empty_parsed_mail(problem: str, defects: tuple[str, ...]) -> ParsedMail:
    """The ParsedMail for bytes that could not be read as mail at all."""
    return ParsedMail(
        message_id=None,
        in_reply_to=None,
        references=(),
        from_=None,
        to=(),
        cc=(),
        reply_to=(),
        return_path=None,
        subject="",
        date=None,
        text="",
        reply_text="",
        new_text="",
        signature=None,
        attachments=(),
        automated=None,
        bounce=None,
        ticket_ref=None,
        defects=defects,
        problem=problem,
    )


def _parse(raw: bytes, ticket_prefix: str | None, max_mime_depth: int) -> ParsedMail:
    if not raw.strip():
        return empty_parsed_mail(problems.EMPTY, ("empty-message",))
    if mime_depth_exceeds(raw, max_mime_depth):
        # Before the parse: the stdlib and mail-parser recurse once per level.
        return empty_parsed_mail(problems.mime_too_deep(max_mime_depth), ("mime-too-deep",))
    message = email.message_from_bytes(raw)
    defects = _Defects()
    defects.extend(_stdlib_defects(message))
    mail = _read_with_mail_parser(message, defects)

    headers, undecodable = _decoded_headers(message, defects)
    first = _first_values(headers)
    senders = _addresses(mail, message, "From", defects)
    sender = senders[0] if senders else None
    content = extract_content(message)
    defects.extend(content.defects)
    path = return_path(first.get("return-path"))
    subject = one_line(first.get("subject", ""))
    delivery_report, bounce = _bounce(
        message,
        defects,
        headers=first,
        sender=sender,
        return_path=path,
        subject=subject,
        text=content.text,
    )
    if bounce is not None:  # the MTA's words; what it returns of our message is not new
        reply = Reply(text=notification(content.text).strip() or content.text, signature=None)
    else:
        reply = split_reply(content.reply_source if content.reply_source else content.text)
    to = _addresses(mail, message, "To", defects)
    cc = _addresses(mail, message, "Cc", defects)
    reply_to = _addresses(mail, message, "Reply-To", defects)
    defects.extend(_mail_parser_defects(mail))

    return ParsedMail(
        message_id=message_id(first.get("message-id")),
        in_reply_to=first_id(first.get("in-reply-to")),
        references=all_ids(" ".join(v for n, v in headers if n.lower() == "references")),
        from_=sender,
        to=to,
        cc=cc,
        reply_to=reply_to,
        return_path=path,
        subject=subject,
        date=to_utc(mail.date) if mail is not None else parse_date(first.get("date")),
        text=content.text,
        reply_text=reply.text,
        new_text=reply.new_text,
        signature=reply.signature,
        attachments=content.attachments,
        automated=automated_reason(
            first,
            delivery_report=delivery_report,
            return_path=path,
            sender=sender,
            subject=subject,
        ),
        bounce=bounce,
        ticket_ref=extract_ticket_ref(subject, ticket_prefix) if ticket_prefix else None,
        defects=defects.as_tuple(),
        problem=problems.find_problem(
            has_headers=bool(headers),
            from_header="from" in first,
            # A bounce is never answered, so a From we could not write to ("MAILER-DAEMON"
            # without a domain) does not stop it. Without any address (Courier's "<@>") it
            # stays a problem: the pipeline needs a sender.
            sender_usable=is_usable(sender) or (bounce is not None and sender is not None),
            from_decodable="from" not in undecodable,
            body_broken=content.broken,
        ),
        headers=headers,
    )


def parse_message(
    raw: bytes, *, ticket_prefix: str | None = None, max_mime_depth: int = MAX_MIME_DEPTH
) -> ParsedMail:
    """Everything maild understands of one message; never raises, whatever the bytes.

    ``ticket_prefix`` (e.g. ``"ACME"``) enables ``ticket_ref``, the number of our
    ``[ACME #1234]`` subject tag. A message that cannot be handled as ordinary mail comes
    back with ``problem`` set; when parsing itself fails, everything else is empty. So does
    a message whose multipart and ``message/*`` parts nest deeper than ``max_mime_depth``
    (:func:`parsing.problems.mime_too_deep`).
    """
    try:
        if not isinstance(raw, bytes):
            raw = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else bytes(raw)
        return _parse(raw, ticket_prefix, max_mime_depth)
    except Exception as error:  # the promise is "never raises"; RecursionError included
        name = type(error).__name__
        return empty_parsed_mail(f"{problems.UNPARSEABLE}: {name}", (f"parse-error:{name}",))
