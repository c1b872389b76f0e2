"""``maild import`` end to end: archives in, tickets out, through the real pipeline and writer."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select

from bench.corpus import CorpusMail, generate
from bench.corpus import write_mbox as write_corpus_mbox
from maild.cli import cli
from storage.models import Event, Message, OutboxMessage, QuarantinedMessage, Ticket
from tests.importing.archives import thread_mail, write_eml_dir, write_maildir, write_mbox
from tests.integration.test_receiver_limits import database_locked
from tests.support import eventually

ROOT = Path(__file__).resolve().parents[2]


def run_import(config_file: Path, *args: str, code: int = 0) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["-c", str(config_file), "import", "--json", *args])
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


def count(database_url: str, model: type) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(model)).scalar_one()
    finally:
        engine.dispose()


def ticket_of(database_url: str) -> dict[str, int]:
    """Message-ID → ticket number, for every stored message."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(Message.message_id, Ticket.number).join(
                    Ticket, Message.ticket_id == Ticket.id
                )
            ).all()
    finally:
        engine.dispose()
    return {message_id: number for message_id, number in rows}


def out_of_order() -> list[bytes]:
    """Two threads; the file holds every reply before the mail it answers."""
    return [
        thread_mail(4, parent=2),  # answers the reply 2, which answers 1
        thread_mail(2, parent=1),
        thread_mail(3),
        thread_mail(1),
        thread_mail(5, parent=3),
    ]


def write(kind: str, folder: Path, mails: list[bytes]) -> Path:
    if kind == "mbox":
        return write_mbox(folder / "archive.mbox", mails)
    if kind == "maildir":
        return write_maildir(folder / "Maildir", mails, new=2)
    return write_eml_dir(folder / "export", mails)


@pytest.mark.parametrize("kind", ["mbox", "maildir", "eml"])
def test_replies_before_their_originals_still_thread(
    kind: str, tmp_path: Path, config_file: Path, database_url: str
) -> None:
    archive = write(kind, tmp_path, out_of_order())
    summary = run_import(config_file, str(archive))
    assert (summary["found"], summary["new_tickets"], summary["replies"]) == (5, 2, 3)
    tickets = ticket_of(database_url)
    first, third = tickets["<mail-1@customer.example>"], tickets["<mail-3@customer.example>"]
    assert first != third
    assert tickets["<mail-2@customer.example>"] == first
    assert tickets["<mail-4@customer.example>"] == first
    assert tickets["<mail-5@customer.example>"] == third
    assert first == 1000  # the older thread got the lower number: Date order
    assert count(database_url, OutboxMessage) == 0  # no acknowledgements without --notify


def test_running_the_same_import_again_creates_nothing_new(
    tmp_path: Path, config_file: Path, database_url: str
) -> None:
    no_sender = b"To: support@example.com\nSubject: who wrote this?\nMessage-ID: <anon@x>\n\nhi\n"
    no_message_id = b"From: bob@customer.example\nTo: support@example.com\nSubject: no id\n\nhi\n"
    archive = write_mbox(tmp_path / "a.mbox", [*out_of_order(), no_sender, no_message_id])
    first = run_import(config_file, str(archive))
    assert (first["new_tickets"], first["replies"], first["quarantined"]) == (3, 3, 1)
    tables = (Ticket, Message, Event, QuarantinedMessage, OutboxMessage)
    before = [count(database_url, table) for table in tables]

    again = run_import(config_file, str(archive))
    assert (again["new_tickets"], again["replies"]) == (0, 0)
    assert again["duplicates"] + again["quarantined"] == 7
    assert [count(database_url, table) for table in tables] == before


def test_notify_acknowledges_new_tickets_but_not_automated_mail(
    tmp_path: Path, config_file: Path, database_url: str
) -> None:
    autoreply = thread_mail(9, headers={"Auto-Submitted": "auto-replied"}, subject="Out of office")
    archive = write_mbox(tmp_path / "a.mbox", [*out_of_order(), autoreply])
    # --notify acknowledges only the tickets the import leaves open.
    summary = run_import(config_file, str(archive), "--notify", "--status", "keep-open")
    assert (summary["new_tickets"], summary["automated"]) == (3, 1)
    engine = create_engine(database_url)
    with engine.connect() as connection:
        kinds = connection.execute(select(OutboxMessage.kind)).scalars().all()
    engine.dispose()
    assert kinds == ["acknowledgement", "acknowledgement"]


def test_dry_run_stores_nothing_and_says_what_would_happen(
    tmp_path: Path, config_file: Path, database_url: str
) -> None:
    archive = write_mbox(tmp_path / "a.mbox", out_of_order())
    preview = run_import(config_file, str(archive), "--dry-run")
    assert preview["dry_run"] is True
    assert (preview["new_tickets"], preview["replies"], preview["duplicates"]) == (2, 3, 0)
    run_import(config_file, str(archive))  # creates the schema and stores
    assert count(database_url, Message) == 5
    again = run_import(config_file, str(archive), "--dry-run")
    assert (again["new_tickets"], again["duplicates"]) == (0, 5)
    assert count(database_url, Message) == 5


def test_mailbox_option_picks_the_support_address(
    tmp_path: Path, config_file: Path, database_url: str
) -> None:
    archive = write_mbox(tmp_path / "a.mbox", [thread_mail(1)])
    run_import(config_file, str(archive), "--mailbox", "Billing@example.com")
    engine = create_engine(database_url)
    with engine.connect() as connection:
        assert connection.execute(select(Ticket.mailbox)).scalars().all() == ["billing@example.com"]
    engine.dispose()
    result = CliRunner().invoke(
        cli, ["-c", str(config_file), "import", str(archive), "--mailbox", "nobody@example.com"]
    )
    assert result.exit_code == 1
    assert "not a configured mailbox" in result.output and "support@example.com" in result.output


def test_not_an_archive_is_an_error(tmp_path: Path, config_file: Path) -> None:
    result = CliRunner().invoke(cli, ["-c", str(config_file), "import", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert "no such file or folder" in result.output


def test_locked_database_exits_75_and_a_rerun_stores_everything(
    tmp_path: Path, config_file: Path, database_url: str
) -> None:
    archive = write_mbox(tmp_path / "a.mbox", out_of_order())
    run_import(config_file, str(write_mbox(tmp_path / "b.mbox", [thread_mail(7)])))
    with database_locked(database_url):
        summary = run_import(config_file, str(archive), code=75)
    assert summary["deferred"] == 5
    summary = run_import(config_file, str(archive))
    assert (summary["new_tickets"], summary["replies"]) == (2, 3)


# --------------------------------------------------------------------------------------------
# Interrupted imports: a real process, stopped half-way


def start_import(config_file: Path, archive: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), str(ROOT)) if p)
    return subprocess.Popen(
        [sys.executable, "-m", "maild", "-c", str(config_file), "import", "--json", str(archive)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


def stored(database_url: str) -> int:
    try:
        return count(database_url, Message)
    except Exception:  # the schema is not there yet
        return 0


@functools.cache
def big_corpus() -> tuple[CorpusMail, ...]:
    return tuple(generate(1500, seed=3))


@pytest.fixture
def big_archive(tmp_path: Path) -> tuple[Path, list[CorpusMail]]:
    corpus = list(big_corpus())
    path = tmp_path / "big.mbox"
    write_corpus_mbox(reversed(corpus), path)  # every reply before its original in the file
    return path, corpus


def check_every_mail_once_and_threaded(database_url: str, corpus: list) -> None:
    tickets = ticket_of(database_url)
    assert count(database_url, Message) == len(corpus)
    assert set(tickets) == {mail.message_id for mail in corpus}
    by_index = {mail.index: mail for mail in corpus}
    for mail in corpus:
        if mail.parent_index is not None:
            assert tickets[mail.message_id] == tickets[by_index[mail.parent_index].message_id]
    assert count(database_url, Ticket) == len({mail.thread for mail in corpus})


@pytest.mark.parametrize(
    "how", [signal.SIGKILL, signal.SIGINT, signal.SIGTERM], ids=["kill-9", "ctrl-c", "kill"]
)
def test_interrupted_import_run_again_stores_every_message_exactly_once(
    how: signal.Signals,
    big_archive: tuple[Path, list],
    config_file: Path,
    database_url: str,
) -> None:
    path, corpus = big_archive
    process = start_import(config_file, path)
    try:
        assert eventually(lambda: stored(database_url) >= 100, 60), process.stderr
        process.send_signal(how)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    at_stop = stored(database_url)
    assert 0 < at_stop < len(corpus), "the import finished before it could be interrupted"
    if how != signal.SIGKILL:  # a clean stop: what was handed in is committed and counted
        assert process.returncode == 130, err.decode()
        summary = json.loads(out)
        assert summary["interrupted"] is True
        assert summary["done"] == at_stop  # everything it handed in was committed
    else:
        assert process.returncode == -signal.SIGKILL

    again = start_import(config_file, path)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err.decode()
    summary = json.loads(out)
    assert summary["duplicates"] == at_stop
    assert summary["new_tickets"] + summary["replies"] == len(corpus) - at_stop
    check_every_mail_once_and_threaded(database_url, corpus)
