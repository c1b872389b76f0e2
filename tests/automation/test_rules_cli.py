"""``maild rules check`` and ``maild rules test`` on real files (and a real database)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from sqlalchemy import select

from maild.cli import cli
from maild.clock import ManualClock
from maild.config import load_config
from storage.models import AssignmentCursor
from tests.automation.helpers import (
    AGENTS,
    REFUND_RULE,
    SECURITY_RULE,
    TEAMS,
    TIERS,
    VIP_RULE,
    tickets,
    write_rules_file,
)
from tests.conftest import config_data
from tests.mails import customer_mail
from tests.support import DaemonThread, Sink

ROUND_ROBIN = {"name": "to-support", "then": {"assign": "support"}}


def write_config(tmp_path: Path, database_url: str, rules: list[dict[str, Any]]) -> Path:
    data = config_data(tmp_path, database_url)
    data.update(
        agents=AGENTS,
        teams=TEAMS,
        rules=rules,
        escalation={"tiers": TIERS},
        vip={"domains": ["bigcorp.example"]},
    )
    path = tmp_path / "config.toml"
    write_rules_file(path, data)
    return path


def run(path: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["-c", str(path), "rules", *args])


def eml(tmp_path: Path, name: str = "mail.eml", **mail: Any) -> Path:
    path = tmp_path / name
    path.write_bytes(customer_mail(**mail))
    return path


def test_rules_check_counts_what_it_validated(tmp_path: Path, sqlite_url: str) -> None:
    path = write_config(tmp_path, sqlite_url, [SECURITY_RULE, REFUND_RULE, VIP_RULE])
    result = run(path, "check")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "OK: 3 rules, 4 agents, 3 teams, 4 tiers"


def test_rules_check_names_the_key_of_a_bad_regex(tmp_path: Path, sqlite_url: str) -> None:
    bad = {"name": "broken", "when": {"subject": "("}, "then": {"priority": "high"}}
    unknown = {"name": "typo", "then": {"priority": "critical"}}
    path = write_config(tmp_path, sqlite_url, [bad, unknown])
    result = run(path, "check")
    assert result.exit_code == 1
    assert (
        "rules[0].when.subject: invalid regular expression '(': "
        "missing ), unterminated subpattern at position 0"
    ) in result.stderr
    assert "rules[1].then.priority: unknown priority 'critical'" in result.stderr
    assert "OK" not in result.output


def test_rules_test_shows_matches_actions_and_sla_and_stores_nothing(
    tmp_path: Path, sqlite_url: str
) -> None:
    path = write_config(tmp_path, sqlite_url, [SECURITY_RULE, REFUND_RULE, ROUND_ROBIN])
    mail = eml(tmp_path, to="billing@example.com", subject="Invoice", body="A refund, please.\n")
    result = run(path, "test", str(mail), "--at", "2026-03-02T09:00:00+00:00", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)

    matched = {item["rule"]: item["matched"] for item in report["rules"]}
    assert matched == {"security": False, "refunds": True, "to-support": True}
    assert report["ticket"]["priority"] == "high"
    assert report["ticket"]["tags"] == ["refund_request"]
    assert report["assignment"]["agent"] == "alice@example.com"
    sla = {item["target"]: item for item in report["sla"]}
    # high: first response 2 h, resolution 24 h, around the clock (no business hours).
    assert sla["first_response"]["deadline"] == "2026-03-02T11:00:00+00:00"
    assert sla["first_response"]["warn_at"] == "2026-03-02T10:30:00+00:00"
    assert sla["resolution"]["deadline"] == "2026-03-03T09:00:00+00:00"
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists()  # nothing stored

    text = run(path, "test", str(mail), "--at", "2026-03-02T09:00:00")
    assert text.exit_code == 0, text.output
    assert "MATCH refunds" in text.output
    assert "body contains 'refund'" in text.output
    assert "priority high (rule 'refunds')" in text.output
    assert "Assignee: alice@example.com (round_robin" in text.output
    assert "first_response: 2h00m, due 2026-03-02T11:00:00+00:00" in text.output


def test_rules_test_security_mail_goes_to_l4(tmp_path: Path, sqlite_url: str) -> None:
    path = write_config(tmp_path, sqlite_url, [SECURITY_RULE, REFUND_RULE])
    mail = eml(tmp_path, subject="We were hacked", body="Help.\n")
    report = json.loads(run(path, "test", str(mail), "--json").output)
    assert report["ticket"]["priority"] == "urgent"
    assert report["ticket"]["tier"] == "L4"
    assert [item["rule"] for item in report["rules"]] == ["security"]  # stop = true
    assert {item["target"]: item["goal"] for item in report["sla"]} == {
        "first_response": "1h00m",
        "resolution": "4h00m",
    }


def test_rules_test_reads_workloads_from_the_database_without_writing(
    tmp_path: Path, database_url: str, sink: Sink, clock: ManualClock
) -> None:
    path = write_config(tmp_path, database_url, [ROUND_ROBIN])
    daemon = DaemonThread(load_config(path), clock).start()
    try:
        for n in range(2):
            clock.advance(timedelta(minutes=1))
            daemon.send(customer_mail(subject=f"question {n}"))
        mail = eml(tmp_path, subject="question 3")
        for _ in range(2):  # the same answer twice: the cursor was not moved
            report = json.loads(run(path, "test", str(mail), "--json").stdout)
            assert report["assignment"]["agent"] == "carol@example.com"
        assert len(tickets(daemon)) == 2
        with daemon.runtime.sessions() as session:
            assert session.scalars(select(AssignmentCursor.position)).one() == 1
    finally:
        daemon.stop()
