"""maild.systemd: reading ``$NOTIFY_SOCKET``/``$WATCHDOG_USEC``, sending to a path or an
abstract socket, and a watchdog that stops petting when the daemon cannot take mail."""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from maild.systemd import SdNotify, pet_watchdog, reloading, socket_address


@pytest.fixture
def abstract_socket() -> Iterator[tuple[str, socket.socket]]:
    """A datagram socket in the abstract namespace, as systemd may pass ("@name")."""
    name = f"@maild-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
        receiver.bind("\0" + name[1:])
        receiver.settimeout(5)
        yield name, receiver


def drain(receiver: socket.socket) -> list[str]:
    """Every datagram waiting now (they are all there: the sender has returned)."""
    receiver.setblocking(False)
    messages = []
    while True:
        try:
            messages.append(receiver.recv(4096).decode())
        except BlockingIOError:
            return messages


def test_socket_address_reads_paths_and_the_abstract_namespace() -> None:
    assert socket_address("/run/systemd/notify") == "/run/systemd/notify"
    assert socket_address("@/org/freedesktop/systemd1/notify/42") == (
        "\0/org/freedesktop/systemd1/notify/42"
    )
    assert socket_address("") is None
    assert socket_address("@") is None
    assert socket_address("vsock:2:1234") is None


def test_environment_gives_the_socket_and_half_the_watchdog_interval() -> None:
    notify = SdNotify.from_environment({"NOTIFY_SOCKET": "@sd", "WATCHDOG_USEC": "30000000"}, pid=7)
    assert notify == SdNotify("\0sd", 15.0)
    assert notify.enabled


@pytest.mark.parametrize(
    "environ",
    [
        {"NOTIFY_SOCKET": "@sd"},  # no watchdog configured
        {"NOTIFY_SOCKET": "@sd", "WATCHDOG_USEC": "0"},
        {"NOTIFY_SOCKET": "@sd", "WATCHDOG_USEC": "soon"},
        {"NOTIFY_SOCKET": "@sd", "WATCHDOG_USEC": "1000", "WATCHDOG_PID": "8"},  # not ours
    ],
)
def test_no_watchdog_unless_it_is_meant_for_this_process(environ: dict[str, str]) -> None:
    assert SdNotify.from_environment(environ, pid=7).watchdog_interval is None


def test_watchdog_for_this_pid() -> None:
    environ = {"NOTIFY_SOCKET": "@sd", "WATCHDOG_USEC": "1000", "WATCHDOG_PID": "7"}
    assert SdNotify.from_environment(environ, pid=7).watchdog_interval == 0.0005


def test_outside_systemd_sending_does_nothing() -> None:
    notify = SdNotify.from_environment({})
    assert not notify.enabled
    assert notify.send("READY=1") is False


def test_states_go_as_one_datagram_to_an_abstract_socket(
    abstract_socket: tuple[str, socket.socket],
) -> None:
    name, receiver = abstract_socket
    notify = SdNotify.from_environment({"NOTIFY_SOCKET": name})
    assert notify.send("READY=1", "STATUS=serving")
    assert receiver.recv(4096) == b"READY=1\nSTATUS=serving"


def test_states_go_to_a_socket_path(tmp_path: Path) -> None:
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
        receiver.bind(str(path))
        receiver.settimeout(5)
        assert SdNotify.from_environment({"NOTIFY_SOCKET": str(path)}).send("STOPPING=1")
        assert receiver.recv(4096) == b"STOPPING=1"


def test_a_socket_that_is_gone_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notify = SdNotify.from_environment({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    with caplog.at_level(logging.WARNING, logger="maild.systemd"):
        assert notify.send("READY=1") is False
    assert "cannot notify systemd (READY=1)" in caplog.text


def test_reloading_carries_the_monotonic_time() -> None:
    state, monotonic = reloading()
    assert state == "RELOADING=1"
    assert monotonic.startswith("MONOTONIC_USEC=")
    assert int(monotonic.partition("=")[2]) > 0


def test_watchdog_stops_petting_while_the_daemon_is_unhealthy(
    abstract_socket: tuple[str, socket.socket], caplog: pytest.LogCaptureFixture
) -> None:
    name, receiver = abstract_socket
    notify = SdNotify(socket_address(name), watchdog_interval=0.001)
    answers = [True, True, False, False, True, False, True]
    asked: list[bool] = []

    async def run() -> None:
        done = asyncio.Event()

        def healthy() -> bool:
            asked.append(answers[len(asked)])
            if len(asked) == len(answers):
                done.set()
            return asked[-1]

        task = asyncio.create_task(pet_watchdog(notify, healthy))
        await asyncio.wait_for(done.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with caplog.at_level(logging.ERROR, logger="maild.systemd"):
        asyncio.run(run())
    assert asked == answers
    assert drain(receiver) == ["WATCHDOG=1"] * 4  # one per healthy tick, none in between
    assert caplog.text.count("not petting systemd's watchdog") == 2  # once per bad spell


def test_no_watchdog_task_without_an_interval() -> None:
    async def run() -> None:
        await asyncio.wait_for(pet_watchdog(SdNotify("\0x"), lambda: True), 5)

    asyncio.run(run())  # returns at once
