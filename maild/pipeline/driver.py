"""The pipeline driver: runs the steps for one job and turns outcomes into results.

This is the one place that catches the pipeline's final outcomes (a duplicate, a message
for quarantine). Database failures are NOT caught here: they propagate to the writer, which
fails the whole group as a temporary failure so every source retries.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from sqlalchemy import Connection

from maild.clock import Clock
from maild.pipeline.context import IntakeContext
from maild.pipeline.delivery import DeliveryResult, Job, Outcome
from maild.pipeline.errors import Duplicate, Handled, Unprocessable
from maild.pipeline.quarantine import find_held, mark_released, quarantine, update_reason
from maild.pipeline.steps import Step
from rules.config import RulesConfig

log = logging.getLogger(__name__)


class Pipeline:
    def __init__(
        self, steps: Sequence[Step], clock: Clock, policy: Callable[[], RulesConfig] | None = None
    ) -> None:
        self._steps = tuple(steps)
        self._clock = clock
        self._policy = policy or RulesConfig

    def process(self, connection: Connection, job: Job) -> DeliveryResult:
        """Run every step for ``job``; raises for the writer to quarantine or fail."""
        if job.parsed.problem is not None and job.parsed.bounce is None:
            # A delivery report goes on even without a usable sender (Courier writes
            # "From: <@>"): it is matched to its ticket by the bounce step, or quarantined.
            raise Unprocessable(job.parsed.problem)
        context = IntakeContext(
            connection=connection, job=job, now=self._clock.now(), policy=self._policy()
        )
        try:
            for step in self._steps:
                step(context)
        except Duplicate as duplicate:
            log.info(
                "duplicate %s for %s (ticket #%s): nothing stored",
                job.parsed.message_id,
                job.mailbox.address,
                duplicate.ticket_number,
            )
            return DeliveryResult(job.mailbox.address, Outcome.DUPLICATE, duplicate.ticket_number)
        except Handled as handled:
            if job.quarantine_id is not None and handled.ticket_id is not None:
                mark_released(connection, job.quarantine_id, handled.ticket_id)
            return handled.result
        assert context.ticket is not None
        number = context.ticket.number
        if job.quarantine_id is not None:
            mark_released(connection, job.quarantine_id, context.ticket.id)
        outcome = Outcome.NEW_TICKET if context.created else Outcome.REPLY
        log.info(
            "%s: ticket #%s from %s (%s)",
            outcome,
            number,
            context.sender,
            context.threaded_by or "new",
            extra={"ticket": number},
        )
        return DeliveryResult(job.mailbox.address, outcome, number, automated=context.automated)

    def quarantine(self, connection: Connection, job: Job, error: BaseException) -> DeliveryResult:
        """Keep the raw message with the reason; the source may then acknowledge it."""
        expected = isinstance(error, Unprocessable)
        reason = str(error) if expected else f"{type(error).__name__}: {error}"
        held_id = job.quarantine_id
        if held_id is None:
            held_id = find_held(connection, job.mailbox.address, job.delivery.raw)
        if held_id is None or not update_reason(connection, held_id, reason):
            held_id = quarantine(
                connection,
                job.delivery,
                job.mailbox.address,
                reason,
                self._clock.now(),
                None if expected else error,
            )
        if expected:
            log.warning("quarantined message %s for %s: %s", held_id, job.mailbox.address, reason)
        else:
            log.error(
                "quarantined message %s for %s after an error",
                held_id,
                job.mailbox.address,
                exc_info=error,
            )
        return DeliveryResult(job.mailbox.address, Outcome.QUARANTINED, quarantine_id=held_id)
