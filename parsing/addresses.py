"""Address headers: mail-parser's mailbox lists turned into clean :class:`Address` values.

mail-parser splits address lists with lexical context (quoted names holding commas, groups,
comments) and decodes encoded words in display names. What it leaves is fixed here: names
in 8-bit octets that are not UTF-8 (it writes them as ``\\udcfc`` escapes), encoded words a
client wrongly put inside quotes (Thunderbird and Gmail decode those, so people expect them
decoded), and the Return-Path, which is not a mailbox list. :func:`parse_address_list` is
the stdlib reading for when mail-parser gives up on a message. Imports nothing of the
project but its helpers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.utils import getaddresses

from parsing.headers import clean_text, decode_encoded_words, decode_octets, one_line, to_octets
from parsing.model import Address

_SURROGATE = re.compile(r"[\ud800-\udfff]")
_ESCAPED_OCTET = re.compile(r"\\udc([89a-fA-F][0-9a-fA-F])")
_UNUSABLE_IN_ADDRESS = re.compile(r"[\s\x00-\x1f\x7f\ufffd\ud800-\udfff<>]")


def _fix_text(value: str) -> tuple[str, bool]:
    """Decode surrogate-escaped octets and stray encoded words; flag undecodable octets."""
    decodable = True
    if "\\udc" in value:  # mail-parser writes undecodable octets as "\udcfc" text
        value = _ESCAPED_OCTET.sub(lambda m: chr(0xDC00 + int(m.group(1), 16)), value)
    if _SURROGATE.search(value):
        value, decodable = decode_octets(to_octets(value))
    return clean_text(one_line(decode_encoded_words(value))), decodable


def to_addresses(pairs: Iterable[tuple[str, str]] | None) -> tuple[tuple[Address, ...], bool]:
    """Convert mail-parser's ``(name, address)`` pairs; the flag is False if any was 8-bit junk.

    Pairs without an address are dropped; an address that is still not valid text after
    decoding keeps its replacement characters so :func:`is_usable` can refuse it.
    """
    result: list[Address] = []
    decodable = True
    for pair in pairs or ():
        try:
            name, address = pair
        except (TypeError, ValueError):
            continue
        if not isinstance(name, str) or not isinstance(address, str) or not address.strip():
            continue
        clean_name, name_ok = _fix_text(name)
        if _SURROGATE.search(address):
            address_text, address_ok = decode_octets(to_octets(address))
            # 8-bit junk in the mailbox itself is unreadable: mark it so it is not used.
            address = address_text if address_ok else "\ufffd"
        else:
            address_ok = True
        decodable = decodable and name_ok and address_ok
        result.append(Address(name=clean_name, address=clean_text(address.strip())))
    return tuple(result), decodable


def is_usable(address: Address | None) -> bool:
    """Whether we could write back to ``address``: ``local@domain`` with nothing odd in it."""
    if address is None:
        return False
    local, at, domain = address.address.rpartition("@")
    return bool(at and local and domain) and not _UNUSABLE_IN_ADDRESS.search(address.address)


def return_path(value: str | None) -> str | None:
    """The Return-Path mailbox: ``""`` for the null sender ``<>``, None when there is none."""
    if value is None:
        return None
    stripped = value.strip()
    if "<" in stripped:
        inner = stripped[stripped.find("<") + 1 :]
        inner = inner.split(">", 1)[0]
        return inner.strip()
    return stripped.split()[0] if stripped else ""


def parse_address_list(raw: str | None) -> list[tuple[str, str]]:
    """The stdlib's reading of an address header, for when mail-parser could not read it.

    ``raw`` is the undecoded header value, so a comma inside an encoded-word name cannot
    split a mailbox; names are decoded afterwards by :func:`to_addresses`.
    """
    if not raw:
        return []
    try:
        return [(name, address) for name, address in getaddresses([raw]) if "@" in address]
    except Exception:  # the stdlib address parser has its own ways to fail on junk
        return []
