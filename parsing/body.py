"""The MIME tree of a parsed message split into body text and attachments.

Rules, in the order a reader meets them:

- In ``multipart/alternative`` the text/plain alternative is the body when it has text,
  else the richest (last) alternative; images of a ``multipart/related`` alternative that
  was not chosen are still attachments.
- A text/plain or text/html leaf is body text unless it is marked ``attachment`` or has a
  filename. When a message has any text/plain body, its HTML bodies are not used; an
  HTML-only message is rendered with inscriptis.
- Every other leaf is an attachment, inline images included. An attached message
  (``message/rfc822``) is one ``.eml`` attachment: its parts are its own, not ours.
  ``message/delivery-status`` is report data (see :mod:`parsing.dsn`), not an attachment.
- A ``multipart/*`` part whose boundary is missing or never appears has no parts (nor has
  nesting deeper than :data:`MAX_DEPTH`). When no body text is found elsewhere, the body
  cannot be determined and :func:`extract_content` reports ``broken``; when text was found
  beside it, the loss is the defect ``unreadable-multipart``.

One part that cannot be decoded costs that part (and a defect), never the message.
Imports nothing of the project but its helpers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import Message

from parsing.charsets import decode_body
from parsing.filenames import safe_filename
from parsing.headers import clean_text, decode_encoded_words, to_octets
from parsing.html import html_to_text_and_reply
from parsing.model import Attachment

_NEWLINES = re.compile(r"\r\n?")
# Deeper nesting than this is an attack or a loop, not mail: the rest is ignored.
MAX_DEPTH = 40
_BODY_TYPES = ("text/plain", "text/html")


@dataclass(frozen=True, slots=True)
class Content:
    """What :func:`extract_content` found: body text, attachments and what went wrong."""

    text: str
    attachments: tuple[Attachment, ...]
    defects: tuple[str, ...]
    broken: bool
    # The text to find the reply in when it differs from ``text``: an HTML body rendered
    # without its quote containers. None: read the reply from ``text``.
    reply_source: str | None = None


@dataclass(slots=True)
class _Found:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)

    @property
    def has_plain_text(self) -> bool:
        return any(text.strip() for text in self.plain)

    @property
    def has_text(self) -> bool:
        return self.has_plain_text or any(text.strip() for text in self.html)


@dataclass(slots=True)
class _Walk:
    attachments: list[Attachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    broken: bool = False


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:  # RFC 2231 parameters in exotic encodings
        return None
    if not name:
        return None
    return decode_encoded_words(str(name))


def _disposition(part: Message) -> str | None:
    try:
        return part.get_content_disposition()
    except Exception:
        return None


def _decoded_text(part: Message, walk: _Walk) -> str:
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    text, defect = decode_body(data, charset)
    if defect:
        walk.defects.append(defect)
    return clean_text(_NEWLINES.sub("\n", text))


def _payload_bytes(part: Message, content_type: str) -> bytes:
    if content_type == "message/rfc822" or part.is_multipart():
        inner = part.get_payload()
        if content_type == "message/rfc822" and isinstance(inner, list) and inner:
            inner = inner[0]
        if isinstance(inner, Message):
            try:
                return inner.as_bytes()
            except Exception:
                return to_octets(inner.as_string())
        if isinstance(inner, str):
            return to_octets(inner)
        return to_octets(part.as_string())
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _add_attachment(part: Message, content_type: str, name: str | None, walk: _Walk) -> None:
    data = _payload_bytes(part, content_type)
    index = len(walk.attachments) + 1
    filename = safe_filename(name, index=index, content_type=content_type)
    walk.attachments.append(Attachment(filename=filename, content_type=content_type, data=data))


def _choose_alternative(part: Message, walk: _Walk, depth: int) -> _Found:
    children = [child for child in part.get_payload() if isinstance(child, Message)]
    found = [_visit(child, walk, depth + 1) for child in children]
    for candidate in found:
        if candidate.has_plain_text:
            return candidate
    for candidate in reversed(found):
        if candidate.has_text:
            return candidate
    return _Found()


def _visit(part: Message, walk: _Walk, depth: int) -> _Found:
    found = _Found()
    if depth > MAX_DEPTH:
        walk.defects.append("mime-too-deep")
        walk.broken = True
        return found
    try:
        content_type = part.get_content_type()
        if content_type == "message/delivery-status":
            return found
        disposition = _disposition(part)
        if not content_type.startswith("multipart/"):
            name = _filename(part)
            if content_type in _BODY_TYPES and disposition != "attachment" and name is None:
                target = found.plain if content_type == "text/plain" else found.html
                target.append(_decoded_text(part, walk))
            else:
                _add_attachment(part, content_type, name, walk)
            return found
        if disposition == "attachment":
            _add_attachment(part, content_type, _filename(part), walk)
            return found
        if not part.is_multipart():
            # multipart/* without parts: its boundary is missing or never appears.
            walk.broken = True
            return found
        if content_type == "multipart/alternative":
            return _choose_alternative(part, walk, depth)
        for child in part.get_payload():
            if isinstance(child, Message):
                inner = _visit(child, walk, depth + 1)
                found.plain.extend(inner.plain)
                found.html.extend(inner.html)
    except Exception as error:
        walk.defects.append(f"part-error:{type(error).__name__}")
    return found


def _join(texts: list[str]) -> str:
    return "\n\n".join(text.strip("\n") for text in texts if text.strip())


def extract_content(message: Message) -> Content:
    """Body text, attachments, defects and whether the MIME structure was too broken."""
    walk = _Walk()
    found = _visit(message, walk, 0)
    reply_source: str | None = None
    if found.has_plain_text:
        text = _join(found.plain)
    else:
        rendered: list[str] = []
        replies: list[str] = []
        quoted = False
        for html in found.html:
            full, reply, defect = html_to_text_and_reply(html)
            if defect:
                walk.defects.append(defect)
            rendered.append(full)
            replies.append(full if reply is None else reply)
            quoted = quoted or reply is not None
        text = _join(rendered)
        if quoted:
            reply_source = _join(replies)
    if walk.broken and text.strip():
        # Some text was found beside the broken part: a defect, not a lost body.
        walk.defects.append("unreadable-multipart")
    return Content(
        text=text,
        attachments=tuple(walk.attachments),
        defects=tuple(walk.defects),
        broken=walk.broken and not text.strip(),
        reply_source=reply_source,
    )
