"""The intake step for a reply to our survey that gives a rating by mail.

The requester answers the survey with a rating alone on the first line of what they wrote
(``5``, ``4/5``, ``good``, optionally `` - a comment``, and the rest of the mail as the
comment): it is recorded as that rating, like a click on its link, fires the
``ticket.rated`` rules, and is stored on the ticket; it does not reopen the ticket (nor open
a follow-up of a closed one), and agents are not notified of it as a reply. Anything else
is an ordinary reply.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from maild.csat.ratings import record_rating
from maild.pipeline.context import IntakeContext
from maild.ticketing.editor import TicketEditor
from parsing.rating import SCALES, rating_in_reply
from rules.config import RulesConfig
from storage import surveys

log = logging.getLogger(__name__)


class RatingReply:
    name = "survey-rating"

    def __init__(self, fire: Callable[[TicketEditor, RulesConfig, str], None] | None) -> None:
        self._fire = fire

    def __call__(self, context: IntakeContext) -> None:
        ticket = context.ticket
        if ticket is None or context.automated is not None or context.suspect:
            return
        if context.agent is not None or context.sender != ticket.requester:
            return
        text = context.parsed.new_text
        if not any(rating_in_reply(text, scale) for scale in SCALES):
            return  # the usual reply: no rating, and no query on the intake path
        survey_id = surveys.survey_of_ticket(context.connection, ticket.id)
        if survey_id is None:
            return
        state = surveys.survey(context.connection, survey_id)
        assert state is not None
        rating = rating_in_reply(text, state.scale)
        if rating is None:
            return
        fire = self._fire
        policy = context.policy
        outcome = record_rating(
            context.connection,
            survey_id,
            rating.value,
            comment=rating.comment,
            via="mail",
            now=context.now,
            actor=context.actor,
            events=context.events,
            fire=(lambda editor, value: fire(editor, policy, value)) if fire else None,
        )
        if outcome.recorded:
            context.rated = True
        else:
            log.info(
                "a rating reply for ticket #%s came too late (%s): an ordinary reply",
                ticket.number,
                outcome.verdict,
                extra={"ticket": ticket.number},
            )
