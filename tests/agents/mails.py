"""Agents' replies as their mail clients write them: Thunderbird's and Outlook's quoting."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from tests.agents.conftest import AUTHSERV

TRUSTED = f"{AUTHSERV}; dkim=pass header.d=example.com; dmarc=pass header.from=example.com"
NOTIFICATION_TEXT = "New ticket from Ada Lovelace\nHello, our printer is on fire.\n"


def quoted(body: str, style: str) -> str:
    """``body`` followed by the notification it answers, quoted as ``style`` does."""
    if style == "thunderbird":
        lines = "".join(f"> {line}\n" for line in NOTIFICATION_TEXT.splitlines())
        return f"{body}\n\nOn 02/03/2026 09:00, ACME Support wrote:\n{lines}"
    if style == "outlook":
        return (
            f"{body}\n\n"
            "From: ACME Support <support@example.com>\n"
            "Sent: Monday, March 2, 2026 9:00 AM\n"
            "To: Alice <alice@example.com>\n"
            "Subject: [ACME #1000] Printer on fire\n\n"
            f"{NOTIFICATION_TEXT}"
        )
    return body


def agent_mail(
    body: str,
    *,
    to: str,
    subject: str = "Re: [ACME #1000] Printer on fire",
    sender: str = "Alice <alice@example.com>",
    auth: str | None = TRUSTED,
    style: str = "thunderbird",
    in_reply_to: str | None = None,
    attachment: tuple[str, str, bytes] | None = None,
    message_id: str | None = None,
) -> bytes:
    message = EmailMessage()
    if auth is not None:
        message["Authentication-Results"] = auth
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    message["Message-ID"] = message_id or make_msgid(domain="example.com")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message.set_content(quoted(body, style))
    if attachment is not None:
        name, content_type, data = attachment
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()
