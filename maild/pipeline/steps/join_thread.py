"""Whoever proved they received our mail joins the ticket as a Cc (invariant 6)."""

from __future__ import annotations

from maild.config import Config
from maild.pipeline.context import IntakeContext
from maild.pipeline.mailboxes import MailboxDirectory
from maild.pipeline.participation import accept_cc


class JoinThread:
    """A sender who answered one of our Message-IDs or wrote to the token address, and is
    not on the ticket yet, joins it as a Cc, within ``[maild] max_cc``
    (:mod:`maild.pipeline.participation`)."""

    name = "join-thread"

    def __init__(self, config: Config, mailboxes: MailboxDirectory) -> None:
        self._max_cc = config.maild.max_cc
        self._mailboxes = mailboxes

    def __call__(self, context: IntakeContext) -> None:
        if context.created or context.automated is not None or context.suspect:
            return
        if context.threaded_by not in ("message-id", "reply-token"):
            return
        from_ = context.parsed.from_
        if from_ is not None:
            accept_cc(context, [from_], max_cc=self._max_cc, excluded=self._mailboxes.is_ours)
