"""A ``maild serve`` SIGKILLed before its webhook deliveries went out sends them after it is
started again, each once: the deliveries were committed with the ticket, so the kill loses
nothing, and nothing is sent twice."""

from __future__ import annotations

import smtplib
from pathlib import Path

from sqlalchemy import create_engine, select

from storage.models import WebhookDelivery
from tests.integration.daemons import MaildProcess, free_port
from tests.mails import customer_mail
from tests.support import Sink, eventually, write_toml
from tests.webhooks.conftest import webhook_data
from tests.webhooks.receiver import Receiver
from tests.webhooks.test_delivery import restarted


def failures(url: str) -> list[str | None]:
    """The last error of each delivery: set once an attempt failed."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(select(WebhookDelivery.last_error)).scalars())
    finally:
        engine.dispose()


def test_deliveries_of_a_killed_daemon_go_out_once_after_restart(
    tmp_path: Path, database_url: str, sink: Sink, receiver: Receiver
) -> None:
    port = free_port()
    # Failed attempts are tried again every second (the backoff starts at a minute, capped);
    # a delivery the killed daemon had claimed is free again two seconds after the claim.
    data = webhook_data(tmp_path, database_url, sink, receiver, max_backoff="1s", lease="2s")
    data["smtp"] = {"listen": f"127.0.0.1:{port}", "lmtp_listen": ""}
    config = tmp_path / "maild.toml"
    write_toml(data, config)
    receiver.stop()  # down: every attempt fails until the kill
    daemon = MaildProcess(config, port, tmp_path / "maild.log").start().wait_ready()
    up: Receiver | None = None
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.sendmail(
                "jane@customer.example",
                ["support@example.com"],
                customer_mail(subject="Printer on fire", sender="Jane <jane@customer.example>"),
            )
        assert eventually(lambda: len(failures(database_url)) == 2)
        assert eventually(lambda: all(failures(database_url)), 10.0), daemon.tail()
        daemon.kill()

        up = restarted(receiver)
        daemon.start().wait_ready()
        delivered = up.wait_for(2)
        assert sorted(hook.path for hook in delivered) == ["/all", "/quiet"]
        assert {hook.type for hook in delivered} == {"ticket.created"}
        assert all(hook.error is None for hook in delivered)  # signatures verify
        assert daemon.stop() == 0, daemon.tail()
        assert len(up.received()) == 2  # once each, nothing more after the stop
        assert len({hook.msg_id for hook in up.received()}) == 2
    finally:
        daemon.kill()
        if up is not None:
            up.stop()
