"""``/metrics`` on the web listener of a running daemon: real mail over SMTP and LMTP, and
the SLA sweep, move what prometheus_client's own parser reads back from a real HTTP
scrape; the gauges count what the database holds. (The gauges' queries and their plans:
tests/storage/test_metrics.py.)"""

from __future__ import annotations

import smtplib
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import prometheus_client
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from maild.clock import ManualClock
from maild.config import Config
from maild.metrics import DatabaseLevels, Metrics
from storage.metrics import Levels
from tests.conftest import make_config
from tests.mails import customer_mail
from tests.sla.conftest import sla_config
from tests.support import DaemonThread, Sink

# No From header: quarantined on every delivery (as in test_quarantine_dedup).
NO_FROM = (
    b"To: support@example.com\r\nSubject: who am I\r\nMessage-ID: <anon@x.example>\r\n\r\nHi\r\n"
)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(exposition: str) -> Samples:
    """The text format as prometheus_client's own parser reads it: value by (name, labels)."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def scrape(daemon: DaemonThread) -> Samples:
    """``GET /metrics`` on the daemon's web listener, parsed."""
    assert daemon.service.web is not None
    url = f"http://127.0.0.1:{daemon.service.web.port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == prometheus_client.CONTENT_TYPE_LATEST
        return parse(response.read().decode())


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every series of ``name`` that has ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, have), v in samples.items() if n == name and wanted <= have)


@pytest.fixture
def config(tmp_path: Path, database_url: str, sink: Sink) -> Config:
    return make_config(tmp_path, database_url, sink.port, web={"listen": "127.0.0.1:0"})


def test_smtp_mail_moves_the_counter_the_histogram_and_the_open_tickets(
    daemon: DaemonThread,
) -> None:
    before = scrape(daemon)
    assert value(before, "maild_messages_received_total", source="smtp", outcome="new_ticket") == 0
    assert value(before, "maild_database_up") == 1
    assert total(before, "maild_open_tickets") == 0

    assert daemon.send(customer_mail()) == {}  # the 250 comes after the commit
    after = scrape(daemon)

    received = "maild_messages_received_total"
    assert total(after, received, source="smtp") - total(before, received, source="smtp") == 1
    assert value(after, received, source="smtp", outcome="new_ticket") == 1
    assert value(after, "maild_intake_seconds_count", source="smtp") == 1
    assert 0 < value(after, "maild_intake_seconds_sum", source="smtp") < 10
    assert total(after, received, source="lmtp") == 0
    with daemon.runtime.engine.connect() as connection:
        status, priority = connection.execute(
            text("SELECT status, priority FROM tickets WHERE number = 1000")
        ).one()
    assert value(after, "maild_open_tickets", status=status, priority=priority) == 1
    assert total(after, "maild_open_tickets") == 1
    assert value(after, "maild_quarantine_messages") == 0


def test_quarantined_mail_shows_its_outcome_and_the_quarantine_size(
    daemon: DaemonThread,
) -> None:
    assert daemon.send(NO_FROM) == {}
    samples = scrape(daemon)
    assert (
        value(samples, "maild_messages_received_total", source="smtp", outcome="quarantined") == 1
    )
    assert total(samples, "maild_messages_received_total") == 1
    assert value(samples, "maild_quarantine_messages") == 1
    assert total(samples, "maild_open_tickets") == 0


def test_duplicate_and_lmtp_are_counted_apart(daemon: DaemonThread) -> None:
    mail = customer_mail(message_id="<same@customer.example>")
    assert daemon.send(mail) == {}
    # The same message again, now over LMTP: stored once, counted as LMTP's duplicate.
    with smtplib.LMTP("127.0.0.1", daemon.lmtp_port, timeout=10) as client:
        assert client.sendmail("customer@example.org", ["support@example.com"], mail) == {}
    samples = scrape(daemon)
    received = "maild_messages_received_total"
    assert value(samples, received, source="smtp", outcome="new_ticket") == 1
    assert value(samples, received, source="lmtp", outcome="duplicate") == 1
    assert total(samples, received) == 2
    assert total(samples, "maild_open_tickets") == 1


def test_the_service_keeps_its_metrics_out_of_the_global_registry(
    daemon: DaemonThread,
) -> None:
    assert daemon.send(customer_mail()) == {}
    assert scrape(daemon)
    names = {metric.name for metric in prometheus_client.REGISTRY.collect()}
    assert not any(name.startswith("maild_") for name in names)


# -- SLA -------------------------------------------------------------------------------------


@pytest.fixture
def sla_daemon(
    tmp_path: Path, database_url: str, sink: Sink, clock: ManualClock
) -> Iterator[DaemonThread]:
    config = sla_config(tmp_path, database_url, sink, web={"listen": "127.0.0.1:0"})
    running = DaemonThread(config, clock).start()
    yield running
    running.stop()


def test_sla_warnings_and_breaches_are_counted_apart(
    sla_daemon: DaemonThread, clock: ManualClock
) -> None:
    daemon = sla_daemon
    assert daemon.send(customer_mail()) == {}
    assert value(scrape(daemon), "maild_sla_warnings_total") == 0

    clock.advance(timedelta(minutes=46))  # past 75 % of the one-hour first response
    run = daemon.service.run_sla_sweep()
    assert (run.sweep.warnings, run.sweep.breaches, run.sweep.fired) == (1, 0, 1)
    samples = scrape(daemon)
    assert value(samples, "maild_sla_warnings_total") == 1
    assert value(samples, "maild_sla_breaches_total") == 0

    clock.advance(timedelta(minutes=15))
    run = daemon.service.run_sla_sweep()
    assert (run.sweep.warnings, run.sweep.breaches) == (0, 1)
    daemon.service.run_sla_sweep()  # nothing twice
    samples = scrape(daemon)
    assert value(samples, "maild_sla_warnings_total") == 1
    assert value(samples, "maild_sla_breaches_total") == 1


# -- without a database ----------------------------------------------------------------------


def test_a_database_that_does_not_answer_leaves_the_counters(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken() -> Levels:
        raise OSError("connection refused")

    metrics = Metrics(sources=["smtp"], levels=broken)
    samples = parse(metrics.exposition().decode())
    assert value(samples, "maild_database_up") == 0
    labels = frozenset({("source", "smtp"), ("outcome", "reply")})
    assert ("maild_messages_received_total", labels) in samples
    assert not any(name == "maild_open_tickets" for name, _ in samples)
    assert "does not answer" in caplog.text
    assert list(DatabaseLevels(broken).describe())  # the names, without asking the database
