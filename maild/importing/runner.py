"""``maild import``: an archive through the same intake pipeline and group-commit writer as
live mail.

Messages are stored in :func:`~maild.importing.order.import_order`, each handed to the intake
service as soon as it is parsed; up to :data:`WINDOW` wait for their commit at a time, so the
writer always has a full group (``[intake] max_batch``) to commit. Parsing, the expensive part
that does not touch the database, runs in worker processes when there are spare cores, while
this process's writer thread stores what they parsed.

Interrupted (``stop`` set by Ctrl-C or SIGTERM) it stops handing in messages, lets what it
handed in commit and reports. Every message either committed or not, so running the same
import again stores the rest, and deduplication (Message-ID per mailbox, else SHA-256) skips
what is there already.
A dry run (:func:`dry_run`) is this same import on a scratch copy of the database
(``maild.simulation``): what it reports is what the import would do, and nothing is kept.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from maild.config import Config, MailboxConfig
from maild.importing.order import import_order
from maild.importing.sources import Archive, Entry
from maild.pipeline.delivery import DeliveryResult, HistoryImport, Outcome
from maild.pipeline.envelope import stored_delivery
from maild.pipeline.errors import TemporaryFailure
from maild.pipeline.intake import parse_raw
from maild.runtime import Runtime
from parsing import ParsedMail
from storage.scratch import Changes

log = logging.getLogger(__name__)

SOURCE = "import"
# Messages (and bytes) handed to the writer and not yet committed, at most.
WINDOW = 1000
WINDOW_BYTES = 64 * 1024 * 1024
# Messages a parsing worker takes at a time, and chunks in flight per worker.
CHUNK = 32
CHUNKS_PER_WORKER = 4
# Below this many messages, starting worker processes costs more than it saves.
POOL_THRESHOLD = 200
PARENT_CHECK_SECONDS = 0.5


@dataclass
class ImportSummary:
    archive: str
    mailbox: str
    found: int = 0
    new_tickets: int = 0
    replies: int = 0
    duplicates: int = 0
    quarantined: int = 0
    automated: int = 0
    deferred: int = 0  # temporary failures: not stored, run the import again
    seconds: float = 0.0
    dry_run: bool = False
    interrupted: bool = False
    notify: bool = False
    errors: list[str] = field(default_factory=list)
    # A dry run: what the import added to the scratch copy, and what that copy was of.
    simulation: Changes | None = None
    simulated_on: str = ""

    @property
    def done(self) -> int:
        return self.new_tickets + self.replies + self.duplicates + self.quarantined

    @property
    def rate(self) -> float | None:
        return self.done / self.seconds if self.seconds > 0 else None

    def count(self, result: DeliveryResult) -> None:
        if result.outcome is Outcome.NEW_TICKET:
            self.new_tickets += 1
        elif result.outcome is Outcome.REPLY:
            self.replies += 1
        elif result.outcome is Outcome.DUPLICATE:
            self.duplicates += 1
        else:
            self.quarantined += 1
        if result.automated is not None and result.outcome is not Outcome.DUPLICATE:
            self.automated += 1

    @property
    def linked(self) -> int:
        """New tickets that link another (a stranger's mail, a follow-up of a closed
        ticket); known for a dry run only."""
        if self.simulation is None:
            return 0
        return sum(1 for ticket in self.simulation.tickets if ticket.linked_to is not None)

    def to_json(self) -> dict[str, Any]:
        data = asdict(replace(self, simulation=None))
        del data["simulation"]
        if self.simulation is not None:
            from maild.simulation import changes_json

            data["would"] = changes_json(self.simulation, events=False)
            data["linked"] = self.linked
        data["done"] = self.done
        data["msgs_per_s"] = round(self.rate, 1) if self.rate is not None else None
        data["seconds"] = round(self.seconds, 3)
        return data


class Progress:
    """What the runner reports while it works; the CLI draws a bar from it."""

    def indexed(self, count: int) -> None:
        """``count`` messages found so far while reading the archive."""

    def started(self, total: int) -> None:
        """Storing begins: ``total`` messages in order."""

    def advanced(self, count: int) -> None:
        """``count`` more messages committed (or counted, in a dry run)."""


# --------------------------------------------------------------------------------------------
# Parsing, in worker processes where there are spare cores


def _worker_init() -> None:
    # Ctrl-C reaches the whole process group: the parent decides, the workers go on.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's "interrupt" handler
    parent = os.getppid()

    def watch_parent() -> None:
        # A parent killed outright (kill -9) leaves its workers waiting for work forever.
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch_parent, name="parent-watch", daemon=True).start()


def _read_and_parse(
    archive: Archive, entries: Sequence[Entry], prefix: str
) -> list[tuple[bytes, ParsedMail]]:
    out = []
    for entry in entries:
        raw = archive.read(entry)
        out.append((raw, parse_raw(raw, prefix)))
    return out


def parsing_workers(total: int) -> int:
    """Worker processes for ``total`` messages: every core but one (the writer's)."""
    if total < POOL_THRESHOLD:
        return 0
    return max(0, min((os.cpu_count() or 1) - 1, 4))


def _pool(workers: int) -> ProcessPoolExecutor | None:
    if workers < 1:
        return None
    # fork is cheap, and safe while this process has no other thread (``maild import``
    # starts the pool before the writer thread); otherwise a fresh interpreter per worker.
    fork = "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
    context = multiprocessing.get_context("fork" if fork else "spawn")
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_init)


def parsed_in_order(
    archive: Archive,
    entries: Sequence[Entry],
    prefix: str,
    pool: ProcessPoolExecutor | None,
    workers: int,
) -> Iterator[tuple[Entry, bytes, ParsedMail]]:
    """Each entry with its bytes and parse, in the order given."""
    chunks = [entries[i : i + CHUNK] for i in range(0, len(entries), CHUNK)]
    if pool is None:
        for chunk in chunks:
            yield from _zip(chunk, _read_and_parse(archive, chunk, prefix))
        return
    pending: deque[tuple[Sequence[Entry], Future[list[tuple[bytes, ParsedMail]]]]] = deque()
    upcoming = iter(chunks)
    for chunk in upcoming:
        pending.append((chunk, pool.submit(_read_and_parse, archive, chunk, prefix)))
        if len(pending) >= workers * CHUNKS_PER_WORKER:
            break
    while pending:
        chunk, future = pending.popleft()
        next_chunk = next(upcoming, None)
        if next_chunk is not None:
            pending.append((next_chunk, pool.submit(_read_and_parse, archive, next_chunk, prefix)))
        try:
            parsed = future.result()
        except Exception as error:  # a worker died: parse this chunk here instead
            log.warning("parsing worker failed (%s); parsing here", error)
            parsed = _read_and_parse(archive, chunk, prefix)
        yield from _zip(chunk, parsed)


def _zip(
    chunk: Sequence[Entry], parsed: list[tuple[bytes, ParsedMail]]
) -> Iterator[tuple[Entry, bytes, ParsedMail]]:
    for entry, (raw, mail) in zip(chunk, parsed, strict=True):
        yield entry, raw, mail


# --------------------------------------------------------------------------------------------
# The import


class _Stopped(Exception):
    pass


def index(archive: Archive, progress: Progress, stop: threading.Event) -> list[Entry]:
    entries = []
    for entry in archive.entries():
        entries.append(entry)
        if len(entries) % 500 == 0:
            progress.indexed(len(entries))
            if stop.is_set():
                raise _Stopped
    progress.indexed(len(entries))
    return import_order(entries)


def run_import(
    config: Config,
    archive: Archive,
    mailbox: MailboxConfig,
    *,
    notify: bool = False,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    runtime_factory: Callable[[Config], Any] = Runtime.open,
    history: HistoryImport | None = None,
) -> ImportSummary:
    """Store every message of ``archive`` for ``mailbox``; returns what became of them.

    Setting ``stop`` (from a signal handler) ends the import cleanly: nothing more is handed
    in, and what was handed in commits and is counted before this returns. ``history`` says
    how the old mail is stored (its dates, status, agents; default: closed history).
    """
    history = history or HistoryImport()
    progress = progress or Progress()
    stop = stop or threading.Event()
    summary = ImportSummary(archive.describe(), mailbox.address, notify=notify)
    started = time.perf_counter()
    entries = _index_into(summary, archive, progress, stop)
    if entries is None:
        return summary
    workers = parsing_workers(len(entries))
    pool = _pool(workers)  # before the writer thread starts (fork)
    try:
        with runtime_factory(config) as runtime:
            progress.started(len(entries))
            _store_all(
                runtime,
                archive,
                entries,
                mailbox,
                notify,
                pool,
                workers,
                summary,
                progress,
                stop,
                history,
            )
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        summary.seconds = time.perf_counter() - started
    return summary


def _store_all(
    runtime: Runtime,
    archive: Archive,
    entries: Sequence[Entry],
    mailbox: MailboxConfig,
    notify: bool,
    pool: ProcessPoolExecutor | None,
    workers: int,
    summary: ImportSummary,
    progress: Progress,
    stop: threading.Event,
    history: HistoryImport,
) -> None:
    prefix = runtime.config.maild.ticket_prefix
    window: deque[tuple[Entry, int, Future[DeliveryResult]]] = deque()
    in_flight = 0

    def collect_one() -> None:
        nonlocal in_flight
        entry, size, future = window.popleft()
        in_flight -= size
        try:
            summary.count(future.result())
        except TemporaryFailure as error:
            summary.deferred += 1
            if len(summary.errors) < 10:
                summary.errors.append(f"{entry.path}#{entry.position}: {error}")
        progress.advanced(1)

    try:
        for entry, raw, parsed in parsed_in_order(archive, entries, prefix, pool, workers):
            if stop.is_set():
                summary.interrupted = True
                break
            delivery = stored_delivery(
                raw,
                mailbox,
                SOURCE,
                facts=entry.facts,
                envelope_sender=entry.envelope_sender,
                notify=notify,
                history=history,
            )
            [future] = runtime.intake.submit_per_mailbox(delivery, parsed=parsed).values()
            window.append((entry, len(raw), future))
            in_flight += len(raw)
            # Count what has committed meanwhile (the progress bar moves with the commits);
            # wait only when the window is full.
            while window and (
                window[0][2].done() or len(window) > WINDOW or in_flight > WINDOW_BYTES
            ):
                collect_one()
    except KeyboardInterrupt:  # no handler set ``stop``: the same, as far as it can be
        summary.interrupted = True
    if summary.interrupted:
        log.warning("interrupted: storing the %d message(s) handed in, then stopping", len(window))
    while window:  # what was handed in commits (or fails) either way
        collect_one()


# --------------------------------------------------------------------------------------------
# Dry run


def dry_run(
    config: Config,
    archive: Archive,
    mailbox: MailboxConfig,
    *,
    notify: bool = False,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    history: HistoryImport | None = None,
) -> ImportSummary:
    """What :func:`run_import` would do: the same import, on a scratch copy of the database
    (:mod:`maild.simulation`), reported and thrown away. The live database is only read,
    its ticket counter is not used, and no mail leaves."""
    from maild.simulation import Simulation

    with Simulation(config) as simulation:
        summary = run_import(
            config,
            archive,
            mailbox,
            notify=notify,
            progress=progress,
            stop=stop,
            runtime_factory=simulation.runtime,
            history=history,
        )
        summary.dry_run = True
        summary.simulation = simulation.changes()
        summary.simulated_on = simulation.source
    return summary


def _index_into(
    summary: ImportSummary, archive: Any, progress: Any, stop: threading.Event
) -> list[Any] | None:
    """Index ``archive`` and count what was found; None when stopped while indexing."""
    try:
        entries = index(archive, progress, stop)
    except (_Stopped, KeyboardInterrupt):
        summary.interrupted = True
        return None
    summary.found = len(entries)
    return entries
