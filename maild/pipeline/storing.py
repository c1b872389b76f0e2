"""Storing an incoming mail on a ticket: the message row and its attachments, each
attachment's bytes once by content, and the ticket's ``last_message_at`` (where a
``ticket.idle`` period starts). Shared by customer mail and agent mail."""

from __future__ import annotations

from maild.pipeline.context import IntakeContext
from storage import idle, queries, tickets
from storage.models import MessageKind


def store_mail(
    context: IntakeContext,
    ticket_id: int,
    kind: MessageKind,
    reply_text: str,
    automated: str | None = None,
) -> int:
    """Insert the job's mail on ``ticket_id``; its message id."""
    parsed, job, connection = context.parsed, context.job, context.connection
    message_id = tickets.insert_message(
        connection,
        ticket_id=ticket_id,
        kind=kind,
        mailbox=job.mailbox.address,
        dedup_key=context.dedup_key,
        message_id=parsed.message_id,
        from_address=context.sender,
        from_name=context.sender_name,
        subject=parsed.subject,
        body=parsed.text,
        reply_text=reply_text,
        automated=automated,
        raw=job.delivery.raw,
        sent_at=parsed.date,
        created_at=context.now,
    )
    rows = []
    for attachment in parsed.attachments:
        queries.store_blob(connection, attachment.sha256, attachment.data)
        rows.append(
            {
                "message_id": message_id,
                "filename": attachment.filename,
                "content_type": attachment.content_type,
                "size": attachment.size,
                "sha256": attachment.sha256,
            }
        )
    tickets.insert_attachments(connection, rows)
    # Automated mail (auto-replies, bounces, our own looped back) leaves the ticket idle;
    # a ticket it opened is idle from its creation.
    if kind != MessageKind.SYSTEM or context.created:
        idle.message_stored(connection, ticket_id, context.now)
    context.message_row_id = message_id
    return message_id
