"""Transports against real parts: an aiosmtpd relay, a folder on disk."""

from __future__ import annotations

import email
import email.policy
import re
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest

from outbound.compose import OutgoingMail, compose
from outbound.transport import (
    DirectoryTransport,
    PermanentSendError,
    RelayUnavailableError,
    SmtpRelayTransport,
    TransientSendError,
    transport_from_url,
)
from tests.outbound.conftest import ManualClock
from tests.support import Sink


def raw_mail(subject: str = "[ACME #1] Hello") -> bytes:
    return compose(
        OutgoingMail(
            from_name="ACME Support",
            from_address="support@example.com",
            to=(("Jane", "jane@example.org"),),
            subject=subject,
            text="Hello Jane,\n.\n..leading dots survive SMTP\n",
            html=None,
            message_id="<maild-abcdefghijklmnopqrstuvwxyz.AbCdEfGhIjKlMnOp@example.com>",
            date=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        )
    )


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def relay(port: int) -> SmtpRelayTransport:
    return SmtpRelayTransport("127.0.0.1", port, timeout=5.0)


# -- SMTP relay ------------------------------------------------------------------------------


def test_relay_delivers_the_exact_bytes(sink: Sink) -> None:
    raw = raw_mail()
    transport = relay(sink.port)
    transport.send("support@example.com", ["jane@example.org"], raw)
    transport.close()
    [received] = sink.received
    assert received.mail_from == "support@example.com"
    assert received.rcpt_tos == ("jane@example.org",)
    assert received.raw.replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")


def test_relay_connection_is_reused_and_reopened_after_a_drop(sink: Sink) -> None:
    transport = relay(sink.port)
    transport.send("support@example.com", ["jane@example.org"], raw_mail())
    transport.send("support@example.com", ["jane@example.org"], raw_mail())
    assert sink.handler.connections == 1
    port = sink.port
    sink.stop()
    restarted = Sink(port).start()
    try:
        transport.send("support@example.com", ["jane@example.org"], raw_mail())
        assert len(restarted.received) == 1
    finally:
        transport.close()
        restarted.stop()


def test_relay_4xx_is_transient(sink: Sink) -> None:
    sink.handler.data_reply = "451 4.3.0 Try again later"
    with pytest.raises(TransientSendError, match="451") as caught:
        relay(sink.port).send("support@example.com", ["jane@example.org"], raw_mail())
    assert not isinstance(caught.value, RelayUnavailableError)


def test_relay_421_is_transient_and_drops_the_connection(sink: Sink) -> None:
    sink.handler.data_reply = "421 4.3.2 Shutting down"
    transport = relay(sink.port)
    with pytest.raises(TransientSendError, match="421"):
        transport.send("support@example.com", ["jane@example.org"], raw_mail())
    sink.handler.data_reply = "250 OK"
    transport.send("support@example.com", ["jane@example.org"], raw_mail())
    transport.close()
    assert len(sink.received) == 1


def test_relay_5xx_is_permanent(sink: Sink) -> None:
    sink.handler.data_reply = "550 5.7.1 Message rejected"
    with pytest.raises(PermanentSendError, match="550"):
        relay(sink.port).send("support@example.com", ["jane@example.org"], raw_mail())


def test_all_recipients_refused_is_permanent(sink: Sink) -> None:
    sink.handler.rcpt_replies = {"jane@example.org": "550 5.1.1 No such user"}
    with pytest.raises(PermanentSendError, match=r"550 5\.1\.1"):
        relay(sink.port).send("support@example.com", ["jane@example.org"], raw_mail())


def test_recipient_refused_for_now_is_transient_and_named(sink: Sink) -> None:
    sink.handler.rcpt_replies = {"bob@example.org": "450 4.2.1 Mailbox busy"}
    transport = relay(sink.port)
    with pytest.raises(TransientSendError) as caught:
        transport.send("support@example.com", ["jane@example.org", "bob@example.org"], raw_mail())
    transport.close()
    assert caught.value.recipients == ("bob@example.org",)
    [received] = sink.received  # Jane got it: a retry must only go to Bob
    assert received.rcpt_tos == ("jane@example.org",)


def test_recipient_refused_for_good_does_not_fail_the_others(sink: Sink) -> None:
    sink.handler.rcpt_replies = {"bob@example.org": "550 5.1.1 No such user"}
    transport = relay(sink.port)
    transport.send("support@example.com", ["jane@example.org", "bob@example.org"], raw_mail())
    transport.close()
    assert sink.received[0].rcpt_tos == ("jane@example.org",)


def test_closed_relay_port_is_transient() -> None:
    with pytest.raises(RelayUnavailableError, match="cannot use relay"):
        relay(closed_port()).send("support@example.com", ["jane@example.org"], raw_mail())


def test_login_failure_names_user_but_never_the_password(sink: Sink) -> None:
    transport = SmtpRelayTransport(
        "127.0.0.1", sink.port, username="maild", password="s3cret-pw", timeout=5.0
    )
    with pytest.raises(RelayUnavailableError) as caught:  # the sink offers no AUTH
        transport.send("support@example.com", ["jane@example.org"], raw_mail())
    assert "s3cret-pw" not in str(caught.value)
    assert "s3cret-pw" not in repr(transport)


# -- folder ----------------------------------------------------------------------------------


def test_directory_transport_writes_a_plain_parseable_eml(tmp_path: Path) -> None:
    outbound = tmp_path / "outbound"
    clock = ManualClock(datetime(2026, 3, 2, 9, 0, 1, 500, tzinfo=UTC))
    raw = raw_mail(subject="../../etc/passwd")
    DirectoryTransport(outbound, now=clock).send("support@example.com", ["jane@example.org"], raw)
    [written] = list(outbound.iterdir())
    assert re.fullmatch(r"20260302T090001\.000500Z-[0-9a-f]{32}\.eml", written.name)
    assert written.read_bytes() == raw  # nothing prepended, nothing appended
    message = email.message_from_bytes(written.read_bytes(), policy=email.policy.default)
    assert message["Subject"] == "../../etc/passwd"
    assert not (tmp_path / "etc").exists()


def test_directory_transport_never_overwrites(tmp_path: Path) -> None:
    transport = DirectoryTransport(tmp_path, now=ManualClock())
    for _ in range(5):
        transport.send("support@example.com", ["jane@example.org"], raw_mail())
    names = sorted(path.name for path in tmp_path.iterdir())
    assert len(names) == 5
    assert all(name.endswith(".eml") and not name.startswith(".") for name in names)


def test_directory_transport_failure_is_transient(tmp_path: Path) -> None:
    blocker = tmp_path / "outbound"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(TransientSendError, match="cannot write"):
        DirectoryTransport(blocker).send("support@example.com", ["jane@example.org"], b"x")


# -- configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize("relay_url", [None, "", "  "])
def test_no_relay_means_a_folder(relay_url: str | None, tmp_path: Path) -> None:
    transport = transport_from_url(relay_url, tmp_path)
    assert isinstance(transport, DirectoryTransport)
    assert transport.path == tmp_path


@pytest.mark.parametrize(
    ("url", "host", "port"),
    [
        ("smtp://mail.example.com:2525", "mail.example.com", 2525),
        ("smtp://mail.example.com", "mail.example.com", 25),
        ("smtp://127.0.0.1:587/", "127.0.0.1", 587),
    ],
)
def test_smtp_url_means_a_relay(url: str, host: str, port: int, tmp_path: Path) -> None:
    transport = transport_from_url(url, tmp_path, starttls=True, username="u", password="p")
    assert isinstance(transport, SmtpRelayTransport)
    assert (transport.host, transport.port) == (host, port)


@pytest.mark.parametrize(
    "url",
    [
        "http://mail.example.com",
        "smtps://mail.example.com:465",
        "mail.example.com:25",
        "smtp://",
        "smtp://mail.example.com:notaport",
        "smtp://mail.example.com:0",
        "smtp://mail.example.com:25/path",
        "smtp://mail.example.com:25?x=1",
    ],
)
def test_other_relay_values_are_refused_by_name(url: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(url))):
        transport_from_url(url, tmp_path)


def test_credentials_in_relay_url_are_refused_without_echoing_them(tmp_path: Path) -> None:
    with pytest.raises(ValueError) as caught:
        transport_from_url("smtp://maild:s3cret@mail.example.com:25", tmp_path)
    assert "s3cret" not in str(caught.value)
    assert "mail.example.com" in str(caught.value)
