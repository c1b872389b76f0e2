"""The customer's acknowledgement of a new ticket (never for automated mail, invariant 3)."""

from __future__ import annotations

from maild.pipeline.acknowledge import Acknowledger
from maild.pipeline.context import IntakeContext


class Acknowledge:
    """Queues the acknowledgement of a new ticket through :class:`Acknowledger`, and records
    whether it went out or why not (a quiet source, a bouncing address, the hourly limit)."""

    name = "acknowledge"

    def __init__(self, acknowledger: Acknowledger) -> None:
        self._acknowledger = acknowledger

    def __call__(self, context: IntakeContext) -> None:
        if not context.created or context.automated is not None:
            return
        if not context.job.delivery.notify:
            context.record("acknowledgement.skipped", reason="notifications off for this source")
            return
        history = context.job.delivery.history
        if history is not None and (history.status == "closed" or context.kind != "customer"):
            # --notify acknowledges only the imported tickets left open, and only customers.
            context.record("acknowledgement.skipped", reason="imported as closed history")
            return
        held_back = self._acknowledger.queue(context)
        if held_back is None:
            context.record("acknowledgement.queued", to=context.sender)
        else:
            context.record("acknowledgement.skipped", reason=held_back)
