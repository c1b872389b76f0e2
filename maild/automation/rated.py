"""A satisfaction rating fires the rules that name ``ticket.rated`` (and only those)."""

from __future__ import annotations

from collections.abc import Callable

from maild.automation.actions import TicketWork
from maild.automation.apply import listens, run_rules
from maild.ticketing.editor import TicketEditor
from maild.ticketing.notify import Notifier
from rules.config import RulesConfig
from rules.model import Event, EventKind

FireRated = Callable[[TicketEditor, RulesConfig, str], None]


def rated_rules(notifier: Notifier) -> FireRated:
    """What to call with a ticket's editor, the rules in force and the rating given."""

    def fire(editor: TicketEditor, policy: RulesConfig, rating: str) -> None:
        if not listens(policy, EventKind.RATED):
            return
        work = TicketWork(editor.connection, policy, notifier, editor.now)
        event = Event(EventKind.RATED, mailbox=editor.record.mailbox, rating=rating)
        run_rules(work, editor, event)

    return fire
