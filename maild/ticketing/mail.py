"""maild's side of the one ticket-mail composer (:mod:`outbound.ticketmail`): the ticket as
the composer sees it, the limits from the configuration, and who on a ticket is a customer.

Every kind of mail maild writes about a ticket is built here or by its caller as a
:class:`~outbound.ticketmail.TicketMail` and queued with :func:`queue`; nothing else
composes ticket mail.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection

from maild.config import Config
from maild.ticketing.record import TicketRecord
from outbound.guards import AutomaticMailLimits
from outbound.ticketmail import MailTicket, Queued, TicketMail, queue_ticket_mail
from rules.config import RulesConfig
from storage import threads


def limits(config: Config) -> AutomaticMailLimits:
    """The hourly budget of automatic mail to customers (``[maild] auto_reply_limit`` and
    ``auto_reply_domain_limit``)."""
    return AutomaticMailLimits(config.maild.auto_reply_limit, config.maild.auto_reply_domain_limit)


def mail_ticket(record: TicketRecord) -> MailTicket:
    assert record.created_at is not None
    return MailTicket(
        id=record.id,
        number=record.number,
        token=record.token,
        mailbox=record.mailbox,
        subject=record.subject,
        requester=record.requester,
        created_at=record.created_at,
    )


def queue(connection: Connection, config: Config, mail: TicketMail, now: datetime) -> Queued:
    """Queue ``mail`` through the one composer, with the configured limits."""
    return queue_ticket_mail(connection, mail, now, limits=limits(config))


def customer_recipients(
    connection: Connection,
    ticket_id: int,
    policy: RulesConfig,
    is_ours: Callable[[str], bool],
) -> list[tuple[str, str]]:
    """(name, address) of the requester and accepted Cc participants, requester first,
    without those whose mail bounces, agents (their copy is a notification, never the
    customer mail) and our own addresses."""
    found: list[tuple[str, str]] = []
    for person in threads.customer_participants(connection, ticket_id):
        if policy.agent_for(person.address) is not None or is_ours(person.address):
            continue
        if person.requester:
            found.insert(0, (person.name, person.address))
        else:
            found.append((person.name, person.address))
    return found
