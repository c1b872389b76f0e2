"""``maild sla show`` and ``maild sla sweep`` on a ticket the daemon stored."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from maild.cli import cli
from tests.conftest import config_data
from tests.mails import customer_mail
from tests.sla.conftest import POLICY
from tests.support import DaemonThread, Sink, write_toml


def cli_config(tmp_path: Path, database_url: str, sink: Sink) -> Path:
    """The daemon's configuration as a file (the SLA table written out by hand: the test
    TOML writer knows no nested tables)."""
    data = config_data(tmp_path, database_url, sink.port)
    data["teams"] = POLICY["teams"]
    data["agents"] = POLICY["agents"]
    path = tmp_path / "maild.toml"
    write_toml(data, path)
    with path.open("a") as out:
        out.write('[sla.policies.medium]\nfirst_response = "1h"\nresolution = "8h"\n')
    return path


def run(path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["-c", str(path), "sla", *args])
    return result.exit_code, result.stdout if result.exit_code == 0 else result.output


def test_sla_show_and_sweep(
    daemon: DaemonThread, sink: Sink, tmp_path: Path, database_url: str
) -> None:
    daemon.send(customer_mail())  # ticket 1000 at 2026-03-02 09:00 UTC
    path = cli_config(tmp_path, database_url, sink)

    code, output = run(path, "show", "1000", "--json", "--at", "2026-03-02T09:50:00+00:00")
    assert code == 0, output
    shown = json.loads(output)
    assert shown["state"] == "at_risk"
    first, resolution = shown["targets"]
    assert first["target"] == "first_response"
    assert first["deadline"] == "2026-03-02T10:00:00+00:00"
    assert first["warn_at"] == "2026-03-02T09:45:00+00:00"
    assert (first["elapsed_seconds"], first["remaining_seconds"]) == (3000, 600)
    assert first["state"] == "at_risk"
    assert resolution["deadline"] == "2026-03-02T17:00:00+00:00"
    assert resolution["state"] == "on_track"
    assert shown["paused"] is False and shown["paused_seconds"] == 0

    code, output = run(path, "show", "1000", "--at", "2026-03-02T09:50:00")
    assert code == 0, output
    assert "SLA at risk" in output
    assert "first response" in output

    code, output = run(path, "sweep", "--json", "--at", "2026-03-02T10:01:00Z")
    assert code == 0, output
    swept = json.loads(output)
    assert (swept["open_tickets"], swept["due_tickets"], swept["fired"]) == (1, 1, 2)
    code, output = run(path, "sweep", "--json", "--at", "2026-03-02T10:02:00Z")
    assert json.loads(output)["fired"] == 0

    code, output = run(path, "show", "1000", "--json", "--at", "2026-03-02T10:01:00Z")
    shown = json.loads(output)
    assert shown["state"] == "breached"
    assert shown["fired"] == ["first_response.breach", "first_response.warning"]

    code, output = run(path, "show", "9999")
    assert code == 1
    assert "no ticket #9999" in output
