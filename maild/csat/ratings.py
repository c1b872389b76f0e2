"""Recording a survey's rating, by one click or by a reply, with the survey's time limits.

From the first rating a customer may change it for a week (a second click, a second
reply); after that the page shows the rating they gave. From day 30 after it was sent a
survey's link says it expired. A rating is an event on the ticket (``ticket.rated``).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from maild.ticketing.editor import EventLog, TicketEditor
from maild.ticketing.record import load_ticket
from parsing.rating import SCALES
from storage import surveys
from storage.surveys import SurveyState

log = logging.getLogger(__name__)

CHANGE_WINDOW = timedelta(days=7)
EXPIRES_AFTER = timedelta(days=30)
MAX_COMMENT = 4000


class Verdict(enum.StrEnum):
    RECORDED = "recorded"
    CHANGED = "changed"
    LOCKED = "locked"  # rated more than a week ago: the rating stands
    EXPIRED = "expired"
    UNKNOWN = "unknown"  # no such survey, or a rating its scale does not have


@dataclass(frozen=True, slots=True)
class Outcome:
    verdict: Verdict
    survey: SurveyState | None

    @property
    def recorded(self) -> bool:
        return self.verdict in (Verdict.RECORDED, Verdict.CHANGED)


def standing(survey: SurveyState | None, rating: str, now: datetime) -> Verdict:
    """What a rating for ``survey`` at ``now`` would do (nothing is written)."""
    if survey is None or rating not in SCALES.get(survey.scale, ()):
        return Verdict.UNKNOWN
    if now >= survey.created_at + EXPIRES_AFTER:
        return Verdict.EXPIRED
    if survey.first_rated_at is not None:
        if now >= survey.first_rated_at + CHANGE_WINDOW:
            return Verdict.LOCKED
        return Verdict.CHANGED
    return Verdict.RECORDED


def record_rating(
    connection: Connection,
    survey_id: int,
    rating: str,
    *,
    comment: str,
    via: str,
    now: datetime,
    actor: str,
    events: EventLog | None = None,
    fire: Callable[[TicketEditor, str], None] | None = None,
) -> Outcome:
    """Record ``rating`` (and ``comment``) when the survey's limits allow, with its event;
    then ``fire(editor, rating)`` runs what follows a rating (the ``ticket.rated`` rules).
    ``events``: the log of the mail being taken in, when the rating came by mail."""
    survey = surveys.survey(connection, survey_id)
    verdict = standing(survey, rating, now)
    if survey is None or verdict not in (Verdict.RECORDED, Verdict.CHANGED):
        return Outcome(verdict, survey)
    comment = comment.strip()[:MAX_COMMENT]
    surveys.record_rating(
        connection, survey_id, rating=rating, comment=comment or None, now=now, via=via
    )
    record = load_ticket(connection, survey.ticket_id)
    editor = TicketEditor(connection, record, now, actor, events=events)
    details: dict[str, object] = {"rating": rating, "scale": survey.scale, "via": via}
    if comment:
        details["comment"] = comment
    if verdict is Verdict.CHANGED:
        details["previous"] = survey.rating
    editor.record_event("ticket.rated", **details)
    if fire is not None:
        fire(editor, rating)
    editor.save()
    log.info(
        "ticket #%s rated %s (%s)",
        survey.ticket_number,
        rating,
        via,
        extra={"ticket": survey.ticket_number},
    )
    return Outcome(verdict, surveys.survey(connection, survey_id))
