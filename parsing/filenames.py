"""Attachment filenames reduced to a bare, harmless name (DESIGN invariant 5).

A filename is text chosen by a stranger: it may hold directories (``../../etc/passwd``,
``C:\\evil``), NUL and control characters, right-to-left overrides that disguise
``invoice‮fdp.exe``, names Windows reserves, or nothing at all. What comes out is a single
path component that is safe to show and to offer as a download name; it is still never to
be used as a path. Imports nothing of the project.
"""

from __future__ import annotations

import re
import unicodedata

MAX_FILENAME_BYTES = 200

# Extensions for the fallback name, by content type. A small table instead of the
# ``mimetypes`` module, which reads the system's mime.types files (this package does no I/O).
_EXTENSIONS = {
    "application/gzip": ".gz",
    "application/json": ".json",
    "application/msword": ".doc",
    "application/pdf": ".pdf",
    "application/pgp-signature": ".asc",
    "application/pkcs7-signature": ".p7s",
    "application/x-pkcs7-signature": ".p7s",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/zip": ".zip",
    "image/gif": ".gif",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/svg+xml": ".svg",
    "image/webp": ".webp",
    "message/rfc822": ".eml",
    "text/calendar": ".ics",
    "text/csv": ".csv",
    "text/html": ".html",
    "text/plain": ".txt",
    "text/rfc822-headers": ".txt",
    "text/vcard": ".vcf",
    "text/x-vcard": ".vcf",
}

_WINDOWS_FORBIDDEN = re.compile(r'[<>:"|?*]')
_WINDOWS_RESERVED = re.compile(r"^(?:CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])(?:\..*)?$", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


def fallback_filename(index: int, content_type: str) -> str:
    """``attachment-3.pdf``: the name for the ``index``-th (1-based) attachment without one."""
    return f"attachment-{index}{_EXTENSIONS.get(content_type, '.bin')}"


def _drop_unsafe_characters(name: str) -> str:
    # Cc: control characters (NUL, CR, LF…); Cf: invisible format characters (RLO, ZWJ…);
    # Cs: lone surrogates from undecodable octets.
    return "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs"))


def _truncate(name: str) -> str:
    if len(name.encode("utf-8")) <= MAX_FILENAME_BYTES:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) > 16:
        stem, extension = name, ""
    suffix = f".{extension}" if extension else ""
    budget = MAX_FILENAME_BYTES - len(suffix.encode("utf-8"))
    encoded = stem.encode("utf-8")[:budget]
    return encoded.decode("utf-8", "ignore").rstrip(" .") + suffix


def safe_filename(name: str | None, *, index: int, content_type: str) -> str:
    """A bare, safe version of ``name``, or the fallback when nothing usable is left."""
    if name:
        name = _drop_unsafe_characters(name).replace("\\", "/")
        name = name.rsplit("/", 1)[-1]
        name = _SPACES.sub(" ", _WINDOWS_FORBIDDEN.sub("_", name))
        name = name.strip(" .")
        if _WINDOWS_RESERVED.match(name):
            name = f"_{name}"
        name = _truncate(name)
    return name or fallback_filename(index, content_type)
