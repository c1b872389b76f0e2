"""Archives as mail programs write them: mboxrd files, Maildirs, folders of .eml files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def thread_mail(
    n: int,
    *,
    minutes: int | None = None,
    parent: int | None = None,
    sender: str = "Ada Lovelace <ada@customer.example>",
    subject: str | None = None,
    body: str | None = None,
    headers: dict[str, str] | None = None,
    date: str | None = None,
) -> bytes:
    """Mail number ``n``, sent ``minutes`` after START (default: n hours), answering mail
    number ``parent`` (In-Reply-To and References) if given."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "support@example.com"
    message["Subject"] = subject or (f"Re: Question {parent}" if parent else f"Question {n}")
    when = START + timedelta(minutes=60 * n if minutes is None else minutes)
    message["Date"] = date if date is not None else format_datetime(when)
    message["Message-ID"] = f"<mail-{n}@customer.example>"
    if parent is not None:
        message["In-Reply-To"] = f"<mail-{parent}@customer.example>"
        message["References"] = f"<mail-{parent}@customer.example>"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body or f"Text of mail {n}.\n")
    return message.as_bytes()


def write_mbox(path: Path, mails: list[bytes], sender: str = "ada@customer.example") -> Path:
    """mboxrd with LF line ends: "From " lines in a body are quoted as ">From "."""
    with path.open("wb") as out:
        for raw in mails:
            out.write(f"From {sender} Mon Jan  6 09:00:00 2025\n".encode())
            for line in raw.replace(b"\r\n", b"\n").rstrip(b"\n").split(b"\n"):
                if line.lstrip(b">").startswith(b"From "):
                    line = b">" + line
                out.write(line + b"\n")
            out.write(b"\n")
    return path


def write_maildir(path: Path, mails: list[bytes], *, new: int = 0) -> Path:
    """A Maildir; the last ``new`` mails are unread (in new/), a half-written one in tmp/."""
    for folder in ("cur", "new", "tmp"):
        (path / folder).mkdir(parents=True, exist_ok=True)
    for index, raw in enumerate(mails):
        unread = index >= len(mails) - new
        name = f"{1736150400 + index}.M{index}P1.host" + ("" if unread else ":2,S")
        (path / ("new" if unread else "cur") / name).write_bytes(raw)
    (path / "tmp" / "1736159999.M9P9.host").write_bytes(b"From: half@written\r\n")
    return path


def write_eml_dir(path: Path, mails: list[bytes]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for index, raw in enumerate(mails):
        (path / f"{index:04d}.eml").write_bytes(raw)
    (path / "notes.txt").write_text("not a message")
    return path
