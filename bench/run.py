"""The maild benchmark: ``make bench`` (``python -m bench.run`` from the repository root).

Phases, each on a fresh data directory and the embedded SQLite default:

* **SMTP intake**, once per client count (``--clients 1,4``): ``python -m maild serve`` as a
  subprocess on a free loopback port; client processes (multiprocessing, spawn) each hold ONE
  persistent ``smtplib`` connection and send their share in order. The corpus is split by
  ``thread % clients``, so every reply goes after its parent over the same connection. Each
  ``sendmail`` is timed up to the ``250`` after DATA (p50/p99); msg/s is the number of
  messages over the parent's wall time from the start barrier to the last client's last
  ``250``. Then SIGTERM (the daemon must exit 0) and a check of the database.
* **In-process pipeline** (``--skip-inprocess`` to leave out): the corpus submitted at once to
  ``Runtime.intake`` without SMTP, which measures the group-commit writer; run in a child
  process so that its time limit is hard.
* **maild import** (``--skip-import`` to leave out): the corpus written as an mbox in a
  shuffled order (so many replies come before their parents in the file), imported with
  ``python -m maild import --json``; msg/s is the import's own figure (reading, ordering,
  parsing, storing), the process's wall time including start-up is reported beside it.

Verification (exit status 1 if it fails): every corpus mail is in ``messages`` exactly once,
every reply is on its parent's ticket, and there are as many tickets as threads. The 4-client
SMTP run also counts the own-reply threads (threads where the customer answers their own
mail) whose messages all landed on one ticket: "threads kept whole".

Then, unless ``--skip-large``, a year of history (``--large-count``, 100,000 mails):

* the corpus as a shuffled mbox, written once to ``bench/out/cache/`` (by count, seed and a
  digest of the generator) and reused by later runs;
* **maild import** of it (the real ``python -m maild import``), its rate beside the 1,000-mail
  import's (target: at least 0.7 times);
* **SMTP intake with 4 clients** of ``--fresh-count`` new mails (another seed: new threads
  and their replies, none of them in the history), first on an empty database, then with
  ``maild serve`` on the imported one (target: at least 0.8 times the empty rate), with the
  peak RSS of the daemon (``VmHWM`` in ``/proc/PID/status``);
* ``maild tickets list`` (first page), ``maild tickets search``, ``maild report`` over the
  whole history (and ``--by agent``) and ``maild sla sweep`` on that database, each timed
  twice (targets: the list 1 s, a report 2 s).

Then, unless ``--skip-postgres``, SMTP intake with 4 clients on PostgreSQL, on one instance
and on two instances sharing the database (``bench/postgres.py``; ``MAILD_BENCH_DATABASE_URL``,
which the bench empties, or ``maild_bench`` on the local server; left out with a note when
neither answers).

Figures are printed as tables and written to ``bench/out/results.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import platform
import queue
import shutil
import signal
import smtplib
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.cache import CACHE_DIR, CachedCorpus, cached_corpus
from bench.corpus import (
    CorpusMail,
    generate,
    replies_before_parent,
    shuffled,
    summarize,
    write_mbox,
)
from bench.figures import (
    Sample,
    ThreadedMail,
    meets,
    process_memory,
    rates_by_part,
    ratio,
    whole_threads,
)
from bench.parse_rate import FIXTURES
from bench.parse_rate import measure as measure_parse_rate
from bench.workers import ClientResult, Item, PipelineResult, run_pipeline, send_share

MAILBOX = "support@example.com"
HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = Path(__file__).resolve().parent / "out"

TARGET_RATE = 250.0  # msg/s with 4 clients
TARGET_RATE_CLIENTS = 4
TARGET_P99_MS = 100.0
TARGET_IMPORT_RATE = 500.0  # msg/s, maild import of the corpus as an mbox

LARGE_COUNT = 100_000  # mails of the history corpus
FRESH_COUNT = 2_000  # new mails sent over SMTP to the database that holds the history
FRESH_SEED_OFFSET = 1000  # the fresh mails' seed is the corpus seed plus this
TARGET_LARGE_IMPORT_RATIO = 0.7  # import rate of the history over that of the small corpus
TARGET_LARGE_SMTP_RATIO = 0.8  # SMTP rate (4 clients) on the history over that on empty
TARGET_LIST_SECONDS = 1.0  # maild tickets list, first page, on the history
TARGET_REPORT_SECONDS = 2.0  # maild report over every ticket of the history
SEARCH_WORD = "invoice"  # maild tickets search on the history: a word many mails have

READY_TIMEOUT = 30.0  # daemon start until its port answers
STOP_TIMEOUT = 60.0  # SIGTERM until exit (the daemon drains for up to 30 s)
SPAWN_TIMEOUT = 60.0  # client processes up and connected


class BenchError(Exception):
    """A phase could not be measured; the message says why."""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Daemon


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def write_config(workdir: Path, port: int | None) -> Path:
    listen = f"{HOST}:{port}" if port is not None else ""
    text = (
        "[maild]\n"
        f"data_dir = {_toml_string(str(workdir / 'data'))}\n"
        'ticket_prefix = "BENCH"\n'
        "\n"
        "[[mailboxes]]\n"
        f"address = {_toml_string(MAILBOX)}\n"
        'name = "Bench Support"\n'
        "\n"
        "[smtp]\n"
        f"listen = {_toml_string(listen)}\n"
        'lmtp_listen = ""\n'
        "\n"
        # Set explicitly (DECISIONS "Limits"): every corpus thread has a customer address of
        # its own, so no sender comes near it, and the check still runs on every new ticket
        # the way it does in production.
        "[limits]\n"
        "new_tickets_per_sender_per_hour = 10\n"
    )
    path = workdir / "maild.toml"
    path.write_text(text, encoding="utf-8")
    return path


def maild_env() -> dict[str, str]:
    """The environment of a ``python -m maild`` child: this tree's packages come first."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH", ""), str(ROOT)) if p)
    return env


def run_maild(
    command: list[str], workdir: Path, timeout: float
) -> subprocess.CompletedProcess[bytes]:
    """``python -m maild …`` in ``workdir`` with the project on the path, output captured."""
    return subprocess.run(
        command,
        cwd=workdir,
        env=maild_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
        check=False,
    )


class Daemon:
    """``python -m maild serve`` in a subprocess; its output goes to ``<workdir>/daemon.log``."""

    def __init__(self, config: Path, workdir: Path, port: int) -> None:
        self.config = config
        self.port = port
        self.log_path = workdir / "daemon.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "maild", "serve", "-c", str(self.config)]
        with self.log_path.open("wb") as output:
            self.proc = subprocess.Popen(
                command,
                cwd=self.config.parent,
                env=maild_env(),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> float:
        """Poll until the port greets with 220; seconds it took."""
        assert self.proc is not None
        started = time.monotonic()
        deadline = started + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                raise BenchError(
                    f"the daemon exited with status {code} before listening\n{self.output_tail()}"
                )
            try:
                probe = smtplib.SMTP(HOST, self.port, timeout=2.0)
            except (OSError, smtplib.SMTPException) as error:
                last_error = error
                time.sleep(0.1)
                continue
            try:
                probe.quit()
            except (OSError, smtplib.SMTPException):
                probe.close()
            return time.monotonic() - started
        raise BenchError(
            f"the daemon did not accept SMTP connections on {HOST}:{self.port} within "
            f"{timeout:.0f} s (last error: {last_error!r})\n{self.output_tail()}"
        )

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """SIGTERM and wait; the exit status, or None if it had to be killed."""
        assert self.proc is not None
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def output_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no daemon output)"
        tail = text.splitlines()[-lines:]
        return "daemon output (last lines):\n" + "\n".join("  | " + line for line in tail)

    def memory(self) -> dict[str, float] | None:
        """RSS now and its peak so far (MiB), while the daemon runs."""
        if self.proc is None or self.proc.poll() is not None:
            return None
        return process_memory(self.proc.pid)


# --------------------------------------------------------------------------------------------
# Verification


@dataclass
class Verification:
    mails: int
    stored_once: int = 0
    missing: list[int] = field(default_factory=list)  # corpus indexes
    duplicated: list[int] = field(default_factory=list)
    replies: int = 0
    threaded: int = 0
    misthreaded: list[int] = field(default_factory=list)
    threads: int = 0
    tickets: int = 0  # created by this phase (tickets_before are not counted)
    own_reply_threads: int = 0  # threads with more than one mail
    kept_whole: int = 0  # of those, threads with all their mails on one ticket
    quarantined: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return (
            self.error is None
            and self.stored_once == self.mails
            and self.threaded == self.replies
            and self.tickets == self.threads
        )

    def check_stored(
        self, corpus: Sequence[CorpusMail], stored: Mapping[str, Sequence[int]]
    ) -> None:
        """Count, from ``stored`` (Message-ID → the tickets it was stored on), the mails
        stored once, missing or doubled, the replies on their parent's ticket, and the
        threads kept whole."""
        ticket_of: dict[int, int | None] = {}
        for mail in corpus:
            tickets = stored.get(mail.message_id, [])
            if not tickets:
                self.missing.append(mail.index)
            elif len(tickets) > 1:
                self.duplicated.append(mail.index)
            else:
                self.stored_once += 1
                ticket_of[mail.index] = tickets[0]
        for mail in corpus:
            if mail.parent_index is None:
                continue
            mine = ticket_of.get(mail.index)
            if mine is not None and mine == ticket_of.get(mail.parent_index):
                self.threaded += 1
            else:
                self.misthreaded.append(mail.index)
        self.kept_whole, self.own_reply_threads = whole_threads(corpus, ticket_of)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("missing", "duplicated", "misthreaded"):
            data[key] = data[key][:20]  # a sample is enough to start looking
        data["ok"] = self.ok
        return data


def count_tickets(database: Path) -> int:
    """Tickets in an existing database (0 when there is none yet)."""
    if not database.exists():
        return 0
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        (count,) = connection.execute("SELECT count(*) FROM tickets").fetchone()
    finally:
        connection.close()
    return int(count)


def count_messages(database: Path) -> int:
    """Messages in a database (0 when there is none, or no table yet)."""
    if not database.exists():
        return 0
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        (count,) = connection.execute("SELECT count(*) FROM messages").fetchone()
    except sqlite3.Error:
        return 0
    finally:
        connection.close()
    return int(count)


def verify(
    database: Path, corpus: Sequence[ThreadedMail], *, tickets_before: int = 0
) -> Verification:
    """Check the database after a phase; ``tickets_before`` were there when it started."""
    result = Verification(mails=len(corpus))
    result.replies = sum(1 for mail in corpus if mail.parent_index is not None)
    result.threads = len({mail.thread for mail in corpus})
    if not database.exists():
        result.error = f"no database at {database}"
        return result
    try:
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    except sqlite3.Error as error:
        result.error = f"cannot open {database}: {error}"
        return result
    try:
        # One pass over the table: a point query per mail costs minutes at 100,000.
        wanted = {mail.message_id for mail in corpus}
        stored: dict[str, list[int]] = {}
        for message_id, ticket_id in connection.execute(
            "SELECT message_id, ticket_id FROM messages"
        ):
            if message_id in wanted:
                stored.setdefault(message_id, []).append(ticket_id)
        result.check_stored(corpus, stored)
        (tickets,) = connection.execute("SELECT count(*) FROM tickets").fetchone()
        result.tickets = tickets - tickets_before
        try:
            (result.quarantined,) = connection.execute("SELECT count(*) FROM quarantine").fetchone()
        except sqlite3.Error:
            result.quarantined = None
    except sqlite3.Error as error:
        result.error = f"query failed: {error}"
    finally:
        connection.close()
    return result


# --------------------------------------------------------------------------------------------
# Phases


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _ms(seconds: float | None) -> float | None:
    if seconds is None:
        return None
    value = seconds * 1000
    return round(value, 2 if value < 10 else 1)


def _items(mails: Sequence[CorpusMail]) -> list[Item]:
    return [(mail.index, mail.mail_from, mail.raw) for mail in mails]


def _kill_processes(processes: Sequence[multiprocessing.process.BaseProcess]) -> None:
    for process in processes:
        process.join(timeout=5)
    for process in processes:
        if process.is_alive():
            process.terminate()
            process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join()


def run_smtp(
    corpus: Sequence[CorpusMail],
    clients: int,
    workdir: Path,
    timeout: float,
    *,
    name: str | None = None,
) -> dict[str, Any]:
    """Send ``corpus`` with ``clients`` connections to ``maild serve`` on ``workdir/data``
    (a database already there, e.g. an imported history, is used as it is)."""
    phase: dict[str, Any] = {"phase": name or f"smtp-{clients}", "clients": clients}
    port = free_port()
    daemon = Daemon(write_config(workdir, port), workdir, port)
    database = workdir / "data" / "maild.db"
    tickets_before = count_tickets(database)
    if tickets_before:
        phase["tickets_before"] = tickets_before
    context = multiprocessing.get_context("spawn")
    processes: list[multiprocessing.process.BaseProcess] = []
    started_phase = time.monotonic()
    try:
        daemon.start()
        phase["startup_s"] = round(daemon.wait_ready(), 2)
        log(f"  daemon ready on port {port} after {phase['startup_s']} s")
        ready_memory = daemon.memory()
        if ready_memory:
            phase["rss_ready_mib"] = ready_memory["rss_mib"]

        shares = [[m for m in corpus if m.thread % clients == worker] for worker in range(clients)]
        barrier = context.Barrier(clients + 1)
        results = context.Queue()
        socket_timeout = min(60.0, timeout)
        for worker, share in enumerate(shares):
            process = context.Process(
                target=send_share,
                args=(worker, HOST, port, MAILBOX, _items(share), barrier, results, socket_timeout),
                name=f"bench-smtp-client-{worker}",
                daemon=True,
            )
            process.start()
            processes.append(process)
        try:
            barrier.wait(SPAWN_TIMEOUT)
        except threading.BrokenBarrierError:
            barrier.abort()
            errors = _drain_errors(results)
            raise BenchError(f"clients did not start: {errors or 'timed out'}") from None
        began = time.perf_counter()
        deadline = time.monotonic() + max(1.0, timeout - (time.monotonic() - started_phase))

        collected: list[ClientResult] = []
        finished = began
        while len(collected) < clients:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BenchError(
                    f"time limit: {len(collected)} of {clients} clients finished in {timeout:.0f} s"
                )
            try:
                result = results.get(timeout=min(remaining, 1.0))
            except queue.Empty:
                dead = [p.name for p in processes if not p.is_alive() and p.exitcode]
                if dead:
                    raise BenchError(f"client process died: {', '.join(dead)}") from None
                continue
            finished = time.perf_counter()
            collected.append(result)
        wall = finished - began
        _kill_processes(processes)

        errors = [r.error for r in collected if r.error]
        if errors:
            raise BenchError("; ".join(errors))
        latencies = [value for r in collected for value in r.latencies]
        failures = sorted(failure for r in collected for failure in r.failures)
        sent = len(latencies)
        phase.update(
            messages=sent,
            failed=len(failures),
            unsent=sum(r.unsent for r in collected),
            failures=[f"#{index}: {reason}" for index, reason in failures[:10]],
            seconds=round(wall, 3),
            msgs_per_s=round(sent / wall, 1) if wall > 0 else None,
            p50_ms=_ms(percentile(latencies, 0.50)),
            p99_ms=_ms(percentile(latencies, 0.99)),
            max_ms=_ms(max(latencies, default=None)),
        )
        memory = daemon.memory()  # before SIGTERM: VmHWM is the peak of the whole run
        if memory:
            phase["rss_mib"] = memory["rss_mib"]
            phase["peak_rss_mib"] = memory["peak_mib"]
        log(f"  {sent} sent in {wall:.2f} s; stopping the daemon (SIGTERM)")
        stopped = time.monotonic()
        code = daemon.stop()
        phase["stop_s"] = round(time.monotonic() - stopped, 2)
        phase["daemon_exit"] = code
        if code != 0:
            what = "had to be killed" if code is None else f"exited with status {code}"
            phase["error"] = f"the daemon {what} after SIGTERM\n{daemon.output_tail()}"
    except BenchError as error:
        phase["error"] = str(error)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
        _kill_processes(processes)
        daemon.kill()

    if "messages" in phase:  # something was sent: check what the daemon stored
        phase["verify"] = verify(database, corpus, tickets_before=tickets_before).to_json()
    return phase


def _drain_errors(results: Any) -> str:
    errors = []
    while True:
        try:
            result = results.get(timeout=0.5)
        except queue.Empty:
            break
        if getattr(result, "error", None):
            errors.append(result.error)
    return "; ".join(errors)


def run_inprocess(corpus: Sequence[CorpusMail], workdir: Path, timeout: float) -> dict[str, Any]:
    phase: dict[str, Any] = {"phase": "inprocess"}
    config = write_config(workdir, None)
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(
        target=run_pipeline,
        args=(str(config), MAILBOX, _items(corpus), results, timeout),
        name="bench-pipeline",
        daemon=True,
    )
    process.start()
    try:
        result: PipelineResult = results.get(timeout=timeout + SPAWN_TIMEOUT)
    except queue.Empty:
        phase["error"] = f"time limit: the pipeline did not finish within {timeout:.0f} s"
        return phase
    finally:
        _kill_processes([process])
    if result.error:
        phase["error"] = result.error
        return phase
    phase.update(
        messages=result.messages,
        failed=len(result.failures),
        failures=[f"#{index}: {reason}" for index, reason in result.failures[:10]],
        seconds=round(result.seconds, 3),
        submit_s=round(result.submit_seconds, 3),
        open_s=round(result.open_seconds, 3),
        msgs_per_s=round(result.messages / result.seconds, 1) if result.seconds > 0 else None,
    )
    phase["verify"] = verify(workdir / "data" / "maild.db", corpus).to_json()
    return phase


class StoredCounter:
    """Counts the rows of ``messages`` every ``interval`` seconds while a phase writes them
    (a read-only connection: in WAL mode it never blocks the writer)."""

    def __init__(self, database: Path, interval: float) -> None:
        self.database = database
        self.interval = interval
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-stored-counter", daemon=True)

    def __enter__(self) -> StoredCounter:
        self.samples.append((time.monotonic(), 0))
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        try:
            while not self._stop.wait(self.interval):
                try:
                    if connection is None:
                        if not self.database.exists():
                            continue
                        connection = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True)
                    (count,) = connection.execute("SELECT count(*) FROM messages").fetchone()
                except sqlite3.Error:  # not created yet, or busy: the next tick will tell
                    continue
                self.samples.append((time.monotonic(), int(count)))
        finally:
            if connection is not None:
                connection.close()


def run_import(
    corpus: Sequence[CorpusMail], workdir: Path, timeout: float, seed: int
) -> dict[str, Any]:
    order = shuffled(corpus, seed)
    mbox = workdir / "corpus.mbox"
    write_mbox(order, mbox)
    return import_mbox(mbox, corpus, workdir, timeout, replies_before_parent(order))


def import_mbox(
    mbox: Path,
    corpus: Sequence[ThreadedMail],
    workdir: Path,
    timeout: float,
    replies_first: int,
    *,
    name: str = "import",
    sample_every: float | None = None,
) -> dict[str, Any]:
    """``python -m maild import --json MBOX`` into a new database under ``workdir``; with
    ``sample_every``, the stored count is sampled that often and the rate is reported for
    each tenth of the corpus."""
    phase: dict[str, Any] = {"phase": name}
    config = write_config(workdir, None)
    phase["replies_before_parent"] = replies_first
    phase["mbox_bytes"] = mbox.stat().st_size
    command = [sys.executable, "-m", "maild", "-c", str(config), "import", "--json", str(mbox)]
    counter = StoredCounter(workdir / "data" / "maild.db", sample_every or 1.0)
    started = time.perf_counter()
    try:
        with counter if sample_every else contextlib.nullcontext():
            done = run_maild(command, workdir, timeout)
    except subprocess.TimeoutExpired:
        phase["error"] = f"time limit: maild import did not finish within {timeout:.0f} s"
        return phase
    phase["wall_s"] = round(time.perf_counter() - started, 3)
    if sample_every:
        samples = counter.samples
        stored = count_messages(workdir / "data" / "maild.db")
        if stored > samples[-1][1]:  # stored between the last tick and the exit
            samples.append((time.monotonic(), stored))
        phase["rates_by_tenth"] = rates_by_part(samples, len(corpus), 10)
    phase["exit"] = done.returncode
    try:
        summary = json.loads(done.stdout)
    except json.JSONDecodeError:
        tail = done.stderr.decode("utf-8", "replace").splitlines()[-20:]
        phase["error"] = f"maild import exited with {done.returncode}:\n" + "\n".join(tail)
        return phase
    phase.update(
        messages=summary["done"],
        failed=summary["deferred"],
        seconds=summary["seconds"],
        msgs_per_s=summary["msgs_per_s"],
        new_tickets=summary["new_tickets"],
        replies=summary["replies"],
    )
    if done.returncode != 0:
        phase["error"] = f"maild import exited with {done.returncode}"
    phase["verify"] = verify(workdir / "data" / "maild.db", corpus).to_json()
    return phase


def run_command(
    name: str, workdir: Path, arguments: Sequence[str], timeout: float, *, rounds: int = 2
) -> dict[str, Any]:
    """``python -m maild -c CONFIG ARGUMENTS…`` on ``workdir``'s database, ``rounds`` times;
    the wall time of each (process start-up included, as a user sees it) and its output."""
    config = workdir / "maild.toml"
    command = [sys.executable, "-m", "maild", "-c", str(config), *arguments]
    result: dict[str, Any] = {"command": name, "argv": ["maild", *arguments], "seconds": []}
    for _ in range(rounds):
        started = time.perf_counter()
        try:
            done = run_maild(command, workdir, timeout)
        except subprocess.TimeoutExpired:
            result["error"] = f"time limit: did not finish within {timeout:.0f} s"
            return result
        result["seconds"].append(round(time.perf_counter() - started, 3))
        result["exit"] = done.returncode
        result["stdout_bytes"] = len(done.stdout)
        result["stdout_lines"] = done.stdout.count(b"\n")
        result["stdout"] = done.stdout.decode("utf-8", "replace")[:2000]
        if done.returncode != 0:
            tail = done.stderr.decode("utf-8", "replace").splitlines()[-20:]
            result["error"] = f"exited with {done.returncode}:\n" + "\n".join(tail)
            return result
    return result


# --------------------------------------------------------------------------------------------
# The large run: a year of history


def fresh_mails(count: int, seed: int, history: Sequence[ThreadedMail]) -> list[CorpusMail]:
    """``count`` new mails of another seed for SMTP on the history: their own threads and
    replies; a mail whose Message-ID is already in the history (never seen so far) and the
    replies under it are left out, so that every fresh mail is new to the database."""
    taken = {mail.message_id for mail in history}
    mails = generate(count, seed=seed, mailbox=MAILBOX)
    dropped: set[int] = set()
    for mail in mails:
        if mail.message_id in taken or mail.parent_index in dropped:
            dropped.add(mail.index)
    return [mail for mail in mails if mail.index not in dropped]


def run_large(
    args: argparse.Namespace, base: Path, small_import_rate: float | None
) -> dict[str, Any]:
    """The history phases; their results go under ``results["large"]``."""
    fresh_seed = args.seed + FRESH_SEED_OFFSET
    large: dict[str, Any] = {
        "count": args.large_count,
        "seed": args.seed,
        "fresh_seed": fresh_seed,
        "targets": {
            "import_ratio": TARGET_LARGE_IMPORT_RATIO,
            "smtp_ratio": TARGET_LARGE_SMTP_RATIO,
            "smtp_clients": TARGET_RATE_CLIENTS,
            "list_seconds": TARGET_LIST_SECONDS,
        },
        "phases": [],
        "commands": [],
    }
    log(f"history corpus of {args.large_count:,} mails")
    cached: CachedCorpus = cached_corpus(
        args.large_count, args.seed, mailbox=MAILBOX, cache_dir=args.cache_dir, log=log
    )
    large["corpus"] = cached.summary
    large["cache"] = {
        "mbox": _display_path(cached.mbox),
        "reused": cached.reused,
        "seconds": round(cached.seconds, 1),
    }
    fresh = fresh_mails(args.fresh_count, fresh_seed, cached.facts)
    large["fresh"] = summarize(fresh)
    large["fresh_left_out"] = args.fresh_count - len(fresh)  # Message-ID already in history

    history = base / "large-import"
    history.mkdir()
    log(f"maild import of the {args.large_count:,}-mail history as a shuffled mbox: {history}")
    phase = import_mbox(
        cached.mbox,
        cached.facts,
        history,
        args.large_timeout,
        cached.replies_before_parent,
        name="large-import",
        sample_every=1.0,
    )
    phase["ratio"] = ratio(phase.get("msgs_per_s"), small_import_rate)
    phase["targets"] = _ratio_target(phase["ratio"], TARGET_LARGE_IMPORT_RATIO, "1,000 import")
    large["phases"].append(phase)
    imported = "verify" in phase and phase["verify"]["stored_once"] > 0

    empty = base / "large-smtp-empty"
    empty.mkdir()
    clients = TARGET_RATE_CLIENTS
    log(f"SMTP intake of {len(fresh)} new mails, {clients} clients, empty database: {empty}")
    empty_phase = run_smtp(fresh, clients, empty, args.timeout, name="large-smtp-empty")
    empty_phase["targets"] = {}
    large["phases"].append(empty_phase)

    if imported:
        log(f"SMTP intake of {len(fresh)} new mails, {clients} clients, on the history: {history}")
        phase = run_smtp(fresh, clients, history, args.timeout, name="large-smtp-history")
        phase["ratio"] = ratio(phase.get("msgs_per_s"), empty_phase.get("msgs_per_s"))
        phase["targets"] = _ratio_target(phase["ratio"], TARGET_LARGE_SMTP_RATIO, "empty")
        large["phases"].append(phase)

        log("maild tickets list, tickets search, report and sla sweep on the history")
        listing = run_command("tickets-list", history, ["tickets", "list"], args.timeout)
        best = min(listing["seconds"], default=None)
        if best is not None and "error" not in listing:
            listing["targets"] = {f"<= {TARGET_LIST_SECONDS:.0f} s": best <= TARGET_LIST_SECONDS}
        large["commands"].append(listing)
        # Full text over the whole history (a common word: the worst case); the time
        # includes the process start-up, about 0.35 s of it.
        searching = ["tickets", "search", SEARCH_WORD, "--all"]
        large["commands"].append(run_command("tickets-search", history, searching, args.timeout))
        # maild report over every ticket of the history (the worst case: a year at once),
        # and broken down by agent; process start-up included.
        everything = ["report", "--since", "2000-01-01"]
        for name, arguments in (
            ("report-all", everything),
            ("report-all-by-agent", [*everything, "--by", "agent"]),
        ):
            reported = run_command(name, history, arguments, args.timeout)
            best = min(reported["seconds"], default=None)
            if best is not None and "error" not in reported:
                target = f"<= {TARGET_REPORT_SECONDS:.0f} s"
                reported["targets"] = {target: best <= TARGET_REPORT_SECONDS}
            large["commands"].append(reported)
        sweep = run_command("sla-sweep", history, ["sla", "sweep", "--json"], args.timeout)
        try:
            sweep["report"] = json.loads(sweep.get("stdout") or "null")
        except json.JSONDecodeError:
            sweep["report"] = None
        large["commands"].append(sweep)
    for phase in large["phases"]:
        phase["ok"] = phase_ok(phase)
        if not phase["ok"]:
            log(f"  {phase['phase']}: FAILED")
    for command in large["commands"]:
        command["ok"] = "error" not in command and command.get("exit") == 0
    large["ok"] = (
        imported
        and all(phase["ok"] for phase in large["phases"])
        and all(command["ok"] for command in large["commands"])
    )
    return large


def _ratio_target(value: float | None, target: float, reference: str) -> dict[str, bool]:
    verdict = meets(value, target)
    return {} if verdict is None else {f">= {target}x {reference}": verdict}


# --------------------------------------------------------------------------------------------
# Report


def phase_ok(phase: dict[str, Any]) -> bool:
    return (
        "error" not in phase
        and not phase.get("failed")
        and phase.get("verify", {}).get("ok", False)
        and phase.get("daemon_exit", 0) == 0
    )


def targets_of(phase: dict[str, Any]) -> dict[str, bool]:
    checks: dict[str, bool] = {}
    if phase["phase"] == "import" and "error" not in phase:
        if phase.get("msgs_per_s") is not None:
            checks[f"msg/s >= {TARGET_IMPORT_RATE:.0f}"] = phase["msgs_per_s"] >= TARGET_IMPORT_RATE
        return checks
    if not phase["phase"].startswith("smtp") or "error" in phase:
        return checks
    if phase.get("clients") == TARGET_RATE_CLIENTS and phase.get("msgs_per_s") is not None:
        checks[f"msg/s >= {TARGET_RATE:.0f}"] = phase["msgs_per_s"] >= TARGET_RATE
    if phase.get("p99_ms") is not None:
        checks[f"p99 <= {TARGET_P99_MS:.0f} ms"] = phase["p99_ms"] <= TARGET_P99_MS
    return checks


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}" if value < 10 else f"{value:,.1f}"
    return str(value)


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows under a header and a rule; the first and last columns left-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for number, row in enumerate(rows):
        cells = [
            cell.ljust(widths[i]) if i in (0, len(row) - 1) else cell.rjust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return lines


def _targets_cell(targets: dict[str, bool]) -> str:
    return ", ".join(f"{k} {'ok' if v else 'MISS'}" for k, v in targets.items())


def _verify_problems(check: dict[str, Any]) -> list[str]:
    problems = []
    if check.get("error"):
        problems.append(check["error"])
    if check["missing"]:
        problems.append(f"missing #{check['missing']}")
    if check["duplicated"]:
        problems.append(f"stored twice #{check['duplicated']}")
    if check["misthreaded"]:
        problems.append(f"replies not on the parent's ticket #{check['misthreaded']}")
    if check["tickets"] != check["threads"]:
        problems.append(f"{check['tickets']} tickets for {check['threads']} threads")
    if check.get("quarantined"):
        problems.append(f"{check['quarantined']} in quarantine")
    return problems


def _kept_whole(check: dict[str, Any]) -> str:
    if "own_reply_threads" not in check:
        return "-"
    return f"{check['kept_whole']}/{check['own_reply_threads']}"


def render(results: dict[str, Any]) -> str:
    corpus = results["corpus"]
    lines = [
        f"maild benchmark: {corpus['mails']} mails, {corpus['threads']} threads, "
        f"{corpus['replies']} replies, {corpus['bytes'] / 1e6:.1f} MB "
        f"({corpus['multipart_alternative']} multipart/alternative, "
        f"{corpus['attachments']} with attachment, {corpus['long_lines']} with lines > 1000, "
        f"{corpus['encoded_words']} with encoded words), seed {results['seed']}",
        f"{results['environment']['python']} on {results['environment']['platform']}, "
        f"{results['environment']['cpus']} CPUs",
        "",
    ]
    header = (
        "phase",
        "msg/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "stored",
        "threaded",
        "tickets",
        "exit",
        "targets",
    )
    rows: list[tuple[str, ...]] = [header]
    notes: list[str] = []
    for phase in results["phases"]:
        if phase["phase"].startswith("smtp"):
            name = f"SMTP, {phase['clients']} connection{'s' if phase['clients'] != 1 else ''}"
        elif phase["phase"] == "import":
            name = "maild import (mbox)"
        else:
            name = "in-process pipeline"
        check = phase.get("verify") or {}
        targets = targets_of(phase)
        rows.append(
            (
                name,
                _cell(phase.get("msgs_per_s")),
                _cell(phase.get("p50_ms")),
                _cell(phase.get("p99_ms")),
                _cell(phase.get("max_ms")),
                f"{check['stored_once']}/{check['mails']}" if check else "-",
                f"{check['threaded']}/{check['replies']}" if check else "-",
                f"{check['tickets']}/{check['threads']}" if check else "-",
                _cell(phase.get("daemon_exit", phase.get("exit")))
                if phase["phase"] != "inprocess"
                else "",
                _targets_cell(targets),
            )
        )
        if "error" in phase:
            notes.append(f"{name}: ERROR: {phase['error']}")
        if phase.get("failed"):
            notes.append(
                f"{name}: {phase['failed']} message(s) refused"
                + (f", {phase['unsent']} not sent" if phase.get("unsent") else "")
                + ": "
                + "; ".join(phase.get("failures", []))
            )
        if check and not check.get("ok"):
            notes.append(f"{name}: VERIFY FAILED: " + "; ".join(_verify_problems(check)))
        if check and phase.get("clients") == TARGET_RATE_CLIENTS:
            notes.append(
                f"{name}: threads kept whole: {_kept_whole(check)} (own-reply threads, "
                "every mail of the thread on one ticket)"
            )
        if phase["phase"] == "import" and "seconds" in phase:
            notes.append(
                f"{name}: {phase['messages']} messages in {phase['seconds']} s "
                f"({phase['wall_s']} s with process start-up); the file is shuffled, "
                f"{phase['replies_before_parent']} replies come before their parent in it"
            )
        if phase["phase"] == "inprocess" and "seconds" in phase:
            notes.append(
                f"{name}: {phase['messages']} messages in {phase['seconds']} s "
                f"(submit loop incl. parsing {phase['submit_s']} s, "
                f"Runtime.open {phase['open_s']} s)"
            )
    lines.extend(_table(rows))
    lines.append("")
    lines.append(
        f"targets: >= {TARGET_RATE:.0f} msg/s with {TARGET_RATE_CLIENTS} clients, "
        f"p99 <= {TARGET_P99_MS:.0f} ms (per sendmail, up to the 250 after DATA); "
        f"maild import >= {TARGET_IMPORT_RATE:.0f} msg/s with every reply threaded"
    )
    lines.extend(notes)
    if "parse_rate" in results:
        rate = results["parse_rate"]
        lines.append(f"maild parse: {rate['msgs_per_s']:,.0f} msg/s over {rate['corpus']}")
    if "postgres" in results:
        from bench.postgres import render_postgres

        lines.append("")
        lines.extend(render_postgres(results["postgres"]))
    if "large" in results:
        lines.append("")
        lines.extend(render_large(results["large"]))
    lines.append(f"result: {'PASSED' if results['ok'] else 'FAILED'}")
    return "\n".join(lines)


_LARGE_NAMES = {
    "large-import": "maild import (mbox)",
    "large-smtp-empty": "SMTP, {clients} connections, empty database",
    "large-smtp-history": "SMTP, {clients} connections, on the history",
}


def render_large(large: dict[str, Any]) -> list[str]:
    corpus = large.get("corpus")
    lines = []
    if corpus:
        cache = large["cache"]
        how = "reused" if cache["reused"] else f"written in {cache['seconds']:.0f} s"
        fresh = large["fresh"]
        lines += [
            f"history: {corpus['mails']:,} mails, {corpus['threads']:,} threads, "
            f"{corpus['replies']:,} replies, {corpus['bytes'] / 1e6:.1f} MB, seed {large['seed']} "
            f"(mbox {cache['mbox']}, {how}); then {fresh['mails']:,} new mails over SMTP "
            f"({fresh['threads']:,} threads, {fresh['replies']:,} replies, "
            f"seed {large['fresh_seed']})"
            + (
                f"; {large['fresh_left_out']} left out (Message-ID already in the history)"
                if large.get("fresh_left_out")
                else ""
            ),
            "",
        ]
    header = (
        "phase",
        "msg/s",
        "ratio",
        "p50 ms",
        "p99 ms",
        "stored",
        "threaded",
        "tickets",
        "kept whole",
        "peak RSS MiB",
        "exit",
        "targets",
    )
    rows: list[tuple[str, ...]] = [header]
    notes: list[str] = []
    for phase in large["phases"]:
        name = _LARGE_NAMES[phase["phase"]].format(clients=phase.get("clients"))
        check = phase.get("verify") or {}
        rows.append(
            (
                name,
                _cell(phase.get("msgs_per_s")),
                f"{phase['ratio']:.2f}x" if phase.get("ratio") is not None else "-",
                _cell(phase.get("p50_ms")),
                _cell(phase.get("p99_ms")),
                f"{check['stored_once']}/{check['mails']}" if check else "-",
                f"{check['threaded']}/{check['replies']}" if check else "-",
                f"{check['tickets']}/{check['threads']}" if check else "-",
                _kept_whole(check) if check else "-",
                _cell(phase.get("peak_rss_mib")),
                _cell(phase.get("daemon_exit", phase.get("exit"))),
                _targets_cell(phase.get("targets", {})),
            )
        )
        if "error" in phase:
            notes.append(f"{name}: ERROR: {phase['error']}")
        if phase.get("failed"):
            notes.append(
                f"{name}: {phase['failed']} message(s) refused: "
                + "; ".join(phase.get("failures", []))
            )
        if check and not check.get("ok"):
            notes.append(f"{name}: VERIFY FAILED: " + "; ".join(_verify_problems(check)))
        if phase["phase"] == "large-import" and "seconds" in phase:
            notes.append(
                f"{name}: {phase['messages']:,} messages in {phase['seconds']} s "
                f"({phase['wall_s']} s with process start-up, {phase['mbox_bytes'] / 1e6:.0f} MB); "
                f"{phase['replies_before_parent']:,} replies come before their parent in the file"
            )
        if phase.get("rates_by_tenth"):
            tenths = " ".join(_cell(rate) for rate in phase["rates_by_tenth"])
            notes.append(f"{name}: msg/s by tenth of the history, as stored: {tenths}")
        if "peak_rss_mib" in phase:
            notes.append(
                f"{name}: maild serve RSS {phase.get('rss_ready_mib', '-')} MiB when ready, "
                f"{phase['rss_mib']} MiB after the last 250, peak {phase['peak_rss_mib']} MiB "
                f"(VmHWM); start-up {phase.get('startup_s', '-')} s"
            )
    lines.extend(_table(rows))
    if large["commands"]:
        lines.append("")
        rows = [("command on the history", "1st s", "2nd s", "exit", "targets", "output")]
        for command in large["commands"]:
            seconds = [f"{value:.2f}" for value in command["seconds"]]
            seconds += ["-"] * (2 - len(seconds))
            kilobytes = command.get("stdout_bytes", 0) / 1e3
            output = f"{command.get('stdout_lines', 0):,} lines, {kilobytes:,.1f} kB"
            report = command.get("report")
            if isinstance(report, dict):
                output = (
                    f"{report.get('open_tickets')} open, {report.get('due_tickets')} due, "
                    f"{report.get('fired')} fired; sweep {report.get('seconds')} s"
                )
            rows.append(
                (
                    " ".join(command["argv"]),
                    *seconds[:2],
                    _cell(command.get("exit")),
                    _targets_cell(command.get("targets", {})),
                    output,
                )
            )
            if "error" in command:
                notes.append(f"{' '.join(command['argv'])}: ERROR: {command['error']}")
        lines.extend(_table(rows))
    lines.append("")
    lines.append(
        f"targets: maild import of the history >= {TARGET_LARGE_IMPORT_RATIO}x the rate of the "
        f"1,000-mail import; SMTP ({TARGET_RATE_CLIENTS} clients) on the history >= "
        f"{TARGET_LARGE_SMTP_RATIO}x on an empty database, the same mails in the same run; "
        f"tickets list <= {TARGET_LIST_SECONDS:.0f} s (best of two, process start-up included)"
    )
    lines.extend(notes)
    return lines


def _git_revision() -> str | None:
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


# --------------------------------------------------------------------------------------------
# Main


def _client_counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected e.g. '1,4', got {text!r}") from None
    if not counts or any(count < 1 for count in counts):
        raise argparse.ArgumentTypeError(f"expected positive client counts, got {text!r}")
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="corpus size (default 1000)")
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (default 1)")
    parser.add_argument(
        "--clients",
        type=_client_counts,
        default=[1, 4],
        help="SMTP client connections per run, comma-separated (default 1,4)",
    )
    parser.add_argument("--skip-inprocess", action="store_true", help="leave out the pipeline run")
    parser.add_argument("--skip-import", action="store_true", help="leave out maild import")
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="hard limit per phase in seconds (300)"
    )
    parser.add_argument(
        "--skip-large",
        action="store_true",
        help="leave out the history run (import, SMTP, console on --large-count mails)",
    )
    parser.add_argument(
        "--large-count",
        type=int,
        default=LARGE_COUNT,
        help=f"mails in the history corpus (default {LARGE_COUNT})",
    )
    parser.add_argument(
        "--fresh-count",
        type=int,
        default=FRESH_COUNT,
        help=f"new mails sent over SMTP to the history (default {FRESH_COUNT})",
    )
    parser.add_argument(
        "--large-timeout",
        type=float,
        default=1800.0,
        help="hard limit for the import of the history in seconds (1800)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=CACHE_DIR,
        help="where the history corpus is kept between runs (bench/out/cache)",
    )
    parser.add_argument(
        "--skip-postgres", action="store_true", help="leave out the PostgreSQL SMTP runs"
    )
    parser.add_argument("--out", type=Path, default=OUT_DIR / "results.json", help="JSON output")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directories")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    if args.large_count < 1 or args.fresh_count < 1:
        parser.error("--large-count and --fresh-count must be at least 1")
    started = time.monotonic()

    log(f"generating {args.count} mails (seed {args.seed})")
    corpus = generate(args.count, seed=args.seed, mailbox=MAILBOX)
    results: dict[str, Any] = {
        "seed": args.seed,
        "corpus": summarize(corpus),
        "environment": {
            "python": f"Python {platform.python_version()}",
            "platform": platform.platform(terse=True),
            "cpus": os.cpu_count(),
            "revision": _git_revision(),
        },
        "targets": {
            "msgs_per_s": TARGET_RATE,
            "msgs_per_s_clients": TARGET_RATE_CLIENTS,
            "p99_ms": TARGET_P99_MS,
            "import_msgs_per_s": TARGET_IMPORT_RATE,
        },
        "phases": [],
    }
    ok = True

    base = Path(tempfile.mkdtemp(prefix="maild-bench-"))
    plan: list[tuple[str, Any]] = [(f"smtp-{n}", n) for n in args.clients]
    if not args.skip_inprocess:
        plan.append(("inprocess", None))
    if not args.skip_import:
        plan.append(("import", None))
    try:
        for name, clients in plan:
            workdir = base / name
            workdir.mkdir()
            if clients is not None:
                log(f"SMTP intake, {clients} client connection(s): {workdir}")
                phase = run_smtp(corpus, clients, workdir, args.timeout)
            elif name == "import":
                log(f"maild import of the corpus as a shuffled mbox: {workdir}")
                phase = run_import(corpus, workdir, args.timeout, args.seed)
            else:
                log(f"in-process pipeline: {workdir}")
                phase = run_inprocess(corpus, workdir, args.timeout)
            phase["targets"] = targets_of(phase)
            phase["ok"] = phase_ok(phase)
            results["phases"].append(phase)
            if not phase["ok"]:
                log(f"  {name}: FAILED (data kept in {workdir})")
        if not args.skip_postgres:
            from bench.postgres import run_postgres

            results["postgres"] = run_postgres(corpus, base, args.timeout)
            ok = ok and results["postgres"]["ok"]
        if not args.skip_large:
            small_import = next((p for p in results["phases"] if p["phase"] == "import"), {})
            results["large"] = run_large(args, base, small_import.get("msgs_per_s"))
            ok = ok and results["large"]["ok"]
    finally:
        results["ok"] = ok and bool(results["phases"]) and all(p["ok"] for p in results["phases"])
        if args.keep or not results.get("ok"):
            log(f"data directories kept in {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)

    # `maild parse` rate over the fixture corpus: stripping quoted history and reading
    # bounces must not make parsing the slow part of intake.
    results["parse_rate"] = {
        "corpus": _display_path(FIXTURES),
        "msgs_per_s": round(measure_parse_rate([FIXTURES], rounds=50), 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    results["wall_s"] = round(time.monotonic() - started, 1)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(render(results))
    print(f"figures written to {_display_path(args.out)}; bench.run took {results['wall_s']:.0f} s")
    return 0 if results["ok"] else 1


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
