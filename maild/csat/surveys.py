"""Sends the satisfaction surveys that have fallen due, from the scheduler's sweep.

A ticket is due one ``[csat] delay`` after it was resolved (or closed, with ``after =
"closed"``) when it has none yet, was not closed by a merge, and has mail a person wrote.
Each survey is claimed and queued in a short transaction of its own: the unique survey row
is what keeps two instances from both sending it. The mail goes in the ticket's customer
thread, to the requester only, through the one composer (kind ``survey``): never to a
bouncing address, and within the hourly limit on automatic mail; a survey held back so is
recorded as skipped with the reason and not tried again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine

from maild.config import Config
from maild.csat.links import rating_url, survey_token
from maild.ticketing.customer_mail import CustomerMail, queue_customer_mail
from maild.ticketing.editor import TicketEditor
from maild.ticketing.record import TicketRecord, load_ticket
from outbound.templating import TemplateRenderer
from parsing.rating import SCALES
from parsing.ticketref import format_ticket_tag
from storage import surveys
from storage.engine import writer_engine

log = logging.getLogger(__name__)

KIND = "survey"
WINDOW = timedelta(days=30)
"""How far back a resolution still earns a survey (so turning surveys on does not survey a
year of history); also how long its links work."""

LABELS = {
    "1-5": {
        "5": "Very satisfied",
        "4": "Satisfied",
        "3": "Neither",
        "2": "Dissatisfied",
        "1": "Very dissatisfied",
    },
    "good-bad": {"good": "Good, I'm satisfied", "bad": "Bad, I'm not satisfied"},
}
"""What each rating says, best first, for the mail and the page."""


@dataclass(frozen=True, slots=True)
class SurveyRun:
    sent: int = 0
    skipped: int = 0


class SurveySender:
    def __init__(
        self,
        engine: Engine,
        config: Config,
        renderer: TemplateRenderer,
        secret: Callable[[], bytes],
        base_url: Callable[[], str],
    ) -> None:
        self._base_url = base_url
        self._writer = writer_engine(engine)
        self._engine = engine
        self._config = config
        self._renderer = renderer
        self._secret = secret

    def run(self, now: datetime) -> SurveyRun:
        """Send every survey due at ``now``."""
        csat = self._config.csat
        if not csat.enabled:
            return SurveyRun()
        due_before = now - csat.delay
        with self._engine.connect() as connection:
            due = surveys.due_tickets(
                connection, csat.after, due_before=due_before, window_start=due_before - WINDOW
            )
        sent = skipped = 0
        for ticket_id in due:
            with self._writer.begin() as connection:
                outcome = self._survey(connection, ticket_id, now)
            sent += outcome == "sent"
            skipped += outcome == "skipped"
        return SurveyRun(sent, skipped)

    def _survey(self, connection: Connection, ticket_id: int, now: datetime) -> str | None:
        scale = self._config.csat.scale
        survey_id = surveys.claim(connection, ticket_id, now=now, scale=scale, status="sent")
        if survey_id is None:
            return None  # another instance was first
        record = load_ticket(connection, ticket_id)
        queued = queue_customer_mail(
            connection,
            self._config,
            thread_of=record,
            reply_ticket=record,
            recipients=[(record.requester_name, record.requester)],
            mail=self._mail(record, survey_id),
            now=now,
            answer_latest=True,
        )
        editor = TicketEditor(connection, record, now, "system")
        if queued.reason is not None:
            surveys.mark_skipped(connection, survey_id, queued.reason)
            editor.record_event("survey.skipped", reason=queued.reason)
            editor.save()
            log.info(
                "no survey for ticket #%s: %s",
                record.number,
                queued.reason,
                extra={"ticket": record.number},
            )
            return "skipped"
        editor.record_event("survey.sent", to=record.requester, scale=scale)
        editor.save()
        log.info("survey sent for ticket #%s", record.number, extra={"ticket": record.number})
        return "sent"

    def _mail(self, record: TicketRecord, survey_id: int) -> CustomerMail:
        scale = self._config.csat.scale
        box = self._config.mailbox(record.mailbox)
        mailbox_name = box.name if box else record.mailbox
        tag = format_ticket_tag(self._config.maild.ticket_prefix, record.number)
        token = survey_token(self._secret(), survey_id)
        base = self._base_url()
        choices = [
            {
                "value": value,
                "label": LABELS[scale][value],
                "url": rating_url(base, token, value) if base else "",
            }
            for value in reversed(SCALES[scale])
        ]
        rendered = self._renderer.render(
            "survey",
            {
                "ticket_number": record.number,
                "ticket_tag": tag,
                "subject": record.subject,
                "customer_name": record.requester_name,
                "mailbox_name": mailbox_name,
                "scale": scale,
                "choices": choices,
                "links": bool(base),
            },
        )
        return CustomerMail(
            from_name=mailbox_name,
            subject=f"{tag} How did we do? {record.subject}",
            text=rendered.text,
            html=rendered.html,
            kind=KIND,
        )
