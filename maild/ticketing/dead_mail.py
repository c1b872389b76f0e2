"""Tells the admins, once per message, that outgoing mail was given up on.

The outbox parks a message as dead when the relay refused it for good (``5xx``) or when it
was still undelivered ``[outbound] max_lifetime`` after it was queued. A customer's answer
that never arrives is the worst silent failure a helpdesk has, so the admins get a mail
listing such messages, with the relay's last words and the command that sends them again.
Each message carries a unique key in the database (``storage.admin_notices``), so two
instances, or a message that dies again after ``maild outbox retry``, never tell twice.

Mail to the admins themselves is not reported: a notice about it would go the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection

from maild.config import Config
from maild.ticketing.admin_mail import queue_admin_mail
from outbound.outbox import DeadMail
from outbound.templating import TemplateRenderer
from parsing.ticketref import format_ticket_tag
from storage import admin_notices

log = logging.getLogger(__name__)

NOT_REPORTED = frozenset({"admin"})
"""Kinds of mail whose death is not mailed: it goes to the admins, as the notice would."""


def notice_key(outbox_id: int) -> str:
    return f"outbox-dead:{outbox_id}"


class DeadMailNotice:
    """The outbox's ``on_dead``: queue the admins' notice in the transaction that parks
    the messages."""

    def __init__(self, config: Config, renderer: TemplateRenderer) -> None:
        self._config = config
        self._renderer = renderer

    def __call__(self, connection: Connection, dead: Sequence[DeadMail], now: datetime) -> None:
        news = [
            mail
            for mail in dead
            if mail.kind not in NOT_REPORTED
            and admin_notices.claim_notice(connection, notice_key(mail.id), now)
        ]
        if not news:
            return
        prefix = self._config.maild.ticket_prefix
        rendered = self._renderer.render(
            "outbox_dead",
            {
                "messages": [
                    {
                        "id": mail.id,
                        "ticket_tag": (
                            format_ticket_tag(prefix, mail.ticket_number)
                            if mail.ticket_number is not None
                            else ""
                        ),
                        "kind": mail.kind,
                        "recipients": ", ".join(mail.recipients),
                        "since": mail.since.strftime("%Y-%m-%d %H:%M UTC"),
                        "attempts": mail.attempts,
                        "error": mail.error,
                    }
                    for mail in news
                ],
                "max_lifetime": _words(self._config.outbound.max_lifetime.total_seconds()),
            },
        )
        count = f"{len(news)} outgoing messages" if len(news) > 1 else "an outgoing message"
        told = queue_admin_mail(
            connection,
            self._config,
            subject=f"[maild] {count} could not be delivered",
            body=rendered,
            now=now,
            about="notice of undeliverable mail",
        )
        if told:
            log.info(
                "told %s that outbox %s could not be delivered",
                ", ".join(told),
                ", ".join(f"#{mail.id}" for mail in news),
            )


def _words(seconds: float) -> str:
    """``432000`` → ``"5 days"``: the lifetime as the notice says it."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            amount = int(seconds // size)
            return f"{amount} {unit}{'s' if amount != 1 else ''}"
    return f"{seconds:g} seconds"
