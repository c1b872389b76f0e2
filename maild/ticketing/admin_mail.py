"""Mail to ``[maild] admins`` about the daemon itself: a rules file that does not load, a
sender past the new-ticket limit, outgoing mail given up on.

One place queues it, through the one composer (kind ``admin``, no ticket), so every notice
reaches the admins the same way and says who sent it the same way.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Connection

from maild.config import Config, MailboxConfig
from maild.ticketing.mail import queue
from outbound.templating import RenderedMail
from outbound.ticketmail import TicketMail

log = logging.getLogger(__name__)


def queue_admin_mail(
    connection: Connection,
    config: Config,
    *,
    subject: str,
    body: RenderedMail,
    now: datetime,
    sender: MailboxConfig | None = None,
    about: str = "notice",
) -> list[str]:
    """Queue ``body`` to each admin in the caller's transaction, from ``sender`` (default:
    the first mailbox); the addresses it was queued for. ``about`` names the notice in the
    log when it cannot go out."""
    admins = config.maild.admins
    if not admins:
        log.warning("no [maild] admins to send the %s to", about)
        return []
    sender = sender or (config.mailboxes[0] if config.mailboxes else None)
    if sender is None:
        log.warning("no mailbox to send the %s from", about)
        return []
    queued_for: list[str] = []
    for admin in admins:
        queued = queue(
            connection,
            config,
            TicketMail(
                kind="admin",
                ticket=None,
                recipients=[("", admin)],
                from_name=f"maild ({sender.name})",
                from_address=sender.address,
                subject=subject,
                text=body.text,
                html=body.html,
            ),
            now,
        )
        if queued.reason is not None:
            log.warning("no %s to %s: %s", about, admin, queued.reason)
        queued_for.extend(queued.sent_to)
    return queued_for
