"""The limit on floods of new tickets (``[limits] new_tickets_per_sender_per_hour``).

A sender who has opened their hourly share of tickets opens no more: the mail that would
have opened one is stored on their newest open ticket (nothing is lost, invariant 1), with
an event, without an acknowledgement and without notices (``IntakeContext.withheld``). The
admins hear of it once per sender and hour: the notice's unique key in the database is
written in the same transaction as its mail, so two instances never both send it.

Live intake only: ``maild import`` of old mail is never limited. Configured agents (even
when their mail failed the trust rule) and the addresses of ``[limits] exempt`` never are.
Senders count normalised (lower case, sub-address removed), like the limits on automatic
mail: ``a+1@`` … ``a+99@`` share one limit.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from maild.config import Config
from maild.pipeline.context import IntakeContext
from maild.ticketing.admin_mail import queue_admin_mail
from outbound.templating import TemplateRenderer
from parsing.ticketref import format_ticket_tag
from storage import admin_notices, limits
from storage.outbox import normalised_address
from storage.tickets import TicketView

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=1)
THREADED_BY = "new-ticket-limit"


def notice_key(sender_key: str, now: datetime) -> str:
    """The admins' notice about ``sender_key`` in the (UTC) hour of ``now``: one each."""
    return f"flood:{sender_key}:{now:%Y-%m-%dT%H}"


class LimitNewTickets:
    """Before a ticket is opened: a sender past the hourly limit gets their mail stored on
    their newest open ticket instead (else their newest ticket)."""

    name = "limit-new-tickets"

    def __init__(self, config: Config, renderer: TemplateRenderer) -> None:
        self._config = config
        self._renderer = renderer
        self._limit = config.limits.new_tickets_per_sender_per_hour
        exempt = config.limits.exempt
        self._exempt = frozenset(normalised_address(a) for a in exempt if not a.startswith("@"))
        self._exempt_domains = frozenset(a[1:] for a in exempt if a.startswith("@"))

    def exempt(self, context: IntakeContext, key: str) -> bool:
        """A configured agent (address or alias), or an address of ``[limits] exempt``."""
        policy = context.policy
        if policy.agent_for(context.sender) is not None or policy.agent_for(key) is not None:
            return True
        return key in self._exempt or key.rpartition("@")[2] in self._exempt_domains

    def __call__(self, context: IntakeContext) -> None:
        if context.ticket is not None or not self._limit:
            return
        if context.job.delivery.history is not None:
            return  # maild import: old mail is never limited
        if not context.sender:
            return
        key = normalised_address(context.sender)
        if self.exempt(context, key):
            return
        connection = context.connection
        opened = limits.new_tickets_since(connection, key, context.now - WINDOW)
        if opened < self._limit:
            return
        target = limits.newest_ticket(connection, key)
        if target is None:
            return
        context.ticket, context.linked_ticket = target, None
        context.threaded_by = THREADED_BY
        context.flooded = True
        told = self._tell_admins(context, key, target, opened)
        details: dict[str, object] = {
            "sender": key,
            "limit": self._limit,
            "opened_last_hour": opened,
            "subject": context.parsed.subject,
        }
        if told:
            details["admins_told"] = told
        context.record("message.limited", **details)
        log.info(
            "%s opened %d tickets in the last hour (limit %d): mail stored on ticket #%s",
            key,
            opened,
            self._limit,
            target.number,
            extra={"ticket": target.number},
        )

    def _tell_admins(
        self, context: IntakeContext, key: str, target: TicketView, opened: int
    ) -> list[str]:
        """Mail the admins, once per sender and hour; the addresses it was queued for."""
        connection, now = context.connection, context.now
        if not admin_notices.claim_notice(connection, notice_key(key, now), now):
            return []
        log.warning(
            "%s reached the limit of %d new tickets per hour: further mail goes on ticket #%s",
            key,
            self._limit,
            target.number,
            extra={"ticket": target.number},
        )
        box = context.job.mailbox
        hour = now.replace(minute=0, second=0, microsecond=0)
        rendered = self._renderer.render(
            "new_ticket_limit",
            {
                "sender": key,
                "limit": self._limit,
                "opened": opened,
                "ticket_tag": format_ticket_tag(self._config.maild.ticket_prefix, target.number),
                "ticket_subject": target.subject,
                "subject": context.parsed.subject,
                "hour": hour.strftime("%Y-%m-%d %H:%M UTC"),
                "mailbox_name": box.name,
            },
        )
        return queue_admin_mail(
            connection,
            self._config,
            subject=f"[maild] {key} reached the limit of new tickets per hour",
            body=rendered,
            now=now,
            sender=box,
            about="new-ticket limit notice",
        )
