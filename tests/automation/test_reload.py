"""The running daemon reloads its rules file: a good edit takes effect for the next mail, a
bad one is logged and mailed to the admins while the previous rules keep running."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from maild.automation.reload import check_rules
from maild.clock import ManualClock
from maild.config import config_from_mapping
from tests.automation.helpers import AGENTS, TEAMS, text_of, tickets, to, write_rules_file
from tests.conftest import config_data
from tests.mails import customer_mail
from tests.support import DaemonThread, Sink

URGENT = {"name": "urgent-word", "when": {"subject": ["urgent"]}, "then": {"priority": "urgent"}}
REFUND = {"name": "refunds", "when": {"body": ["refund"]}, "then": {"tags": ["refund_request"]}}


def rules_file(path: Path, rules: list[dict[str, Any]]) -> None:
    write_rules_file(path, {"agents": AGENTS, "teams": TEAMS, "rules": rules})


def test_rules_file_reloads_good_edits_and_reports_bad_ones(
    tmp_path: Path,
    database_url: str,
    sink: Sink,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = tmp_path / "rules.toml"
    rules_file(path, [URGENT])
    data = config_data(tmp_path, database_url, sink.port)
    data["maild"].update(rules_file=str(path), admins=["admin@example.com"])
    daemon = DaemonThread(config_from_mapping(data), clock).start()
    try:
        mail = customer_mail(subject="urgent: I want a refund", body="A refund, please.\n")
        daemon.send(mail)

        rules_file(path, [URGENT, REFUND])  # a good edit
        check_rules(daemon.runtime)
        clock.advance(timedelta(minutes=1))
        daemon.send(customer_mail(subject="urgent again", body="Still a refund.\n"))

        path.write_text(path.read_text().replace('["refund"]', '"("'))  # a bad regex
        with caplog.at_level(logging.ERROR, logger="maild.automation.policy"):
            check_rules(daemon.runtime)
        clock.advance(timedelta(minutes=1))
        daemon.send(customer_mail(subject="urgent third", body="Refund me.\n"))
        daemon.flush_outbox()

        first, second, third = tickets(daemon)
        assert (first.priority, first.tags) == ("urgent", [])
        assert (second.priority, second.tags) == ("urgent", ["refund_request"])
        assert (third.priority, third.tags) == ("urgent", ["refund_request"])  # rules kept
        assert "rules not reloaded" in caplog.text
        [report] = to(sink.received, "admin@example.com")
        assert "rules file does not load" in report.message["Subject"]
        body = text_of(report)
        assert "rules[1].when.body: invalid regular expression '('" in body
        assert "previous rules keep running" in body

        check_rules(daemon.runtime)  # unchanged since: not reported again
        daemon.flush_outbox()
        assert len(to(sink.received, "admin@example.com")) == 1
    finally:
        daemon.stop()
