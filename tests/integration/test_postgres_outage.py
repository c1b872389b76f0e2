"""PostgreSQL stopped in the middle of a stream of mail and started again (issue 15).

``maild serve`` runs as a real process on a private cluster (``pgcluster``). One sender
keeps sending; the cluster is stopped (``pg_ctl -m fast``: every session ends at once) and
started again while mail arrives. The sender gets ``451`` meanwhile, never a 5xx, and
sends those messages again later, as an MTA would. At the end every message is stored
exactly once, the daemon recovered without help and said so in its log, and it stops
cleanly.
"""

from __future__ import annotations

import smtplib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from maild.config import config_from_mapping
from maild.database import open_engine
from storage.models import Message
from storage.schema import ensure_current
from tests.conftest import REQUIRE_INTEGRATION, config_data
from tests.integration.daemons import MaildProcess, free_port
from tests.integration.pgcluster import PrivateCluster, missing_reason
from tests.mails import customer_mail
from tests.support import Sink, eventually, write_toml

pytestmark = pytest.mark.integration

BEFORE = 40  # messages stored before the stop
DURING = 5  # 451s seen before the start
AFTER = 40  # messages stored after the start
WAIT = 60.0


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    reason = missing_reason()
    if reason is not None:
        if REQUIRE_INTEGRATION:
            pytest.fail(f"MAILD_REQUIRE_INTEGRATION=1 but {reason}")
        pytest.skip(reason)
    server = PrivateCluster().start()
    try:
        yield server
    finally:
        server.close()


class Stream:
    """One sender with one connection, sending new messages one after the other until
    stopped; a message answered 4xx (or lost with the connection) is kept to send again."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.codes: dict[str, list[int]] = {}  # Message-ID -> every answer it got
        self.deferred: list[str] = []
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._smtp: smtplib.SMTP | None = None

    def count(self, code: int) -> int:
        with self._lock:
            return sum(codes.count(code) for codes in self.codes.values())

    def send(self, message_id: str) -> int | None:
        raw = customer_mail(
            subject=f"Outage {message_id}",
            sender=f"Customer <{message_id.strip('<>').split('@')[0]}@customer.example>",
            message_id=message_id,
        )
        try:
            if self._smtp is None:
                self._smtp = smtplib.SMTP("127.0.0.1", self.port, timeout=30)
            self._smtp.sendmail("ada@customer.example", ["support@example.com"], raw)
            code = 250
        except smtplib.SMTPResponseException as error:
            code = error.smtp_code
        except (OSError, smtplib.SMTPException):
            self.close()
            return None
        with self._lock:
            self.codes.setdefault(message_id, []).append(code)
        return code

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            message_id = f"<outage-{n}@customer.example>"
            n += 1
            if self.send(message_id) != 250:
                self.deferred.append(message_id)

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.close()
            finally:
                self._smtp = None


def test_postgresql_stopped_mid_stream_gets_451_and_maild_recovers_by_itself(
    tmp_path: Path, cluster: PrivateCluster
) -> None:
    url = cluster.create_database("maild")
    sink = Sink().start()
    port = free_port()
    data = config_data(
        tmp_path,
        url,
        sink.port,
        database={"busy_timeout": 2.0},
        smtp={"listen": f"127.0.0.1:{port}", "lmtp_listen": ""},
        limits={"new_tickets_per_sender_per_hour": 0},
    )
    write_toml(data, tmp_path / "maild.toml")
    setup = open_engine(config_from_mapping(data))
    ensure_current(setup)
    setup.dispose()
    daemon = MaildProcess(tmp_path / "maild.toml", port, tmp_path / "maild.log").start()
    stream = Stream(port)
    sender = threading.Thread(target=stream.run)
    try:
        daemon.wait_ready()
        sender.start()
        assert eventually(lambda: stream.count(250) >= BEFORE, WAIT)

        cluster.stop("fast")
        assert eventually(lambda: stream.count(451) >= DURING, WAIT), daemon.tail()
        stored_before_start = stream.count(250)
        cluster.start()
        assert eventually(lambda: stream.count(250) >= stored_before_start + AFTER, WAIT), (
            daemon.tail()
        )
        stream.stop.set()
        sender.join(WAIT)
        assert not sender.is_alive()

        # The senders' queues deliver what was deferred.
        for message_id in stream.deferred:
            assert eventually(lambda m=message_id: stream.send(m) == 250, WAIT), daemon.tail()
        assert daemon.proc is not None and daemon.proc.poll() is None  # it never gave up
        assert daemon.stop() == 0, daemon.tail()
    finally:
        stream.stop.set()
        stream.close()
        daemon.kill()
        sink.stop()

    codes = stream.codes
    assert not [m for m, answers in codes.items() if any(code >= 500 for code in answers)]
    assert all(250 in answers for answers in codes.values())
    engine = create_engine(url)
    with engine.connect() as connection:
        stored = dict(
            connection.execute(
                select(Message.message_id, func.count()).group_by(Message.message_id)
            ).all()
        )
    engine.dispose()
    assert stored == dict.fromkeys(codes, 1)  # every message once, nothing else

    log = daemon.text()
    assert "database unavailable" in log
    assert "database available again" in log
    print(
        f"\noutage: {len(codes)} messages, {stream.count(451)} answered 451 while PostgreSQL "
        f"was down, {len(stream.deferred)} sent again; log: "
        + next(line for line in log.splitlines() if "database available again" in line)
    )
