"""The pipeline driver: runs the chains of steps for one job and turns outcomes into results.

The steps come as data, a :class:`Chains` value built in one place (:mod:`maild.chains`):
the driver knows no step by name, so this package depends on none of the packages whose
steps it runs.

This is the one place that catches the pipeline's final outcomes (a duplicate, a message
for quarantine, a job a step finished itself). Database failures are NOT caught here: they
propagate to the writer, which fails the whole group as a temporary failure so every source
retries.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection

from maild.clock import Clock
from maild.pipeline.context import IntakeContext
from maild.pipeline.delivery import DeliveryResult, Job, Outcome
from maild.pipeline.errors import Duplicate, Handled, Unprocessable
from maild.pipeline.quarantine import find_held, mark_released, quarantine, update_reason
from maild.pipeline.steps import Step
from rules.config import RulesConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Chains:
    """The intake as data: ``first`` runs for every job and says who sent the mail and which
    ticket it continues; then ``agent`` runs for a trusted agent's mail, ``customer`` for
    everything else (customers, strangers, automated mail)."""

    first: tuple[Step, ...]
    customer: tuple[Step, ...]
    agent: tuple[Step, ...] = ()

    def after_first(self, context: IntakeContext) -> tuple[Step, ...]:
        """The chain that carries the job on once ``first`` has run. Imported history
        takes the customer chain whoever wrote it: an old agent's mail runs no command and
        is relayed to nobody, only stored as the agent's."""
        if context.job.delivery.history is not None:
            return self.customer
        return self.agent if context.agent is not None and self.agent else self.customer


class Pipeline:
    def __init__(
        self, chains: Chains, clock: Clock, policy: Callable[[], RulesConfig] | None = None
    ) -> None:
        self._chains = chains
        self._clock = clock
        self._policy = policy or RulesConfig

    @property
    def chains(self) -> Chains:
        return self._chains

    def process(self, connection: Connection, job: Job) -> DeliveryResult:
        """Run every step for ``job``; raises for the writer to quarantine or fail."""
        if job.parsed.problem is not None and job.parsed.bounce is None:
            # A delivery report goes on even without a usable sender (Courier writes
            # "From: <@>"): it is matched to its ticket by the bounce step, or quarantined.
            raise Unprocessable(job.parsed.problem)
        now = self._clock.now()
        history = job.delivery.history
        if history is not None:  # old mail keeps its own date (created_at, events, ...)
            now = history.date_of(job.parsed.date, now)
        context = IntakeContext(connection=connection, job=job, now=now, policy=self._policy())
        try:
            for step in self._chains.first:
                step(context)
            for step in self._chains.after_first(context):
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
