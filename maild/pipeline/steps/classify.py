"""Marks mail that must never be answered automatically (invariant 3)."""

from __future__ import annotations

from maild.pipeline.context import IntakeContext
from maild.pipeline.mailboxes import MailboxDirectory
from storage.models import MessageKind


class ClassifyAutomated:
    """What the parser recognised (auto-replies, bulk, bounces), plus what only the
    envelope and our own addresses show: the null sender, mail from ourselves, a loop."""

    name = "classify"

    def __init__(self, mailboxes: MailboxDirectory) -> None:
        self._mailboxes = mailboxes

    def __call__(self, context: IntakeContext) -> None:
        parsed = context.parsed
        reason = parsed.automated
        if reason is None and context.job.delivery.mail_from.strip("<> ") == "":
            reason = "null-sender"
        if reason is None and self._mailboxes.is_ours(context.sender):
            reason = "own-address"
        if reason is None and any(
            self._mailboxes.is_ours(value.strip()) for value in parsed.header_values("X-Loop")
        ):
            reason = "loop"
        context.automated = reason
        if reason is not None:
            context.kind = MessageKind.SYSTEM
