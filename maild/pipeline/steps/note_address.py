"""Mail to the note address that is not a trusted agent's goes to quarantine."""

from __future__ import annotations

from maild.config import Config
from maild.pipeline.context import IntakeContext
from maild.pipeline.errors import Unprocessable
from maild.pipeline.mailboxes import addressed_to


class RefuseStrangerNotes:
    """``[maild] note_address`` is for agents' internal notes. Mail to it from anyone else
    (a customer, a forged agent address) is held in quarantine, unanswered: no backscatter
    to a sender who may be forged, and a human can retry it."""

    name = "note-address"

    def __init__(self, config: Config) -> None:
        self._note_address = config.maild.note_address

    def __call__(self, context: IntakeContext) -> None:
        if self._note_address is None:
            return
        if addressed_to(context.job.delivery.rcpt_tos, self._note_address):
            raise Unprocessable("mail to the note address from someone who is not a trusted agent")
