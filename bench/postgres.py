"""``make bench`` on PostgreSQL: SMTP intake with 4 clients on one ``maild serve``, then on
two instances sharing one database (two clients each), as behind two MX hosts.

The database is ``MAILD_BENCH_DATABASE_URL``, else ``maild_bench`` on the local server with
the role ``.ci/run`` makes (``maild``/``maild``) when that answers; otherwise the phases
are left out with a note. The bench empties that database before each phase: give it one
of its own. Each phase runs the corpus against an empty schema and checks what was stored
the way the SQLite phases do (every mail once, replies on their parent's ticket, a ticket
per thread).
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.corpus import CorpusMail
from bench.run import (
    HOST,
    MAILBOX,
    SPAWN_TIMEOUT,
    BenchError,
    Daemon,
    Verification,
    _items,
    _kill_processes,
    _ms,
    free_port,
    log,
    percentile,
    write_config,
)
from bench.workers import ClientResult, send_share

URL_ENV = "MAILD_BENCH_DATABASE_URL"
DEFAULT_URL = "postgresql+psycopg://maild:maild@127.0.0.1:5432/maild_bench"
CLIENTS = 4


def database_url() -> tuple[str | None, str]:
    """The database to use, or None and why not."""
    url = os.environ.get(URL_ENV, "")
    if url:
        return url, f"{URL_ENV}"
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(DEFAULT_URL, connect_args={"connect_timeout": 2})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        reason = str(error.orig if getattr(error, "orig", None) else error).splitlines()[0]
        return None, (
            f"PostgreSQL phases left out: set {URL_ENV} to a database the bench may empty "
            f"({DEFAULT_URL.split('@')[1]} did not answer: {reason})"
        )
    finally:
        engine.dispose()
    return DEFAULT_URL, DEFAULT_URL.split("@")[1]


def empty_schema(url: str) -> None:
    """Drop everything maild made in the database, then create the current schema."""
    from sqlalchemy import create_engine, text

    from storage.models import Base
    from storage.schema import ensure_current

    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS ticket_text"))  # storage.search
            Base.metadata.drop_all(connection)
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        ensure_current(engine)
    finally:
        engine.dispose()


def verify(url: str, corpus: Sequence[CorpusMail]) -> Verification:
    """:func:`bench.run.verify` on PostgreSQL (the database holds this phase's mail only)."""
    from sqlalchemy import create_engine, func, select

    from storage.models import Message, Ticket

    result = Verification(mails=len(corpus))
    result.replies = sum(1 for mail in corpus if mail.parent_index is not None)
    result.threads = len({mail.thread for mail in corpus})
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            stored: dict[str, list[int]] = {}
            for message_id, ticket_id in connection.execute(
                select(Message.message_id, Message.ticket_id)
            ):
                stored.setdefault(message_id, []).append(ticket_id)
            result.tickets = connection.execute(
                select(func.count()).select_from(Ticket)
            ).scalar_one()
    finally:
        engine.dispose()
    result.check_stored(corpus, stored)
    return result


def run_phase(
    corpus: Sequence[CorpusMail], url: str, instances: int, workdir: Path, timeout: float
) -> dict[str, Any]:
    """The corpus over CLIENTS connections, spread over ``instances`` daemons."""
    phase: dict[str, Any] = {
        "phase": f"postgres-smtp-{instances}x{CLIENTS}",
        "instances": instances,
        "clients": CLIENTS,
    }
    empty_schema(url)
    daemons = []
    for n in range(instances):
        folder = workdir / f"mx{n + 1}"
        folder.mkdir(parents=True)
        port = free_port()
        config = write_config(folder, port)
        with config.open("a", encoding="utf-8") as text:
            text.write(f'\n[database]\nurl = "{url}"\n')
        daemons.append(Daemon(config, folder, port))
    context = multiprocessing.get_context("spawn")
    processes: list[multiprocessing.process.BaseProcess] = []
    try:
        for daemon in daemons:
            daemon.start()
        for daemon in daemons:
            daemon.wait_ready()
        barrier = context.Barrier(CLIENTS + 1)
        results = context.Queue()
        for worker in range(CLIENTS):
            share = [mail for mail in corpus if mail.thread % CLIENTS == worker]
            port = daemons[worker % instances].port
            process = context.Process(
                target=send_share,
                args=(worker, HOST, port, MAILBOX, _items(share), barrier, results, 60.0),
                name=f"bench-pg-client-{worker}",
                daemon=True,
            )
            process.start()
            processes.append(process)
        try:
            barrier.wait(SPAWN_TIMEOUT)
        except threading.BrokenBarrierError:
            raise BenchError("clients did not start") from None
        began = time.perf_counter()
        collected: list[ClientResult] = []
        while len(collected) < CLIENTS:
            if time.perf_counter() - began > timeout:
                raise BenchError(f"time limit: {len(collected)} of {CLIENTS} clients finished")
            try:
                collected.append(results.get(timeout=1.0))
            except queue.Empty:
                continue
        wall = time.perf_counter() - began
        errors = [result.error for result in collected if result.error]
        if errors:
            raise BenchError("; ".join(errors))
        latencies = [value for result in collected for value in result.latencies]
        failures = sorted(failure for result in collected for failure in result.failures)
        phase.update(
            messages=len(latencies),
            failed=len(failures),
            failures=[f"#{index}: {reason}" for index, reason in failures[:10]],
            seconds=round(wall, 3),
            msgs_per_s=round(len(latencies) / wall, 1) if wall > 0 else None,
            p50_ms=_ms(percentile(latencies, 0.50)),
            p99_ms=_ms(percentile(latencies, 0.99)),
        )
        codes = [daemon.stop() for daemon in daemons]
        if any(code != 0 for code in codes):
            phase["error"] = f"a daemon did not exit 0 after SIGTERM: {codes}\n" + "\n".join(
                daemon.output_tail() for daemon in daemons
            )
    except BenchError as error:
        phase["error"] = str(error)
    finally:
        _kill_processes(processes)
        for daemon in daemons:
            daemon.kill()
    if "messages" in phase:
        phase["verify"] = verify(url, corpus).to_json()
    check = phase.get("verify") or {}
    phase["ok"] = "error" not in phase and not phase.get("failed") and bool(check.get("ok"))
    return phase


def run_postgres(corpus: Sequence[CorpusMail], base: Path, timeout: float) -> dict[str, Any]:
    """Both phases, or a note why they were left out."""
    url, where = database_url()
    if url is None:
        log(f"  {where}")
        return {"skipped": where, "phases": [], "ok": True}
    results: dict[str, Any] = {"database": where, "phases": []}
    for instances in (1, 2):
        log(f"PostgreSQL ({where}): SMTP intake, {CLIENTS} clients on {instances} instance(s)")
        results["phases"].append(
            run_phase(corpus, url, instances, base / f"postgres-{instances}", timeout)
        )
    results["ok"] = all(phase["ok"] for phase in results["phases"])
    return results


def render_postgres(results: dict[str, Any]) -> list[str]:
    if "skipped" in results:
        return [results["skipped"]]
    lines = [f"PostgreSQL ({results['database']}):"]
    for phase in results["phases"]:
        check = phase.get("verify") or {}
        name = (
            f"SMTP, {phase['clients']} connections, "
            f"{phase['instances']} instance{'s' if phase['instances'] > 1 else ''}"
        )
        if "msgs_per_s" in phase:
            lines.append(
                f"  {name}: {phase['msgs_per_s']} msg/s, p50 {phase['p50_ms']} ms, "
                f"p99 {phase['p99_ms']} ms; stored {check.get('stored_once')}/{check.get('mails')}"
                f", threaded {check.get('threaded')}/{check.get('replies')}, "
                f"tickets {check.get('tickets')}/{check.get('threads')}"
                + ("" if phase["ok"] else " FAILED")
            )
        if "error" in phase:
            lines.append(f"  {name}: ERROR: {phase['error']}")
        if phase.get("failed"):
            lines.append(f"  {name}: {phase['failed']} refused: " + "; ".join(phase["failures"]))
    return lines
