"""Header values: the octets a sender wrote, turned into clean one-line ``str``.

The stdlib's compat32 parser keeps each header as ASCII text with every 8-bit octet smuggled
in as a lone surrogate (``surrogateescape``). Such a string cannot be stored, logged or
serialised as UTF-8, so every header value that leaves ``parsing/`` goes through
:func:`decode_header_value`: back to the original octets, decoded as UTF-8 (RFC 6532) or,
failing that, as a legacy 8-bit charset, RFC 2047 encoded words decoded, folding removed,
control characters dropped.

Encoded words are decoded here rather than with :func:`email.header.decode_header`, whose
round trip through ``raw-unicode-escape`` breaks on a literal backslash in a subject and
which cannot join a multi-byte character split across two encoded words.

Imports nothing of the project but :mod:`parsing.charsets`.
"""

from __future__ import annotations

import base64
import binascii
import re

from parsing.charsets import codec_for, decode_legacy

# RFC 2047: =?charset?encoding?text?=; charset may carry an RFC 2231 language (*en).
_ENCODED_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([qQbB])\?([^?\s]*)\?=")
_QP_OCTET = re.compile(rb"=([0-9A-Fa-f]{2})")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_LINE_BREAKS = re.compile(r"[\r\n]+")
_BREAKS_AND_TABS = re.compile(r"[ \t]*[\r\n\t][\r\n\t ]*")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_OR_BREAK = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def to_octets(value: str) -> bytes:
    """The octets behind a compat32 header or payload string (surrogates become bytes)."""
    try:
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate outside the escape range
        return _SURROGATE.sub("\ufffd", value).encode("utf-8")


def clean_text(value: str) -> str:
    """Make ``value`` storable anywhere: no lone surrogates, no NUL (PostgreSQL refuses it)."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    if _SURROGATE.search(value):
        value = _SURROGATE.sub("\ufffd", value)
    return value


def decode_octets(data: bytes) -> tuple[str, bool]:
    """Header octets to text: UTF-8 when they are UTF-8, else a legacy 8-bit reading.

    The flag is False when the octets were not valid UTF-8 (a defect worth recording).
    """
    try:
        return data.decode("utf-8"), True
    except UnicodeDecodeError:
        return decode_legacy(data), False


def _decode_word_payload(encoding: str, payload: str) -> bytes | None:
    if encoding in "bB":
        padded = payload + "=" * (-len(payload) % 4)
        try:
            return base64.b64decode(padded, validate=True)
        except (binascii.Error, ValueError):
            return None
    data = to_octets(payload.replace("_", " "))
    return _QP_OCTET.sub(lambda m: bytes((int(m.group(1), 16),)), data)


def _decode_word_bytes(data: bytes, charset: str) -> str:
    codec = codec_for(charset)
    if codec is not None:
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        if codec is not None:
            return data.decode(codec, "replace")
        return decode_legacy(data)


def decode_encoded_words(text: str) -> str:
    """Decode RFC 2047 encoded words anywhere in ``text``; undecodable words stay literal.

    Whitespace between two adjacent encoded words is dropped (RFC 2047 section 6.2), and
    adjacent words in the same charset are joined before decoding, so a UTF-8 character that
    a sender split across two words survives.
    """
    if "=?" not in text:
        return text
    out: list[str] = []
    pending: bytearray = bytearray()
    pending_charset = ""
    position = 0

    def flush() -> None:
        nonlocal pending, pending_charset
        if pending_charset:
            out.append(_decode_word_bytes(bytes(pending), pending_charset))
        pending = bytearray()
        pending_charset = ""

    for match in _ENCODED_WORD.finditer(text):
        gap = text[position : match.start()]
        charset, encoding, payload = match.group(1), match.group(2), match.group(3)
        data = _decode_word_payload(encoding, payload)
        if data is None:
            flush()
            out.append(gap)
            out.append(match.group(0))
            position = match.end()
            continue
        adjacent = pending_charset and not gap.strip(" \t\r\n")
        if adjacent and charset.lower() == pending_charset.lower():
            pending += data
        else:
            flush()
            if not adjacent:
                out.append(gap)
            pending += data
            pending_charset = charset
        position = match.end()
    flush()
    out.append(text[position:])
    return "".join(out)


def unfold(value: str) -> str:
    """Remove header folding (CRLF + WSP keeps the WSP); any stray line break becomes a space."""
    return _LINE_BREAKS.sub(" ", _FOLD.sub("", value))


def one_line(value: str) -> str:
    """A subject-style single line: runs of CR/LF/TAB become one space, controls go, stripped."""
    return _CONTROL.sub("", _BREAKS_AND_TABS.sub(" ", value)).strip()


def decode_header_value(raw: str) -> tuple[str, bool]:
    """A raw compat32 header value as clean, unfolded text.

    Returns the text and whether its octets were decodable (False: 8-bit bytes that are not
    UTF-8 were read as a legacy charset and may be garbage).
    """
    if raw.isascii() and "=?" not in raw and not _CONTROL_OR_BREAK.search(raw):
        return raw.strip(), True  # the common case: plain ASCII on one line
    data = to_octets(raw)
    if data.isascii():
        text, decodable = raw, True
    else:
        text, decodable = decode_octets(data)
    text = decode_encoded_words(unfold(text))
    return clean_text(_CONTROL.sub("", unfold(text))).strip(), decodable
