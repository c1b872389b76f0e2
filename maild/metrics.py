"""The Prometheus metrics of ``maild serve``, served at ``/metrics`` on the web listener.

Two kinds. What happens (messages received, intake latency, SLA warnings and breaches) is
counted in this process as it happens. What is waiting (outbox, quarantine, open tickets,
surveys) lives in the database, which several instances may share, so it is read at
scrape time by :class:`DatabaseLevels` rather than kept in step by hand.

Every metric lives in the :class:`Metrics` of one service, in a registry of its own: never
prometheus_client's global ``REGISTRY``, so two services in one process (the tests) each
count only their own mail. Imports prometheus_client, ``maild.pipeline`` values and
``storage.metrics``; nothing imports this but the service and the web listener.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from sqlalchemy import Engine

from maild.pipeline.delivery import Delivery, DeliveryResult, Outcome
from maild.pipeline.errors import TemporaryFailure
from storage.metrics import Levels, levels

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
"""The content type of :meth:`Metrics.exposition`."""

TEMPORARY_FAILURE = "temporary_failure"
"""The outcome of a message the source was told to send again (``451``, exit 75)."""
ERROR = "error"
"""The outcome of a message intake failed on unexpectedly (the source got a ``451`` too)."""
OUTCOMES = (*(outcome.value for outcome in Outcome), TEMPORARY_FAILURE)
WEBHOOK_OUTCOMES = ("delivered", "failed", "dead")
"""What became of a webhook delivery attempt: delivered, failed (tried again later), dead
(the last attempt failed: given up)."""
"""The outcomes each source's counter starts with at 0 (``error`` appears when it happens)."""

# From a few milliseconds (one message, an idle writer) to the tens of seconds a
# busy SQLite or a slow PostgreSQL can take.
INTAKE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def outcome_label(result: DeliveryResult | BaseException) -> str:
    """The ``outcome`` label of a settled delivery: its :class:`Outcome`, or why it failed."""
    if isinstance(result, DeliveryResult):
        return result.outcome.value
    return TEMPORARY_FAILURE if isinstance(result, TemporaryFailure) else ERROR


class Metrics:
    """One service's registry and the in-process metrics in it.

    ``sources``: the sources this service runs (``smtp``, ``lmtp``, ``imap``); their
    counters start at 0 for every outcome, so the first message is an increase a
    ``rate()`` sees, not a new series. ``levels``: reads the database's gauges at scrape
    time (None: no database gauges)."""

    def __init__(
        self,
        *,
        sources: Iterable[str] = (),
        levels: Callable[[], Levels] | None = None,
        webhooks: Iterable[str] = (),
    ) -> None:
        self.registry = CollectorRegistry()
        self.messages = Counter(
            "maild_messages_received",
            "Messages intake settled, by source and outcome (one per mailbox reached).",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.intake_seconds = Histogram(
            "maild_intake_seconds",
            "Seconds from a source handing a message in to the commit that stored it.",
            ["source"],
            buckets=INTAKE_BUCKETS,
            registry=self.registry,
        )
        self.sla_warnings = Counter(
            "maild_sla_warnings", "SLA warnings the sweep fired.", registry=self.registry
        )
        self.sla_breaches = Counter(
            "maild_sla_breaches", "SLA breaches the sweep fired.", registry=self.registry
        )
        self.webhook_deliveries = Counter(
            "maild_webhook_deliveries",
            "Webhook delivery attempts, by [[webhooks]] name and outcome (delivered; failed, "
            "tried again later; dead, given up).",
            ["webhook", "outcome"],
            registry=self.registry,
        )
        for name in webhooks:
            for webhook_outcome in WEBHOOK_OUTCOMES:
                self.webhook_deliveries.labels(name, webhook_outcome)
        for source in sources:
            self.intake_seconds.labels(source)
            for outcome in OUTCOMES:
                self.messages.labels(source, outcome)
        if levels is not None:
            self.registry.register(DatabaseLevels(levels))

    def settled(
        self, delivery: Delivery, result: DeliveryResult | BaseException, seconds: float
    ) -> None:
        """Count one delivery for one mailbox; a stored one also times its intake.
        (``IntakeService.on_settled`` calls it, from the writer's thread.)"""
        self.messages.labels(delivery.source, outcome_label(result)).inc()
        if isinstance(result, DeliveryResult):
            self.intake_seconds.labels(delivery.source).observe(seconds)

    def sla_fired(self, warnings: int, breaches: int) -> None:
        """Count what one SLA sweep fired."""
        self.sla_warnings.inc(warnings)
        self.sla_breaches.inc(breaches)

    def webhook_attempt(self, webhook: str, outcome: str) -> None:
        """Count one webhook delivery attempt (the worker calls it, on the event loop)."""
        self.webhook_deliveries.labels(webhook, outcome).inc()

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes. Reads the database: call it off the event
        loop."""
        return generate_latest(self.registry)


class DatabaseLevels(Collector):
    """The gauges read from the database at each scrape (``storage.metrics``).

    When the database does not answer, the scrape still succeeds with the in-process
    counters and ``maild_database_up 0`` instead of these gauges: a failed scrape would
    hide the counters too, and ``/healthz`` already says what is wrong."""

    def __init__(self, read: Callable[[], Levels]) -> None:
        self._read = read

    def describe(self) -> Iterator[Metric]:
        """The names, without reading the database (the registry asks at registration)."""
        yield from self._families(None, up=None)

    def collect(self) -> Iterator[Metric]:
        try:
            current: Levels | None = self._read()
        except Exception as error:
            log.warning("metrics: the database does not answer: %s", error)
            current = None
        yield from self._families(current, up=current is not None)

    @staticmethod
    def _families(current: Levels | None, *, up: bool | None) -> Iterator[Metric]:
        """The gauge families with ``current``'s samples (none for ``describe``)."""
        database_up = GaugeMetricFamily(
            "maild_database_up", "1 when this scrape could read the gauges from the database."
        )
        if up is not None:
            database_up.add_metric([], 1 if up else 0)
        outbox = GaugeMetricFamily(
            "maild_outbox_messages",
            "Outgoing mail waiting to be sent (pending) or given up on (dead).",
            labels=["status"],
        )
        held = GaugeMetricFamily(
            "maild_quarantine_messages", "Messages held in quarantine for a human."
        )
        tickets = GaugeMetricFamily(
            "maild_open_tickets",
            "Tickets in an open status (new, open, pending), by status and priority.",
            labels=["status", "priority"],
        )
        surveys = GaugeMetricFamily(
            "maild_surveys", "Satisfaction surveys, by status (sent, skipped).", labels=["status"]
        )
        rated = GaugeMetricFamily(
            "maild_surveys_rated", "Satisfaction surveys that brought back a rating."
        )
        if current is not None:
            for status, count in current.outbox.items():
                outbox.add_metric([status], count)
            held.add_metric([], current.quarantined)
            for (status, priority), count in sorted(current.open_tickets.items()):
                tickets.add_metric([status, priority], count)
            for status, count in sorted(current.surveys.items()):
                surveys.add_metric([status], count)
            rated.add_metric([], current.rated)
        yield database_up
        yield outbox
        yield held
        yield tickets
        yield surveys
        yield rated


def database_levels(engine: Engine) -> Callable[[], Levels]:
    """Reads :class:`Levels` in one short read transaction of ``engine``."""

    def read() -> Levels:
        with engine.connect() as connection:
            return levels(connection)

    return read
