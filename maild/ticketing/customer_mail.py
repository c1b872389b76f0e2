"""Mail to the customer that continues the customer's own thread.

Everything maild writes to a customer about a ticket after the acknowledgement (an agent's
relayed answer, the notice that the ticket was merged, the auto-close warning) answers the
customer's last message (``In-Reply-To``) and names the customer's thread (``References``),
so their mail client files it under their own mail; Outlook gets ``Thread-Topic`` and
``Thread-Index``. Composed and guarded by the one composer (:mod:`outbound.ticketmail`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from maild.config import Config
from maild.ticketing.mail import customer_recipients, mail_ticket, queue
from maild.ticketing.record import TicketRecord
from outbound.compose import OutgoingAttachment
from outbound.threads import customer_threading
from outbound.ticketmail import Queued, TicketMail


@dataclass(frozen=True, slots=True)
class CustomerMail:
    """One message for the customer thread; ``kind`` is a customer kind of
    :data:`outbound.ticketmail.KINDS`, which says how it is guarded."""

    from_name: str
    subject: str
    text: str
    kind: str
    attachments: tuple[OutgoingAttachment, ...] = ()
    html: str | None = None


def queue_customer_mail(
    connection: Connection,
    config: Config,
    *,
    thread_of: TicketRecord,
    reply_ticket: TicketRecord,
    recipients: list[tuple[str, str]],
    mail: CustomerMail,
    now: datetime,
    answer_latest: bool = False,
) -> Queued:
    """Queue ``mail`` to ``recipients`` (requester first: it is the To) in the customer
    thread of ``thread_of``; replies reach ``reply_ticket``. It answers the customer's last
    message, or with ``answer_latest`` the newest of the thread (a reminder answers our own
    last word)."""
    ticket = mail_ticket(thread_of)
    return queue(
        connection,
        config,
        TicketMail(
            kind=mail.kind,
            ticket=ticket,
            recipients=recipients,
            from_name=mail.from_name,
            from_address=reply_ticket.mailbox,
            subject=mail.subject,
            text=mail.text,
            html=mail.html,
            threading=customer_threading(connection, ticket, answer_latest=answer_latest),
            attachments=mail.attachments,
            reply_ticket=mail_ticket(reply_ticket),
        ),
        now,
    )


__all__ = ["CustomerMail", "customer_recipients", "queue_customer_mail"]
