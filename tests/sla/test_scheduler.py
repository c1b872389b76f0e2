"""The scheduler inside ``maild serve`` runs the SLA sweep and the rules reload on its own,
and stops with the daemon. (Other tests run the sweep by hand at a moved clock; here the
jobs run every 50 ms of real time and the test waits for their work, as for the outbox.)"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from maild.clock import ManualClock
from maild.config import config_from_mapping
from tests.conftest import config_data
from tests.mails import customer_mail
from tests.sla.conftest import POLICY, edit, events, text_of
from tests.support import DaemonThread, Sink, eventually, write_toml

RULES = '[sla.policies.medium]\nfirst_response = "1h"\nresolution = "8h"\n'


def write_rules(path: Path, teams: list[dict[str, str]]) -> None:
    write_toml({"teams": teams, "agents": POLICY["agents"]}, path)
    with path.open("a") as out:
        out.write(RULES)


def test_scheduled_sweep_and_rules_reload(
    tmp_path: Path,
    database_url: str,
    sink: Sink,
    clock: ManualClock,
    start_daemon: Callable[..., DaemonThread],
) -> None:
    rules = tmp_path / "rules.toml"
    write_rules(rules, POLICY["teams"])
    data = config_data(tmp_path, database_url, sink.port)
    data["maild"]["rules_file"] = str(rules)
    data["scheduler"] = {"sla_interval": 0.05, "reload_interval": 0.05}
    daemon = start_daemon(config_from_mapping(data))
    assert daemon.service.scheduler is not None and daemon.service.scheduler.running

    daemon.send(customer_mail())
    edit(daemon.runtime, 1000, lambda e: e.assign("alice@example.com", "support"), "agent:x")
    clock.advance(timedelta(minutes=46))
    assert eventually(lambda: len(events(daemon.runtime, "sla.warning")) == 1)
    # The sweep wakes the outbox: the warning is sent without a flush by the test.
    assert eventually(lambda: any("SLA warning" in text_of(mail) for mail in sink.received))

    write_rules(rules, [*POLICY["teams"], {"name": "night-shift"}])
    assert eventually(lambda: "night-shift" in daemon.runtime.policy.current.teams_by_name)

    scheduler = daemon.service.scheduler
    daemon.stop()
    assert not scheduler.running
    assert len(events(daemon.runtime, "sla.warning")) == 1
