"""Outgoing mail given up on (issue 15): a 5xx from the relay parks it at once with the
relay's answer in ``maild outbox``; mail still undelivered after ``[outbound] max_lifetime``
is parked too; either way the admins are told once, and ``maild outbox retry`` sends it
again. Through the daemon with real SMTP, read back from the sink, on the injected clock."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from maild.cli import cli
from maild.clock import ManualClock
from maild.config import Config, config_from_mapping
from storage.models import OutboxMessage, OutboxStatus
from tests.conftest import config_data
from tests.mails import customer_mail
from tests.support import DaemonThread, Received, Sink, eventually, write_toml

JANE = "jane@customer.example"
OPS = "ops@example.com"


@pytest.fixture
def data(tmp_path: Path, database_url: str, sink: Sink) -> dict:
    return config_data(
        tmp_path,
        database_url,
        sink.port,
        maild={"admins": [OPS]},
        outbound={"max_lifetime": "2d", "max_backoff": "4h"},
    )


@pytest.fixture
def config(data: dict) -> Config:
    return config_from_mapping(data)


@pytest.fixture
def config_file(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "maild.toml"
    write_toml(data, path)
    return path


def outbox(daemon: DaemonThread) -> list[OutboxMessage]:
    with daemon.runtime.sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def acknowledgement(daemon: DaemonThread) -> OutboxMessage:
    [row] = [row for row in outbox(daemon) if row.kind == "acknowledgement"]
    return row


def notices(sink: Sink) -> list[Received]:
    return [r for r in sink.received if OPS in r.rcpt_tos and "delivered" in r.message["Subject"]]


def outbox_cli(config_file: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["-c", str(config_file), "outbox", *args])
    assert result.exit_code == 0, result.output
    return result.output


def new_ticket(daemon: DaemonThread) -> None:
    daemon.send(customer_mail(subject="Printer on fire", sender=f"Jane <{JANE}>"), mail_from=JANE)


def test_a_5xx_parks_the_mail_at_once_tells_the_admins_once_and_retry_sends_it(
    daemon: DaemonThread, sink: Sink, clock: ManualClock, config_file: Path
) -> None:
    sink.handler.rcpt_replies = {JANE: "550 5.1.1 <jane@customer.example>: no such user"}
    new_ticket(daemon)
    assert eventually(lambda: acknowledgement(daemon).status == OutboxStatus.DEAD)
    dead = acknowledgement(daemon)
    assert dead.attempts == 1
    assert dead.last_error is not None and "550 5.1.1" in dead.last_error

    assert eventually(lambda: len(notices(sink)) == 1)
    [notice] = notices(sink)
    text = notice.message.get_content()
    assert f"outbox #{dead.id}  [ACME #1000]  (acknowledgement)" in text
    assert JANE in text and "550 5.1.1" in text
    assert f"maild outbox retry {dead.id}" in text
    assert str(notice.message["Subject"]) == "[maild] an outgoing message could not be delivered"

    daemon.service.flush_outbox()  # the flush that sent the notice has recorded it
    listed = json.loads(outbox_cli(config_file, "--json"))
    assert [(r["id"], r["status"]) for r in listed] == [(dead.id, "dead")]
    assert "550 5.1.1" in listed[0]["last_error"]

    # Still refused: retried by hand, dead again, and the admins are not told twice.
    assert f"#{dead.id}: due now" in outbox_cli(config_file, "retry", str(dead.id))
    daemon.service.flush_outbox()
    again = acknowledgement(daemon)
    assert (again.status, again.attempts) == (OutboxStatus.DEAD, 1)
    assert again.retried_at is not None
    daemon.service.flush_outbox()
    assert len(notices(sink)) == 1

    # The address is fixed: the retry delivers.
    sink.handler.rcpt_replies = {}
    outbox_cli(config_file, "retry", "--dead")
    daemon.service.flush_outbox()
    assert acknowledgement(daemon).status == OutboxStatus.SENT
    assert [r.rcpt_tos for r in sink.received if JANE in r.rcpt_tos] == [(JANE,)]
    assert json.loads(outbox_cli(config_file, "--json")) == []


def test_mail_undelivered_for_its_lifetime_is_parked_and_the_admins_told_once(
    daemon: DaemonThread, sink: Sink, clock: ManualClock, config_file: Path
) -> None:
    sink.handler.rcpt_replies = {JANE: "451 4.4.1 no answer from host"}
    new_ticket(daemon)
    assert eventually(lambda: acknowledgement(daemon).attempts >= 1)
    queued_at = acknowledgement(daemon).created_at
    waits = []
    while acknowledgement(daemon).status == OutboxStatus.PENDING:
        due = acknowledgement(daemon).next_attempt_at
        waits.append(due - clock.now())
        clock.advance(max(due - clock.now(), timedelta(0)))
        daemon.service.flush_outbox()
        assert len(waits) < 100
    dead = acknowledgement(daemon)
    assert dead.status == OutboxStatus.DEAD
    assert clock.now() - queued_at == timedelta(days=2)  # [outbound] max_lifetime
    assert max(waits) == timedelta(hours=4)  # [outbound] max_backoff
    assert dead.last_error is not None and "451 4.4.1" in dead.last_error

    assert eventually(lambda: len(notices(sink)) == 1)
    [notice] = notices(sink)
    text = notice.message.get_content()
    assert "still undelivered 2 days after being queued" in text
    assert f"maild outbox retry {dead.id}" in text
    clock.advance(timedelta(days=1))
    daemon.service.flush_outbox()
    assert len(notices(sink)) == 1
    assert [r for r in sink.received if JANE in r.rcpt_tos] == []


def test_max_attempts_is_gone_with_a_message_that_says_what_replaced_it(tmp_path: Path) -> None:
    from maild.config import ConfigError, load_config

    path = tmp_path / "old.toml"
    data = config_data(tmp_path, f"sqlite:///{tmp_path}/x.db", outbound={"max_attempts": 8})
    write_toml(data, path)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert "outbound: max_attempts = 8 is gone" in str(raised.value)
    assert "max_lifetime" in str(raised.value) and "max_backoff" in str(raised.value)


def test_half_written_files_in_the_outbound_folder_are_removed_at_start(
    tmp_path: Path, database_url: str, clock: ManualClock
) -> None:
    """Without a relay, mail goes to files in the outbound folder; a SIGKILL in the middle
    of writing one leaves its hidden temporary file, which a start removes (the message
    itself is still pending in the outbox and is written again)."""
    config = config_from_mapping(config_data(tmp_path, database_url))  # no relay: a folder
    folder = config.outbound_dir
    folder.mkdir(parents=True)
    partial = folder / ".20261205T062600.000000Z-0123abcd.eml.tmp"
    partial.write_bytes(b"Subject: half a mess")
    finished = folder / "20261205T062500.000000Z-4567cdef.eml"
    finished.write_bytes(b"Subject: delivered\r\n\r\nwhole\r\n")
    running = DaemonThread(config, clock).start()
    try:
        new_ticket(running)
        assert eventually(lambda: acknowledgement(running).status == OutboxStatus.SENT)
    finally:
        running.stop()
    assert not partial.exists()
    assert finished.read_bytes() == b"Subject: delivered\r\n\r\nwhole\r\n"
    written = [path for path in folder.iterdir() if path != finished]
    assert len(written) == 1 and written[0].suffix == ".eml"
    assert not written[0].name.startswith(".")
