"""The acknowledgement a customer receives for a new ticket, queued in the outbox.

Composed inside the transaction that creates the ticket (invariant 4) from the Jinja
template ``acknowledgement`` by the one composer, which holds it back from an address that
bounces or had its hourly share of automatic mail (invariant 3); the customer's subject and
text reach the template only as variables (invariant 5).

With a knowledge base (``[kb] dir``) it lists the articles relevant to what the customer
wrote (:mod:`maild.kb`), as the template variable ``articles``, and records them in a
``kb.suggested`` event. A knowledge base that fails never holds the acknowledgement back.
"""

from __future__ import annotations

import logging
from typing import Any

from maild.config import Config
from maild.kb.holder import KnowledgeBase
from maild.kb.suggest import Candidate
from maild.pipeline.context import IntakeContext
from maild.ticketing.mail import queue
from outbound.templating import TemplateRenderer
from outbound.threads import answer_threading
from outbound.ticketmail import MailTicket, TicketMail
from parsing.ticketref import format_ticket_tag

log = logging.getLogger(__name__)

EXCERPT_CHARS = 500


class Acknowledger:
    """Queues the acknowledgement; the ticket is stored whether or not it may be sent."""

    def __init__(
        self, config: Config, renderer: TemplateRenderer, kb: KnowledgeBase | None = None
    ) -> None:
        self._config = config
        self._renderer = renderer
        self._kb = kb

    def queue(self, context: IntakeContext) -> str | None:
        """None when queued, otherwise why not."""
        ticket, parsed, mailbox = context.ticket, context.parsed, context.job.mailbox
        assert ticket is not None and parsed.from_ is not None
        tag = format_ticket_tag(self._config.maild.ticket_prefix, ticket.number)
        suggested = self._suggest(context)
        rendered = self._renderer.render(
            "acknowledgement",
            {
                "ticket_number": ticket.number,
                "ticket_tag": tag,
                "subject": ticket.subject,
                "customer_name": parsed.from_.name,
                "mailbox_name": mailbox.name,
                "excerpt": parsed.reply_text[:EXCERPT_CHARS],
                "articles": [
                    {
                        "title": found.hit.article.title,
                        "url": found.hit.article.url,
                        "summary": found.hit.article.summary,
                    }
                    for found in suggested
                ],
            },
        )
        about = MailTicket(
            ticket.id,
            ticket.number,
            ticket.token,
            ticket.mailbox,
            ticket.subject,
            ticket.requester,
            context.now,
        )
        queued = queue(
            context.connection,
            self._config,
            TicketMail(
                kind="acknowledgement",
                ticket=about,
                recipients=[(parsed.from_.name, parsed.from_.address)],
                from_name=mailbox.name,
                from_address=mailbox.address,
                subject=f"{tag} {ticket.subject}",
                text=rendered.text,
                html=rendered.html,
                threading=answer_threading(
                    parsed.message_id,
                    parsed.references,
                    seed=f"{ticket.token}:{ticket.requester}",
                    parent_index=next(iter(parsed.header_values("Thread-Index")), None),
                ),
            ),
            context.now,
        )
        if queued.reason is None and suggested:
            context.record("kb.suggested", articles=[_event_entry(found) for found in suggested])
        return queued.reason

    def _suggest(self, context: IntakeContext) -> list[Candidate]:
        """The articles for this mail, or none when there is no knowledge base or it fails
        (logged: the acknowledgement goes out without them)."""
        if self._kb is None:
            return []
        parsed = context.parsed
        try:
            return self._kb.suggest(parsed.subject, parsed.new_text)
        except Exception:
            log.exception("knowledge base: no suggestions for ticket %s", context.ticket.number)
            return []


def _event_entry(found: Candidate) -> dict[str, Any]:
    article = found.hit.article
    return {
        "id": article.id,
        "title": article.title,
        "relevance": found.relevance,
        "bm25": round(found.hit.score, 3),
    }
