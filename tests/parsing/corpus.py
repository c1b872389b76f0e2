"""The fixture mails under tests/fixtures/mail and a helper to read them."""

from __future__ import annotations

from pathlib import Path

FIXTURE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "mail"
PREFIX = "ACME"


def fixture_names() -> list[str]:
    return sorted(path.name for path in FIXTURE_DIR.glob("*.eml"))


def load(name: str) -> bytes:
    return (FIXTURE_DIR / name).read_bytes()


def crlf(raw: bytes) -> bytes:
    """The same mail with CRLF line ends, as it arrives over SMTP."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def mail(*headers: str, body: str | bytes = "Hello.\n", sender: str | None = None) -> bytes:
    """A small raw mail: the given header lines, a default From, and ``body``.

    ``sender`` replaces the default ``From: Ada <ada@customer.example>``; pass ``""`` to
    leave From out.
    """
    lines = list(headers)
    if sender is None:
        lines.insert(0, "From: Ada <ada@customer.example>")
    elif sender:
        lines.insert(0, f"From: {sender}")
    head = "\n".join(lines).encode("utf-8", "surrogateescape")
    data = body if isinstance(body, bytes) else body.encode("utf-8")
    return head + b"\n\n" + data
