"""The stored mail's text in the full-text search table, in the intake transaction."""

from __future__ import annotations

from maild.pipeline.context import IntakeContext
from storage import search


class IndexText:
    """After the mail is stored: its subject, reply text and the ticket's requester in
    ``ticket_text`` (:mod:`storage.search`), so that ``maild tickets search`` finds it as
    soon as it is committed. Customer mail and agents' answers and notes alike."""

    name = "index-text"

    def __call__(self, context: IntakeContext) -> None:
        if context.message_row_id is not None:
            search.index_message(context.connection, context.message_row_id)
