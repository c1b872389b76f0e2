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
from storage.models import AssignmentCursor, OutboxMessage
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
    assert "first_response: 2 h, due 2026-03-02T11:00:00+00:00" in text.output


def test_rules_test_security_mail_goes_to_l4(tmp_path: Path, sqlite_url: str) -> None:
    path = write_config(tmp_path, sqlite_url, [SECURITY_RULE, REFUND_RULE])
    mail = eml(tmp_path, subject="We were hacked", body="Help.\n")
    report = json.loads(run(path, "test", str(mail), "--json").output)
    assert report["ticket"]["priority"] == "urgent"
    assert report["ticket"]["tier"] == "L4"
    assert [item["rule"] for item in report["rules"]] == ["security"]  # stop = true
    assert {item["target"]: item["goal"] for item in report["sla"]} == {
        "first_response": "1 h",
        "resolution": "4 h",
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


REPLY_RULE = {
    "name": "urgent replies",
    "when": {"event": "ticket.customer_replied", "body": "still broken"},
    "then": {"priority": "urgent"},
}


def test_rules_test_runs_intake_itself_linked_tickets_replies_and_no_number_taken(
    tmp_path: Path, database_url: str, sink: Sink, clock: ManualClock
) -> None:
    """Regression: the command built every mail as a new ticket of its own; now it is live
    intake on a copy of the database: a stranger's tag links, a participant's reply is a
    reply (and runs the reply rules), and no ticket number is used up."""
    path = write_config(tmp_path, database_url, [REFUND_RULE, REPLY_RULE])
    daemon = DaemonThread(load_config(path), clock).start()
    try:
        daemon.send(customer_mail(subject="Printer on fire"))  # #1000, from Ada
        stranger = eml(
            tmp_path,
            "stranger.eml",
            sender="Eve <eve@stranger.example>",
            subject="Re: [ACME #1000] Printer on fire",
            body="Me too, still broken.\n",
        )
        report = json.loads(run(path, "test", str(stranger), "--json").stdout)
        assert report["outcome"] == "new_ticket"
        assert (report["ticket"]["number"], report["ticket"]["linked_to"]) == (1001, 1000)
        assert {item["rule"]: item["matched"] for item in report["rules"]} == {
            "refunds": False,
            "urgent replies": False,  # a new ticket: not ticket.customer_replied
        }
        would_send = [(mail["kind"], mail["to"]) for mail in report["would_send"]]
        assert would_send[0] == ("acknowledgement", ["eve@stranger.example"])
        assert {kind for kind, _ in would_send[1:]} == {"notification"}  # to the agents
        text = run(path, "test", str(stranger)).stdout
        assert "a new ticket #1001, linked to #1000" in text
        assert "nothing was stored, nothing was sent" in text

        reply = eml(
            tmp_path,
            "reply.eml",
            subject="Re: [ACME #1000] Printer on fire",
            body="It is still broken.\n",
        )
        report = json.loads(run(path, "test", str(reply), "--json").stdout)
        assert (report["outcome"], report["ticket"]["number"]) == ("reply", 1000)
        assert report["ticket"]["priority"] == "urgent"
        assert [item["rule"] for item in report["rules"] if item["matched"]] == ["urgent replies"]
        assert "acknowledgement" not in {mail["kind"] for mail in report["would_send"]}

        # Nothing of it was stored, and the next ticket gets the number the test showed.
        assert [ticket.number for ticket in tickets(daemon)] == [1000]
        assert tickets(daemon)[0].priority == "medium"
        daemon.send(customer_mail(sender="Eve <eve@stranger.example>", subject="New one"))
        assert [ticket.number for ticket in tickets(daemon)] == [1000, 1001]
        with daemon.runtime.sessions() as session:
            to_eve = session.scalars(
                select(OutboxMessage.ticket_id).where(
                    OutboxMessage.primary_recipient == "eve@stranger.example"
                )
            ).all()
        assert len(to_eve) == 1  # the real ticket's acknowledgement only
    finally:
        daemon.stop()


def test_rules_test_on_a_mail_that_is_stored_already_says_so(
    tmp_path: Path, sqlite_url: str, sink: Sink, clock: ManualClock
) -> None:
    path = write_config(tmp_path, sqlite_url, [REFUND_RULE])
    raw = customer_mail(message_id="<once@customer.example>")
    daemon = DaemonThread(load_config(path), clock).start()
    try:
        daemon.send(raw)
    finally:
        daemon.stop()
    mail = tmp_path / "again.eml"
    mail.write_bytes(raw)
    report = json.loads(run(path, "test", str(mail), "--json").stdout)
    assert (report["outcome"], report["ticket"]["number"]) == ("duplicate", 1000)
    assert report["rules"] == [] and report["would_send"] == []
    assert "a duplicate" in report["notes"][0]
