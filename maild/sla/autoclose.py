"""Auto-close: a resolved ticket the customer did not answer for ``auto_close_days`` is
closed, after a warning mail ``auto_close_warning_days`` before.

A customer's reply reopens a resolved ticket (intake's ``UpdateStatus``), which clears
``resolved_at`` and the warning stamp, so ``resolved_at`` is the start of the silence.
The close never comes less than ``auto_close_warning_days`` after the warning: when the
daemon was down past both instants, the customer is warned now and the ticket closed a
warning period later, not the same minute. ``auto_close_days = 0`` turns auto-close off,
``auto_close_warning_days = 0`` the warning.

Each ticket is handled in a short transaction of its own that re-reads it, so the job is
idempotent and safe to run in two instances at once (``SELECT … FOR UPDATE`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine

from maild.config import Config
from maild.ticketing.customer_mail import CustomerMail, queue_customer_mail
from maild.ticketing.editor import TicketEditor
from maild.ticketing.record import TicketRecord, load_ticket
from outbound.templating import TemplateRenderer
from parsing.ticketref import format_ticket_tag
from storage.engine import writer_engine
from storage.models import TicketStatus
from storage.sla import resolved_before
from storage.workflow import lock_ticket

log = logging.getLogger(__name__)

SYSTEM = "system"
KIND = "auto_close_warning"


@dataclass(frozen=True, slots=True)
class AutoCloseReport:
    warned: int = 0
    closed: int = 0


class AutoClose:
    def __init__(
        self,
        engine: Engine,
        config: Config,
        renderer: TemplateRenderer,
    ) -> None:
        self._engine = engine
        self._writer = writer_engine(engine)
        self._config = config
        self._renderer = renderer

    @property
    def close_after(self) -> timedelta:
        return timedelta(days=self._config.maild.auto_close_days)

    @property
    def warn_before(self) -> timedelta:
        """How long before the close the customer is warned (0: never); at most the
        whole silence."""
        days = self._config.maild.auto_close_warning_days
        return min(timedelta(days=days), self.close_after)

    def run(self, now: datetime) -> AutoCloseReport:
        if self._config.maild.auto_close_days == 0:
            return AutoCloseReport()
        since = now - (self.close_after - self.warn_before)
        with self._engine.connect() as connection:
            candidates = resolved_before(connection, since)
        warned = closed = 0
        for row in candidates:
            if self.due(row.resolved_at, row.auto_close_warned_at, now) is None:
                continue  # warned, the close is not due yet: no write transaction
            try:
                outcome = self._handle(row.id, now)
            except Exception:
                log.exception(
                    "ticket #%s: auto-close failed; the next run tries again",
                    row.number,
                    extra={"ticket": row.number},
                )
                continue
            warned += outcome == "warned"
            closed += outcome == "closed"
        return AutoCloseReport(warned, closed)

    def due(
        self, resolved_at: datetime | None, warned_at: datetime | None, now: datetime
    ) -> str | None:
        """``"warn"``, ``"close"`` or None for a resolved ticket."""
        if resolved_at is None:
            return None
        warn_before = self.warn_before
        close_at = resolved_at + self.close_after
        if warn_before:
            if warned_at is None:
                return "warn" if now >= close_at - warn_before else None
            close_at = max(close_at, warned_at + warn_before)
        return "close" if now >= close_at else None

    def _handle(self, ticket_id: int, now: datetime) -> str | None:
        with self._writer.begin() as connection:
            lock_ticket(connection, ticket_id)
            record = load_ticket(connection, ticket_id)
            if record.status != TicketStatus.RESOLVED:
                return None
            action = self.due(record.resolved_at, record.auto_close_warned_at, now)
            if action is None:
                return None
            editor = TicketEditor(connection, record, now, SYSTEM)
            if action == "warn":
                editor.mark_auto_close_warned()
                closes = max(
                    record.resolved_at + self.close_after,  # type: ignore[operator]
                    now + self.warn_before,
                )
                skipped = self._warn(connection, record, now, closes)
                editor.record_event(
                    "auto_close.warned" if skipped is None else "auto_close.warning_skipped",
                    closes_at=closes.isoformat(),
                    **({} if skipped is None else {"reason": skipped}),
                )
                outcome = "warned"
            else:
                editor.set_status(TicketStatus.CLOSED)
                editor.record_event("ticket.auto_closed", days=self._config.maild.auto_close_days)
                outcome = "closed"
            editor.save()
        log.info(
            "ticket #%s: auto-close %s", record.number, outcome, extra={"ticket": record.number}
        )
        return outcome

    def _warn(
        self, connection: Connection, record: TicketRecord, now: datetime, closes: datetime
    ) -> str | None:
        """Queue the warning to the requester; None when queued, otherwise why not."""
        box = self._config.mailbox(record.mailbox)
        mailbox_name = box.name if box else record.mailbox
        tag = format_ticket_tag(self._config.maild.ticket_prefix, record.number)
        rendered = self._renderer.render(
            "auto_close_warning",
            {
                "ticket_number": record.number,
                "ticket_tag": tag,
                "subject": record.subject,
                "customer_name": record.requester_name,
                "mailbox_name": mailbox_name,
                "days": self._config.maild.auto_close_days,
                "closes_at": f"{closes:%Y-%m-%d %H:%M} UTC",
                "closes_in": _days(closes - now),
            },
        )
        queued = queue_customer_mail(
            connection,
            self._config,
            thread_of=record,
            reply_ticket=record,
            recipients=[(record.requester_name, record.requester)],
            mail=CustomerMail(
                from_name=mailbox_name,
                subject=f"{tag} {record.subject}",
                text=rendered.text,
                html=rendered.html,
                kind=KIND,
            ),
            now=now,
            answer_latest=True,
        )
        if queued.reason is not None:
            log.warning(
                "no auto-close warning for ticket #%s: %s",
                record.number,
                queued.reason,
                extra={"ticket": record.number},
            )
        return queued.reason


def _days(delta: timedelta) -> str:
    hours = max(int(delta.total_seconds() // 3600), 0)
    if hours >= 24:
        days = round(hours / 24)
        return f"{days} day" + ("s" if days != 1 else "")
    return f"{hours} hour" + ("s" if hours != 1 else "")
