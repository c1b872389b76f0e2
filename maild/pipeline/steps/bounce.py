"""A delivery failure report: matched to the ticket whose mail bounced, never a new ticket."""

from __future__ import annotations

import logging

from sqlalchemy import Connection

from maild.pipeline.context import IntakeContext
from maild.pipeline.delivery import Job
from maild.pipeline.errors import Unprocessable
from outbound.compose import token_from_message_id
from parsing.model import Bounce
from storage import tickets
from storage.models import MessageKind

log = logging.getLogger(__name__)


class MatchBounce:
    """A delivery failure never opens a ticket: it belongs to the ticket whose outgoing mail
    bounced, found by the token of our envelope sender (VERP), or the bounced message's
    Message-ID. There it is stored as a system message. A permanent failure marks an
    address bouncing (nothing more is sent to it until a human clears it with ``maild
    participants clear``) only when the report proves it is about our mail to that address
    (invariant 6): it came back to the envelope sender of that recipient's own copy
    (``support+TOKEN-RID@``), names that recipient, and names no other Message-ID than the
    one we sent. Anyone who received our mail knows the ticket's token, so a report to the
    plain token address, or about someone else, is stored and marks nobody. A bounce for no
    ticket of ours goes to quarantine."""

    name = "bounce"

    def __call__(self, context: IntakeContext) -> None:
        bounce = context.parsed.bounce
        if context.parsed.automated != "bounce" and bounce is None:
            return
        connection = context.connection
        original = [bounce.original_message_id] if bounce and bounce.original_message_id else []
        tokens = [t for t in map(token_from_message_id, original) if t]
        ticket = (
            tickets.by_tokens(connection, context.job.reply_tokens)
            or tickets.by_tokens(connection, tokens)
            or tickets.ticket_of_outgoing(connection, original)
        )
        if ticket is None:
            raise Unprocessable("delivery failure report for no message of ours")
        context.ticket, context.threaded_by = ticket, "bounce"
        context.automated = "bounce"
        context.kind = MessageKind.SYSTEM
        if bounce is None:
            return
        context.record(
            "bounce.received",
            recipients=list(bounce.recipients),
            permanent=bounce.permanent,
            status=bounce.status,
        )
        if not bounce.permanent:
            return
        copy, problem = reported_copy(connection, context.job, bounce)
        if copy is None:
            log.info("bounce marks nobody: %s", problem, extra={"ticket": ticket.number})
            context.record("bounce.unverified", reason=problem)
            return
        for address in tickets.mark_bouncing(
            connection, copy.ticket_id or ticket.id, [copy.recipient]
        ):
            log.warning(
                "%s marked bouncing (%s)",
                address,
                bounce.status or "permanent",
                extra={"ticket": ticket.number},
            )
            context.record("participant.bouncing", address=address)


def reported_copy(
    connection: Connection, job: Job, bounce: Bounce
) -> tuple[tickets.SentCopy | None, str]:
    """The copy of our mail a delivery report is about, or None and why it proves nothing."""
    if not job.verp_ids:
        return None, "not sent to the envelope sender of one recipient's copy"
    envelope = {address.strip().strip("<>").lower() for address in job.delivery.rcpt_tos}
    reported = {address.strip().lower() for address in bounce.recipients}
    for verp_id in job.verp_ids:
        copy = tickets.sent_copy(connection, verp_id)
        if copy is None or copy.mail_from.lower() not in envelope:
            continue
        if copy.recipient not in reported:
            return None, f"the report does not name {copy.recipient}, the copy's recipient"
        if bounce.original_message_id and bounce.original_message_id != copy.message_id:
            return None, "the report names another Message-ID than the copy's"
        return copy, ""
    return None, "no copy of ours was sent from that envelope sender"
