"""The runner's checks and report, on a hand-made database and made-up figures (no daemon)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bench.cache import MailFacts
from bench.corpus import generate, replies_before_parent
from bench.run import fresh_mails, render_large, verify


def _mail(index: int, thread: int, parent: int | None = None) -> MailFacts:
    return MailFacts(index, thread, parent, f"<{index}@bench.example>")


# thread 0: 0 <- 1 <- 3; thread 1: 2 alone; thread 2: 4 <- 5
CORPUS = [_mail(0, 0), _mail(1, 0, 0), _mail(2, 1), _mail(3, 0, 1), _mail(4, 2), _mail(5, 2, 4)]


def _database(path: Path, rows: list[tuple[str, int]], tickets: int) -> Path:
    database = path / "maild.db"
    connection = sqlite3.connect(database)
    with connection:
        connection.execute("CREATE TABLE tickets (id INTEGER PRIMARY KEY)")
        connection.execute("CREATE TABLE messages (id INTEGER PRIMARY KEY, message_id, ticket_id)")
        connection.execute("CREATE TABLE quarantine (id INTEGER PRIMARY KEY)")
        connection.executemany(
            "INSERT INTO tickets (id) VALUES (?)", [(n,) for n in range(tickets)]
        )
        connection.executemany("INSERT INTO messages (message_id, ticket_id) VALUES (?, ?)", rows)
    connection.close()
    return database


def test_verify_on_a_database_that_holds_history(tmp_path: Path) -> None:
    history = [(f"<old{n}@bench.example>", n) for n in range(50)]
    mine = [(mail.message_id, 100 + mail.thread) for mail in CORPUS]
    database = _database(tmp_path, history + mine, tickets=53)
    check = verify(database, CORPUS, tickets_before=50)
    assert check.ok
    assert (check.stored_once, check.threaded, check.tickets) == (6, 3, 3)
    assert (check.kept_whole, check.own_reply_threads) == (2, 2)
    assert check.to_json()["ok"] is True


def test_verify_finds_a_split_thread_a_lost_and_a_doubled_mail(tmp_path: Path) -> None:
    rows = [
        ("<0@bench.example>", 1),
        ("<1@bench.example>", 1),
        ("<2@bench.example>", 2),
        ("<2@bench.example>", 2),  # stored twice
        ("<3@bench.example>", 9),  # the reply opened a ticket of its own
        ("<4@bench.example>", 3),  # 5 is missing
    ]
    check = verify(_database(tmp_path, rows, tickets=4), CORPUS)
    assert not check.ok
    assert check.missing == [5]
    assert check.duplicated == [2]
    assert check.misthreaded == [3, 5]
    assert (check.kept_whole, check.own_reply_threads) == (0, 2)


def test_verify_without_a_database(tmp_path: Path) -> None:
    check = verify(tmp_path / "none.db", CORPUS)
    assert not check.ok
    assert check.error is not None


def test_fresh_mails_leave_out_what_history_already_holds() -> None:
    fresh = generate(40, seed=7)
    assert fresh_mails(40, 7, []) == fresh
    root = next(mail for mail in fresh if any(m.parent_index == mail.index for m in fresh))
    history = [MailFacts(0, 0, None, root.message_id)]
    kept = fresh_mails(40, 7, history)
    kept_ids = {mail.index for mail in kept}
    assert root.index not in kept_ids
    assert all(mail.parent_index is None or mail.parent_index in kept_ids for mail in kept)
    assert len(kept) < len(fresh)


def test_replies_before_parent_in_a_file_order() -> None:
    mails = generate(30, seed=1)
    assert replies_before_parent(mails) == 0
    assert replies_before_parent(list(reversed(mails))) == sum(1 for m in mails if m.is_reply)


def _verified(mails: int, replies: int, threads: int, own: int) -> dict[str, object]:
    return {
        "mails": mails,
        "stored_once": mails,
        "replies": replies,
        "threaded": replies,
        "threads": threads,
        "tickets": threads,
        "own_reply_threads": own,
        "kept_whole": own,
        "missing": [],
        "duplicated": [],
        "misthreaded": [],
        "ok": True,
    }


def test_the_history_table_shows_ratios_rss_and_threads_kept_whole() -> None:
    large = {
        "seed": 1,
        "fresh_seed": 1001,
        "corpus": {"mails": 100000, "threads": 70000, "replies": 30000, "bytes": 212_000_000},
        "cache": {"mbox": "bench/out/cache/x/corpus.mbox", "reused": True, "seconds": 1.2},
        "fresh": {"mails": 2000, "threads": 1400, "replies": 600},
        "phases": [
            {
                "phase": "large-import",
                "msgs_per_s": 1100.0,
                "ratio": 0.93,
                "messages": 100000,
                "seconds": 90.9,
                "wall_s": 92.0,
                "mbox_bytes": 208_000_000,
                "replies_before_parent": 14000,
                "rates_by_tenth": [1250.0, 1200.5, None, 1100.0],
                "exit": 0,
                "targets": {">= 0.7x 1,000 import": True},
                "verify": _verified(100000, 30000, 70000, 23000),
            },
            {
                "phase": "large-smtp-empty",
                "clients": 4,
                "msgs_per_s": 350.0,
                "p50_ms": 10.0,
                "p99_ms": 30.0,
                "peak_rss_mib": 88.0,
                "rss_mib": 87.5,
                "rss_ready_mib": 84.0,
                "daemon_exit": 0,
                "verify": _verified(2000, 600, 1400, 470),
            },
            {
                "phase": "large-smtp-history",
                "clients": 4,
                "msgs_per_s": 250.0,
                "ratio": 0.71,
                "p50_ms": 14.0,
                "p99_ms": 40.0,
                "peak_rss_mib": 101.5,
                "rss_mib": 100.0,
                "rss_ready_mib": 90.0,
                "daemon_exit": 0,
                "targets": {">= 0.8x empty": False},
                "verify": _verified(2000, 600, 1400, 470) | {"kept_whole": 464},
            },
        ],
        "commands": [
            {
                "argv": ["maild", "tickets", "list"],
                "seconds": [0.61, 0.55],
                "exit": 0,
                "stdout_lines": 51,
                "stdout_bytes": 4100,
                "targets": {"<= 1 s": True},
            },
            {
                "argv": ["maild", "sla", "sweep", "--json"],
                "seconds": [1.3, 1.1],
                "exit": 0,
                "report": {"open_tickets": 1400, "due_tickets": 0, "fired": 0, "seconds": 0.4},
            },
        ],
    }
    text = "\n".join(render_large(large))
    assert "100,000 mails" in text
    assert "reused" in text
    import_row = next(line for line in text.splitlines() if line.startswith("maild import"))
    assert "1,100.0" in import_row and "0.93x" in import_row and "23000/23000" in import_row
    history_row = next(line for line in text.splitlines() if "on the history" in line)
    assert "0.71x" in history_row and "464/470" in history_row and "101.5" in history_row
    assert ">= 0.8x empty MISS" in history_row
    list_row = next(line for line in text.splitlines() if line.startswith("maild tickets list"))
    assert "0.61" in list_row and "0.55" in list_row and "<= 1 s ok" in list_row
    assert "1400 open, 0 due, 0 fired" in text
    assert "peak 101.5 MiB (VmHWM)" in text
    assert "msg/s by tenth of the history, as stored: 1,250.0 1,200.5 - 1,100.0" in text


def test_the_history_table_says_why_a_phase_failed() -> None:
    large = {
        "phases": [{"phase": "large-import", "error": "time limit: maild import did not finish"}],
        "commands": [],
    }
    text = "\n".join(render_large(large))
    assert "maild import (mbox): ERROR: time limit" in text
