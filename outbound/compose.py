"""Outgoing mail as RFC 5322 bytes, and the Message-IDs that carry a ticket's token.

Built by hand rather than with ``email.message.EmailMessage``: the stdlib's ``policy.SMTP``
serializer costs about 2 ms per message, and composition runs inside the intake transaction
(~1,000 messages/s). What the stdlib would have given us is kept here on purpose:

* every header value is cleaned of CR, LF and other control or line-break characters before
  use (invariant 5: a customer subject can never start a new header);
* non-ASCII text goes into RFC 2047 encoded words, long values are folded, and no line is
  longer than 998 octets (bodies are quoted-printable or base64 when they are not short ASCII);
* addresses are checked, so a "name" or "address" cannot smuggle a second recipient in.

Imports nothing of the project.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
import unicodedata
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

__all__ = [
    "MAX_REFERENCES",
    "AddressError",
    "OutgoingAttachment",
    "OutgoingMail",
    "TokenAddress",
    "agent_thread_root_id",
    "compose",
    "make_message_id",
    "make_ticketless_id",
    "new_ticket_token",
    "new_verp_id",
    "parse_token_local_part",
    "token_address",
    "token_from_message_id",
    "verp_address",
]

MAX_REFERENCES = 20
"""References keeps the first id (the thread root) and the most recent ones, 20 in all."""

_CRLF = "\r\n"
_FOLD_AT = 78
_MAX_LINE = 998
_WORD_BYTES = 39  # UTF-8 bytes per encoded word: 52 base64 chars, a 64-char word

# Every character a mail reader could take for the end of a line, and the other controls.
# (A regex, not str.translate: it is ~10x faster on text that has none, the usual case.)
_HEADER_UNSAFE = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")

# Controls that have no business in a text body; tab, LF and CR stay (CR is normalized).
_BODY_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

_ATEXT_PHRASE = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]*")
_ADDRESS = re.compile(r"[^\s<>()\[\],;:\"\\@]+@[^\s<>()\[\],;:\"\\@]+")
_MSG_ID = re.compile(r"<[!-;=?-~]+@[!-;=?-~]+>")  # printable ASCII without '<' '>' or space
_TOKEN = re.compile(r"[a-z0-9]{20,32}")
_HEADER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
_AUTO_SUBMITTED = re.compile(r"[a-z0-9-]+")
_OUR_MESSAGE_ID = re.compile(r"<?maild-([a-z0-9]{20,32})\.[A-Za-z0-9_-]{12,}@[^\s<>@]+>?", re.I)
_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
_MAX_THREAD_INDEX = 900  # 22 bytes + 5 per reply level: far more levels than any thread has

# RFC 6838 restricted-name on both sides; parameters are not taken from the caller.
_RESTRICTED_NAME = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
_CONTENT_TYPE = re.compile(f"{_RESTRICTED_NAME}/{_RESTRICTED_NAME}")
_OCTET_STREAM = "application/octet-stream"
# A filename in a quoted-string as it is: printable ASCII without '"' and backslash (no
# escapes, which some clients get wrong). Anything else is written RFC 2231-encoded.
_PLAIN_FILENAME = re.compile(r"[ !#-\[\]-~]+")
_RFC2231_SAFE = "!#$&+-.^_`|~"  # attribute-char besides letters and digits (RFC 2231)
_MAX_FILENAME = 255  # characters: what file systems take; the extension is kept
# Controls, format characters (bidi overrides), lone surrogates, line and paragraph breaks.
_FILENAME_UNSAFE = frozenset(("Cc", "Cf", "Cs", "Zl", "Zp"))

# Set by compose() itself; an extra header by one of these names would duplicate them.
_RESERVED = frozenset(
    name.lower()
    for name in (
        "Date",
        "From",
        "Sender",
        "To",
        "Cc",
        "Bcc",
        "Reply-To",
        "Subject",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Auto-Submitted",
        "X-Auto-Response-Suppress",
        "MIME-Version",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Return-Path",
    )
)


class AddressError(ValueError):
    """An address that cannot go into a header as it is (malformed, or needs SMTPUTF8)."""


@dataclass(frozen=True, slots=True)
class OutgoingAttachment:
    """A file sent with a message. Nothing here is trusted: ``compose`` cleans it.

    ``filename`` often comes from a customer's or agent's mail, so only its last path
    component is written, without controls; ``content_type`` is a bare ``type/subtype``
    (parameters are dropped), anything else is sent as ``application/octet-stream``.

    ``content_id`` (``chart-1@maild``): an image the HTML shows (``<img src="cid:…">``)
    rather than a file to save; it travels beside the HTML in ``multipart/related``.
    """

    filename: str
    content_type: str
    data: bytes
    content_id: str | None = None


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    """Everything one outgoing message says; ``compose`` turns it into bytes.

    ``auto_submitted`` is ``"auto-replied"`` by default (RFC 3834): set it to ``None`` only
    for mail a person wrote, such as an agent's answer relayed to the customer.

    ``thread_topic`` and ``thread_index`` are Outlook's conversation headers (see
    ``outbound.threadindex``); Outlook and OWA group by them, not by References.
    """

    from_name: str
    from_address: str
    to: tuple[tuple[str, str], ...]
    subject: str
    text: str
    html: str | None
    message_id: str
    cc: tuple[tuple[str, str], ...] = ()
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    reply_to: str | None = None
    auto_submitted: str | None = "auto-replied"
    date: datetime | None = None
    extra_headers: tuple[tuple[str, str], ...] = ()
    attachments: tuple[OutgoingAttachment, ...] = ()
    thread_topic: str | None = None
    thread_index: str | None = None


def compose(mail: OutgoingMail) -> bytes:
    """The message as RFC 5322 bytes with CRLF line ends, 7-bit clean.

    Without ``mail.date`` no Date header is written (the relay adds one); the pipeline should
    pass its ``now``. Raises ``AddressError`` for an address that cannot be written, and
    ``ValueError`` for a malformed Message-ID, Thread-Index, extra header name or naive date.

    With attachments the message is ``multipart/mixed``: the text (or the
    ``multipart/alternative`` of text and HTML) first, then each file in base64. Without
    them the bytes are exactly what they were before attachments existed.
    """
    if not mail.to:
        raise AddressError("an outgoing message needs at least one To address")
    message_id = _clean(mail.message_id)
    if not _MSG_ID.fullmatch(message_id):
        raise ValueError(f"malformed Message-ID {message_id!r}")

    lines: list[str] = []
    if mail.date is not None:
        if mail.date.tzinfo is None or mail.date.utcoffset() is None:
            raise ValueError("naive datetime given as the Date of an outgoing message")
        lines.append("Date: " + format_datetime(mail.date))
    lines.append("From: " + _mailbox(mail.from_name, mail.from_address))
    lines.append(_address_list("To", mail.to))
    if mail.cc:
        lines.append(_address_list("Cc", mail.cc))
    if mail.reply_to is not None:
        lines.append("Reply-To: " + _mailbox("", mail.reply_to))
    lines.append(_unstructured("Subject", mail.subject))
    lines.append("Message-ID: " + message_id)
    if mail.in_reply_to is not None:
        in_reply_to = _normalize_id(mail.in_reply_to)
        if in_reply_to:
            lines.append("In-Reply-To: " + in_reply_to)
    references = _cap_references(mail.references)
    if references:
        lines.append(_id_list("References", references))
    thread = _thread_headers(mail.thread_topic, mail.thread_index)
    lines.extend(thread)
    if mail.auto_submitted is not None:
        auto = _clean(mail.auto_submitted).lower()
        if not _AUTO_SUBMITTED.fullmatch(auto):
            raise ValueError(f"malformed Auto-Submitted value {auto!r}")
        lines.append("Auto-Submitted: " + auto)
        # Exchange and Outlook send no out-of-office or read receipt to automatic mail.
        lines.append("X-Auto-Response-Suppress: All")
    # Thread-Topic and Thread-Index may still come as extra headers, but not twice.
    own = {line.split(":", 1)[0].lower() for line in thread}
    for name, value in mail.extra_headers:
        lowered = name.lower()
        if not _HEADER_NAME.fullmatch(name) or lowered in _RESERVED or lowered in own:
            raise ValueError(f"extra header name {name!r} is not allowed")
        lines.append(_unstructured(name, value))
    lines.append("MIME-Version: 1.0")

    inline = [a for a in mail.attachments if a.content_id is not None]
    files = [a for a in mail.attachments if a.content_id is None]
    if inline and mail.html is None:
        raise ValueError("inline images need an HTML part to show them")
    if mail.html is None:
        head, body = _text_part("plain", mail.text)
    else:
        html = _text_part("html", mail.html)
        if inline:
            html = _multipart("related", [html, *(_inline_part(a) for a in inline)])
        head, body = _multipart("alternative", [_text_part("plain", mail.text), html])
    if files:
        parts = [(head, body), *(_attachment_part(a) for a in files)]
        head, body = _multipart("mixed", parts)
    lines.extend(head)
    return (_CRLF.join(lines) + _CRLF + _CRLF).encode("ascii") + body


def new_ticket_token() -> str:
    """26 lowercase base32 characters (130 random bits): unguessable, case-proof."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii")[:26].lower()


def make_message_id(token: str, domain: str) -> str:
    """``<maild-{token}.{random}@{domain}>``: a reply naming it finds the ticket by token."""
    if not _TOKEN.fullmatch(token):
        raise ValueError("a ticket token is 20 to 32 characters of [a-z0-9]")
    return f"<maild-{token}.{secrets.token_urlsafe(12)}@{_id_domain(domain)}>"


_VERP_ID = re.compile(r"[a-z2-7]{10}")


@dataclass(frozen=True, slots=True)
class TokenAddress:
    """What the part after ``+`` of one of our addresses says: the ticket's token, and for
    an envelope sender the id of the one recipient that copy went to (VERP)."""

    token: str
    verp_id: str | None = None


def token_address(mailbox: str, token: str) -> str:
    """``support+TOKEN@example.com``: the ticket's reply address."""
    local, _, domain = mailbox.partition("@")
    return f"{local}+{token}@{domain}"


def new_verp_id() -> str:
    """A short random id for one recipient of one outgoing message (50 bits)."""
    return base64.b32encode(secrets.token_bytes(10)).decode("ascii").lower()[:10]


MAX_LOCAL_PART = 64  # octets (RFC 5321 4.5.3.1.1)


def verp_address(mailbox: str, token: str, verp_id: str) -> str:
    """``support+TOKEN-RID@example.com``: the envelope sender of the copy for one recipient.
    A bounce comes back to it and names that recipient's copy, so it can change the state of
    that address only (invariant 6). A mailbox whose local part leaves no room for both
    within 64 octets gets the token address: its bounces still find the ticket, but mark
    nobody."""
    local, _, domain = mailbox.partition("@")
    verp_local = f"{local}+{token}-{verp_id}"
    if len(verp_local.encode()) > MAX_LOCAL_PART:
        return token_address(mailbox, token)
    return f"{verp_local}@{domain}"


def parse_token_local_part(detail: str) -> TokenAddress | None:
    """The part after ``+`` in ``support+TOKEN@…`` or ``support+TOKEN-RID@…``; None when it is
    neither (a sub-address someone else chose)."""
    token, dash, verp_id = detail.strip().lower().partition("-")
    if not _TOKEN.fullmatch(token):
        return None
    if dash and not _VERP_ID.fullmatch(verp_id):
        return None
    return TokenAddress(token, verp_id or None)


def agent_thread_root_id(token: str, address: str, domain: str) -> str:
    """``<maild-{token}.n{hash}@{domain}>``: the Message-ID of the first notice about a
    ticket to ``address``. The same every time, so later notices can name it before knowing
    whether it was sent, and each agent's client threads the ticket on its own."""
    digest = hashlib.sha256(f"{token}\0{address.lower()}".encode()).hexdigest()[:20]
    return f"<maild-{token}.n{digest}@{_id_domain(domain)}>"


def make_ticketless_id(domain: str) -> str:
    """``<maild-notice.{random}@{domain}>``: mail about no ticket (an admin notice, the error
    reply to an agent's mail that found none). It carries no token: a reply finds nothing."""
    return f"<maild-notice.{secrets.token_hex(12)}@{_id_domain(domain)}>"


def _id_domain(domain: str) -> str:
    domain = _clean(domain).strip()
    if not domain.isascii():
        domain = domain.encode("idna").decode("ascii")
    if not _DOMAIN.fullmatch(domain):
        raise ValueError(f"malformed Message-ID domain {domain!r}")
    return domain


def token_from_message_id(message_id: str) -> str | None:
    """The ticket token in one of our Message-IDs, or ``None`` for any other id."""
    match = _OUR_MESSAGE_ID.fullmatch(message_id.strip())
    return match.group(1).lower() if match else None


# -- headers ---------------------------------------------------------------------------------


def _clean(value: str) -> str:
    """The value on one line: CR, LF, other line breaks and controls become spaces."""
    return _HEADER_UNSAFE.sub(" ", value)


def _unstructured(name: str, value: str) -> str:
    """``Name: value`` folded at spaces, or as encoded words when it is not plain ASCII."""
    value = _clean(value).strip()
    if value.isascii() and "=?" not in value:
        folded = _fold_ascii(name, value)
        if folded is not None:
            return folded
    return f"{name}: " + _encoded_words(value)


def _fold_ascii(name: str, value: str) -> str | None:
    first = f"{name}: {value}"
    if len(first) <= _FOLD_AT:
        return first
    words = value.split(" ")
    lines: list[str] = []
    current = f"{name}: {words[0]}"
    for word in words[1:]:
        # A fold puts CRLF before an existing space, so unfolding gives the value back.
        # Never fold before an empty word: a line of only whitespace is not allowed.
        if word and len(current) + 1 + len(word) > _FOLD_AT:
            lines.append(current)
            current = " " + word
        else:
            current += " " + word
    lines.append(current)
    if any(len(line) > _MAX_LINE for line in lines):
        return None  # one enormous word: encoded words can be split anywhere
    return _CRLF.join(lines)


def _encoded_words(value: str) -> str:
    """RFC 2047 ``B`` encoded words on folded lines, never splitting a UTF-8 character."""
    data = value.encode("utf-8")
    words: list[str] = []
    start = 0
    while start < len(data):
        end = min(start + _WORD_BYTES, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # a continuation byte
            end -= 1
        chunk = binascii.b2a_base64(data[start:end], newline=False).decode("ascii")
        words.append(f"=?utf-8?b?{chunk}?=")
        start = end
    return (_CRLF + " ").join(words)


def _thread_headers(topic: str | None, index: str | None) -> list[str]:
    """``Thread-Topic`` (skipped when empty) and ``Thread-Index`` (base64, else a bug)."""
    lines: list[str] = []
    if topic is not None and _clean(topic).strip():
        lines.append(_unstructured("Thread-Topic", topic))
    if index is not None:
        value = index.strip()
        if not value or len(value) > _MAX_THREAD_INDEX or not _BASE64.fullmatch(value):
            raise ValueError(f"malformed Thread-Index {value[:80]!r}")
        lines.append("Thread-Index: " + value)
    return lines


def _phrase(name: str) -> str:
    """A display name as atoms, a quoted string or encoded words."""
    name = _clean(name).strip()
    if not name:
        return ""
    if not name.isascii() or "=?" in name:
        return _encoded_words(name)
    if _ATEXT_PHRASE.fullmatch(name) and len(name) <= 200:
        return name
    if len(name) > 200:
        return _encoded_words(name)
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _address(address: str) -> str:
    cleaned = _clean(address).strip()
    if not _ADDRESS.fullmatch(cleaned):
        raise AddressError(f"malformed address {cleaned!r}")
    local, _, domain = cleaned.rpartition("@")
    if not local.isascii():
        raise AddressError(f"address {cleaned!r} needs SMTPUTF8, which maild does not send")
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise AddressError(f"malformed domain in address {cleaned!r}") from exc
    return f"{local}@{domain}"


def _mailbox(name: str, address: str) -> str:
    phrase = _phrase(name)
    addr = _address(address)
    return f"{phrase} <{addr}>" if phrase else addr


def _address_list(name: str, mailboxes: Iterable[tuple[str, str]]) -> str:
    items = [_mailbox(n, a) for n, a in mailboxes]
    single = f"{name}: " + ", ".join(items)
    if len(single) <= _FOLD_AT and "\r" not in single:
        return single
    return f"{name}: " + ("," + _CRLF + " ").join(items)


def _normalize_id(value: str) -> str | None:
    """A msg-id in angle brackets, or ``None`` when it cannot be one (dropped, not sent)."""
    value = _clean(value).strip()
    if value and not value.startswith("<"):
        value = f"<{value}>"
    if len(value) > 900 or not _MSG_ID.fullmatch(value):
        return None
    return value


def _cap_references(references: Iterable[str]) -> list[str]:
    ids: list[str] = []
    seen: set[str] = set()
    for ref in references:
        normalized = _normalize_id(ref)
        if normalized and normalized not in seen:
            seen.add(normalized)
            ids.append(normalized)
    if len(ids) > MAX_REFERENCES:
        ids = [ids[0], *ids[-(MAX_REFERENCES - 1) :]]
    return ids


def _id_list(name: str, ids: list[str]) -> str:
    lines: list[str] = []
    current = f"{name}:"
    for msg_id in ids:
        if len(current) + 1 + len(msg_id) > _FOLD_AT and current != f"{name}:":
            lines.append(current)
            current = " " + msg_id
        else:
            current += " " + msg_id
    lines.append(current)
    return _CRLF.join(lines)


# -- bodies ----------------------------------------------------------------------------------


def _text_part(subtype: str, content: str) -> tuple[list[str], bytes]:
    """Headers and encoded body of one ``text/*`` part, body lines joined by CRLF."""
    text = _BODY_UNSAFE.sub("", content.replace("\r\n", "\n").replace("\r", "\n"))
    if not text.endswith("\n"):
        text += "\n"
    head = [f"Content-Type: text/{subtype}; charset=utf-8"]
    if text.isascii() and max(map(len, text.split("\n"))) <= _FOLD_AT:
        head.append("Content-Transfer-Encoding: 7bit")
        return head, text.replace("\n", _CRLF).encode("ascii")
    data = text.encode("utf-8")
    if (len(data) - len(text)) * 3 > len(data):
        # Mostly non-Latin script: base64 is about half the size of quoted-printable.
        head.append("Content-Transfer-Encoding: base64")
        return head, base64.encodebytes(data).replace(b"\n", b"\r\n")
    head.append("Content-Transfer-Encoding: quoted-printable")
    encoded = binascii.b2a_qp(data, quotetabs=False, istext=True, header=False)
    return head, encoded.replace(b"\n", b"\r\n")


def _multipart(subtype: str, parts: Iterable[tuple[list[str], bytes]]) -> tuple[list[str], bytes]:
    """Headers and body of a ``multipart/*`` entity around already encoded parts."""
    boundary = "=_maild_" + secrets.token_hex(12)
    head = [f'Content-Type: multipart/{subtype};{_CRLF} boundary="{boundary}"']
    out: list[bytes] = []
    # The CRLF before a delimiter belongs to the delimiter (RFC 2046), not to the part.
    delimiter = f"--{boundary}{_CRLF}".encode("ascii")
    for part_head, part_body in parts:
        out.append(delimiter)
        out.append((_CRLF.join(part_head) + _CRLF + _CRLF).encode("ascii"))
        out.append(part_body)
        delimiter = f"{_CRLF}--{boundary}{_CRLF}".encode("ascii")
    out.append(f"{_CRLF}--{boundary}--{_CRLF}".encode("ascii"))
    return head, b"".join(out)


# -- attachments -----------------------------------------------------------------------------


def _attachment_part(attachment: OutgoingAttachment) -> tuple[list[str], bytes]:
    """One file as a base64 part: 76-character lines, always 7-bit, whatever the data."""
    head = [
        "Content-Type: " + _content_type(attachment.content_type),
        "Content-Transfer-Encoding: base64",
        "Content-Disposition: attachment;" + _CRLF + _filename_param(attachment.filename),
    ]
    return head, base64.encodebytes(attachment.data).replace(b"\n", b"\r\n")


_CONTENT_ID = re.compile(r"[A-Za-z0-9._-]{1,64}@[A-Za-z0-9.-]{1,253}")


def _inline_part(attachment: OutgoingAttachment) -> tuple[list[str], bytes]:
    """An image the HTML part refers to by ``cid:``: like a file, but inline, with its id."""
    content_id = attachment.content_id or ""
    if not _CONTENT_ID.fullmatch(content_id):
        raise ValueError(f"malformed Content-ID {content_id!r}")
    head = [
        "Content-Type: " + _content_type(attachment.content_type),
        "Content-Transfer-Encoding: base64",
        f"Content-ID: <{content_id}>",
        "Content-Disposition: inline;" + _CRLF + _filename_param(attachment.filename),
    ]
    return head, base64.encodebytes(attachment.data).replace(b"\n", b"\r\n")


def _content_type(value: str) -> str:
    """A bare ``type/subtype``, lowercased; anything else is ``application/octet-stream``.

    ``multipart/*`` and ``message/*`` are refused too: RFC 2046 forbids base64 for them, and
    a client would otherwise look inside a file for parts of our message.
    """
    value = value.strip().lower()
    if not _CONTENT_TYPE.fullmatch(value) or value.startswith(("multipart/", "message/")):
        return _OCTET_STREAM
    return value


def _safe_filename(name: str) -> str:
    """The last path component without controls; never empty, never ``.`` or ``..``.

    Format characters (such as U+202E, which can make ``exe.pdf`` show the wrong way round)
    and unpaired surrogates (which cannot be encoded) go with the controls.
    """
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in _FILENAME_UNSAFE)
    name = " ".join(name.split())
    if len(name) > _MAX_FILENAME:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 16:
            name = stem[: _MAX_FILENAME - len(extension) - 1] + dot + extension
        else:
            name = name[:_MAX_FILENAME]
    return "attachment" if not name.strip(".") else name


def _filename_param(filename: str) -> str:
    """The folded ``filename`` parameter: quoted when plain ASCII, else RFC 2231.

    RFC 2231 (``filename*=utf-8''...``) is what mail clients read for non-ASCII names; a long
    name is split into numbered sections (``filename*0*=...``) so no line grows past 78.
    """
    name = _safe_filename(filename)
    plain = f' filename="{name}"'
    # "=?" too goes encoded: readers decode encoded words even inside a quoted filename.
    if _PLAIN_FILENAME.fullmatch(name) and "=?" not in name and len(plain) <= _FOLD_AT:
        return plain
    encoded = [urllib.parse.quote(ch, safe=_RFC2231_SAFE) for ch in name]
    single = " filename*=utf-8''" + "".join(encoded)
    if len(single) <= _FOLD_AT:
        return single
    sections: list[str] = []
    current = ""
    for piece in encoded:  # whole characters only, so each section stays valid UTF-8
        if current and len(current) + len(piece) > _FOLD_AT - 24:
            sections.append(current)
            current = ""
        current += piece
    sections.append(current)
    sections[0] = "utf-8''" + sections[0]
    params = [f" filename*{number}*={section}" for number, section in enumerate(sections)]
    return (";" + _CRLF).join(params)
