"""Reading archives: what is a message, where it starts and ends, and what its headers say."""

from __future__ import annotations

from pathlib import Path

import pytest

from maild.importing.sources import ArchiveError, open_archive
from tests.importing.archives import thread_mail, write_eml_dir, write_maildir, write_mbox


def messages(path: Path) -> list[bytes]:
    archive = open_archive(path)
    return [archive.read(entry) for entry in archive.entries()]


def test_mbox_messages_come_back_unquoted_with_their_envelope_sender(tmp_path: Path) -> None:
    body = "Hello,\n\nFrom the look of it, the printer is on fire.\n>From the log: 12:30 smoke\n"
    mails = [thread_mail(1, body=body), thread_mail(2, parent=1)]
    archive = open_archive(write_mbox(tmp_path / "a.mbox", mails, sender="ada@customer.example"))
    assert archive.kind == "mbox"
    entries = list(archive.entries())
    assert [e.facts.message_id for e in entries] == [
        "<mail-1@customer.example>",
        "<mail-2@customer.example>",
    ]
    assert entries[0].envelope_sender == "ada@customer.example"
    assert entries[1].facts.parent_ids == ("<mail-1@customer.example>",)
    first = archive.read(entries[0])
    assert first == mails[0].replace(b"\r\n", b"\n")  # exactly the bytes, quoting undone
    assert b"\n>From the log: 12:30 smoke\n" in first


def test_mbox_separator_needs_an_empty_line_before_it(tmp_path: Path) -> None:
    path = tmp_path / "a.mbox"
    path.write_bytes(
        b"From ada@x Mon Jan  6 09:00:00 2025\nSubject: one\n\nline\n"
        b"From ada@x Mon Jan  6 09:00:00 2025 is not a separator here\n\n"
        b"From ada@x Mon Jan  6 10:00:00 2025\nSubject: two\n\nbody\n\n"
    )
    assert [m.split(b"\n")[0] for m in messages(path)] == [b"Subject: one", b"Subject: two"]
    assert messages(path)[1] == b"Subject: two\n\nbody\n"


def test_mbox_with_crlf_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "a.mbox"
    path.write_bytes(
        b"From a@x Mon Jan  6 09:00:00 2025\r\nSubject: one\r\n\r\nx\r\n\r\n"
        b"From a@x Mon Jan  6 09:00:00 2025\r\nSubject: two\r\n\r\ny\r\n"
    )
    assert messages(path) == [b"Subject: one\r\n\r\nx\r\n", b"Subject: two\r\n\r\ny\r\n"]


def test_empty_mbox_holds_nothing(tmp_path: Path) -> None:
    (tmp_path / "empty.mbox").write_bytes(b"")
    assert messages(tmp_path / "empty.mbox") == []


def test_maildir_reads_cur_and_new_but_not_tmp(tmp_path: Path) -> None:
    mails = [thread_mail(n) for n in range(1, 4)]
    path = write_maildir(tmp_path / "Maildir", mails, new=1)
    assert open_archive(path).kind == "maildir"
    assert messages(path) == mails


def test_eml_folder_takes_eml_files_only(tmp_path: Path) -> None:
    mails = [thread_mail(n) for n in range(1, 4)]
    path = write_eml_dir(tmp_path / "export", mails)
    assert open_archive(path).kind == "eml"
    assert messages(path) == mails


def test_a_single_message_file(tmp_path: Path) -> None:
    path = tmp_path / "one.eml"
    path.write_bytes(thread_mail(1))
    assert messages(path) == [thread_mail(1)]


@pytest.mark.parametrize("make", ["missing", "empty-folder"])
def test_what_is_not_an_archive_is_named(tmp_path: Path, make: str) -> None:
    path = tmp_path / "nothing"
    if make == "empty-folder":
        path.mkdir()
    with pytest.raises(ArchiveError, match=str(path)):
        open_archive(path)
