"""The parents a stored customer mail names, kept so that one arriving late is adopted."""

from __future__ import annotations

from maild.pipeline.context import IntakeContext
from outbound.compose import token_from_message_id
from storage import adoption


class RecordParents:
    """After the mail is stored: the customers' Message-IDs it names in In-Reply-To /
    References (not ours, which carry the ticket's token, and not its own), so that a parent
    delivered after this reply is adopted by this ticket instead of opening another one
    (:class:`~maild.pipeline.steps.thread.Thread`, :mod:`storage.adoption`)."""

    name = "record-parents"

    def __call__(self, context: IntakeContext) -> None:
        parsed = context.parsed
        own = parsed.message_id
        parents = [
            parent
            for parent in parsed.thread_ids
            if parent and parent != own and token_from_message_id(parent) is None
        ]
        if parents and context.message_row_id is not None:
            adoption.record_parents(
                context.connection, context.message_row_id, context.job.mailbox.address, parents
            )
