"""Bytes to text when the declared charset is missing, unknown, wrong or hostile.

Mail declares its charset, and mail lies about it: ``us-ascii`` bodies full of Latin-1,
``utf-8`` bodies with one broken byte, charsets Python has never heard of. The order here is
the declared charset (strict), then UTF-8 (strict), then the best lossy reading: UTF-8 with
replacement characters when the bytes are mostly UTF-8, else Windows-1252 / Latin-1, which
read every byte and are what unlabelled 8-bit Western mail nearly always is.

Codecs that are not charsets (``unicode_escape``, ``idna``…) are refused: a sender must not
choose a transformation of the text. Imports nothing of the project.
"""

from __future__ import annotations

import codecs
import re
from functools import lru_cache

_PRINTABLE = re.compile(r"[^\x21-\x7e]")

# Text codecs Python accepts that are transformations, not character sets.
_REFUSED = frozenset(
    {
        "unicode-escape",
        "raw-unicode-escape",
        "idna",
        "punycode",
        "undefined",
        "mbcs",
        "oem",
    }
)

# Labels seen in real mail that Python does not know, mapped to what senders mean.
_ALIASES = {
    "x-unknown": "utf-8",
    "unknown-8bit": "utf-8",
    "x-user-defined": "windows-1252",
    "ansi_x3.4-1968": "ascii",
    "ks_c_5601-1987": "cp949",
    "iso-8859-8-i": "iso-8859-8",
    "x-mac-roman": "mac-roman",
}


@lru_cache(maxsize=256)
def codec_for(charset: str | None) -> str | None:
    """The Python codec name for a declared charset, or None when unknown or refused."""
    if not charset:
        return None
    label = charset.strip().strip("\"'").lower()
    label = _ALIASES.get(label, label)
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError):
        return None
    if info.name in _REFUSED or not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


def decode_legacy(data: bytes) -> str:
    """Read bytes that are not UTF-8: Windows-1252 where defined, else Latin-1 (never fails)."""
    try:
        return data.decode("windows-1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _mostly_utf8(text_with_replacements: str) -> bool:
    """True when a lossy UTF-8 read found real multi-byte characters among the bad bytes."""
    return any(ord(char) > 0x7F and char != "\ufffd" for char in text_with_replacements)


def decode_body(data: bytes, charset: str | None) -> tuple[str, str | None]:
    """Decode a body part; returns the text and a defect string when a fallback was needed."""
    codec = codec_for(charset)
    if codec is not None:
        try:
            return data.decode(codec), None
        except (UnicodeDecodeError, UnicodeError):
            pass
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        lossy = data.decode("utf-8", "replace")
        text = lossy if _mostly_utf8(lossy) else decode_legacy(data)
    if codec is None and charset:
        label = _PRINTABLE.sub("", charset)[:40]
        return text, f"unknown-charset:{label}"
    if codec is not None:
        return text, f"charset-mismatch:{codec}"
    return text, None
