"""Archives ``maild import`` reads: an mbox file, a Maildir, a folder of ``.eml`` files, or one
message file.

Reading is in two passes so that an archive of any size fits in memory: :meth:`entries`
indexes every message by its header section alone (where it is, its date, its Message-ID and
what it answers), then :meth:`read` fetches one message's bytes when its turn comes. Nothing
from a message is used as a path (invariant 5): paths come from the directory listing.
"""

from __future__ import annotations

import mmap
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from parsing.dates import parse_date
from parsing.envelope import HeaderFacts, header_section, read_headers

Kind = Literal["mbox", "maildir", "eml"]

# An mbox "From " separator: at the start of the file or after an empty line, and carrying a
# time (``From sender Tue Mar  2 08:30:00 2026``); body lines that merely start with "From "
# rarely have both.
_SEPARATOR = re.compile(rb"^From [^\r\n]*\d:\d\d[^\r\n]*\r?$", re.MULTILINE)
# mboxrd quoting: ">From " in the body was written as ">>From ", "From " as ">From ".
_QUOTED_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)
HEADER_READ_LIMIT = 1024 * 1024


class ArchiveError(Exception):
    """The path is not an archive maild can read; the message says what it expected."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One message of an archive, as the indexing pass found it."""

    position: int  # order in the archive (file order, or order in the mbox)
    offset: int  # mbox: where the message bytes start
    length: int  # mbox: how many bytes
    path: Path  # the file holding it
    facts: HeaderFacts
    envelope_sender: str | None = None  # the address of an mbox "From " line
    received: datetime | None = None  # mbox "From " date or file time: for mail without Date

    @property
    def sort_date(self) -> datetime | None:
        return self.facts.date or self.received


@dataclass(frozen=True, slots=True)
class Archive:
    kind: Kind
    path: Path

    def entries(self) -> Iterator[Entry]:
        if self.kind == "mbox":
            yield from _mbox_entries(self.path)
        elif self.kind == "maildir":
            yield from _file_entries(_maildir_files(self.path))
        elif self.path.is_dir():
            yield from _file_entries(_eml_files(self.path))
        else:
            yield from _file_entries([self.path])

    def read(self, entry: Entry) -> bytes:
        if self.kind != "mbox":
            return entry.path.read_bytes()
        with entry.path.open("rb") as handle:
            handle.seek(entry.offset)
            return _unquote(handle.read(entry.length))

    def describe(self) -> str:
        what = {"mbox": "mbox", "maildir": "Maildir", "eml": ".eml files"}[self.kind]
        return f"{self.path} ({what})"


def open_archive(path: Path) -> Archive:
    """Recognise what ``path`` is: a file starting with "From " (or empty) is an mbox, any
    other file one message; a folder with ``cur/`` and ``new/`` is a Maildir, any other
    folder holds .eml files."""
    if not path.exists():
        raise ArchiveError(f"{path}: no such file or folder")
    if path.is_dir():
        if (path / "cur").is_dir() and (path / "new").is_dir():
            return Archive("maildir", path)
        if not _eml_files(path):
            raise ArchiveError(
                f"{path}: neither a Maildir (cur/ and new/) nor a folder with .eml files"
            )
        return Archive("eml", path)
    try:
        with path.open("rb") as handle:
            start = handle.read(5)
    except OSError as error:
        raise ArchiveError(f"{path}: {error.strerror or error}") from None
    return Archive("mbox" if start in (b"From ", b"") else "eml", path)


# --------------------------------------------------------------------------------------------
# mbox


def _mbox_entries(path: Path) -> Iterator[Entry]:
    with path.open("rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            return
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            starts = [
                match
                for match in _SEPARATOR.finditer(data)
                if match.start() == 0
                or data[max(0, match.start() - 2) : match.start()] == b"\n\n"
                or data[max(0, match.start() - 3) : match.start()] == b"\n\r\n"
            ]
            for position, match in enumerate(starts):
                body_start = match.end() + 1
                end = starts[position + 1].start() if position + 1 < len(starts) else len(data)
                # The empty line before the next separator belongs to the mbox, not the mail.
                if data[end - 4 : end] == b"\r\n\r\n":
                    end -= 2
                elif data[end - 2 : end] == b"\n\n":
                    end -= 1
                end = max(end, body_start)
                head = _unquote(
                    header_section(data[body_start : min(end, body_start + HEADER_READ_LIMIT)])
                )
                line = match.group().decode("latin-1").rstrip("\r")
                _, _, rest = line.partition(" ")
                sender, _, when = rest.strip().partition(" ")
                yield Entry(
                    position=position,
                    offset=body_start,
                    length=end - body_start,
                    path=path,
                    facts=read_headers(head),
                    envelope_sender=sender,
                    received=parse_date(when),
                )


def _unquote(raw: bytes) -> bytes:
    return _QUOTED_FROM.sub(rb"\1", raw) if b">From " in raw else raw


# --------------------------------------------------------------------------------------------
# Maildir and .eml files


def _maildir_files(path: Path) -> list[Path]:
    """``cur/`` and ``new/`` (never ``tmp/``: half-delivered), by name: Maildir names start
    with the delivery time."""
    files = [
        entry
        for folder in ("cur", "new")
        for entry in (path / folder).iterdir()
        if entry.is_file() and not entry.name.startswith(".")
    ]
    return sorted(files, key=lambda entry: entry.name)


def _eml_files(path: Path) -> list[Path]:
    return sorted(
        entry
        for entry in path.iterdir()
        if entry.is_file() and entry.suffix.lower() == ".eml" and not entry.name.startswith(".")
    )


def _file_entries(files: list[Path]) -> Iterator[Entry]:
    for position, file in enumerate(files):
        with file.open("rb") as handle:
            head = b""
            while len(head) < HEADER_READ_LIMIT:
                chunk = handle.read(65536)
                if not chunk:
                    break
                head += chunk
                if b"\n\n" in head or b"\r\n\r\n" in head:
                    break
            modified = datetime.fromtimestamp(os.fstat(handle.fileno()).st_mtime, UTC)
        yield Entry(
            position=position,
            offset=0,
            length=0,
            path=file,
            facts=read_headers(header_section(head)),
            received=modified,
        )
