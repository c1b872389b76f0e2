"""Intake with webhooks against a slow receiver: ``python -m bench.webhooks``.

The SMTP intake phase of ``bench.run`` (``maild serve`` as a subprocess, client processes
each on one persistent connection, every ``sendmail`` timed up to its ``250``), run on fresh
data directories without webhooks and with three ``[[webhooks]]`` subscribed to every event,
all pointing at a local HTTP receiver that takes ``--delay`` seconds (default 1) to answer
each request; ``--rounds`` times, alternating, and the medians compared (one run of each
says little on a busy two-core machine). A webhook must never hold up intake: the rates
and latencies should match but for the cost of writing the deliveries in each mail's
transaction. Also reported: how many webhook requests the receiver had answered by the
daemon's stop, the deliveries left pending for the next start, and how long SIGTERM took
(requests in flight finish; those not started wait in the database).

Figures are printed and written to ``bench/out/webhooks.json``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench import run
from bench.corpus import generate
from maild.webhooks import EVENTS

HOOKS = 3
SECRET_ENV = "MAILD_BENCH_WEBHOOK_SECRET"


class SlowReceiver:
    """Answers every POST with 200 after ``delay`` seconds, on a loopback port."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.answered = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                time.sleep(receiver.delay)
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()
                with receiver._lock:
                    receiver.answered += 1

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((run.HOST, 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> SlowReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def hooks_toml(port: int) -> str:
    events = ", ".join(json.dumps(event) for event in EVENTS)
    return "".join(
        f'\n[[webhooks]]\nname = "hook{n}"\nurl = "http://{run.HOST}:{port}/hook{n}"\n'
        f'events = [{events}]\nsecret_env = "{SECRET_ENV}"\ninclude_text = true\n'
        for n in range(1, HOOKS + 1)
    )


@contextmanager
def webhooks_in_config(port: int) -> Iterator[None]:
    """``bench.run``'s configuration, with the webhooks added (and their secret set)."""
    original = run.write_config

    def with_hooks(workdir: Path, smtp_port: int | None) -> Path:
        path = original(workdir, smtp_port)
        path.write_text(path.read_text(encoding="utf-8") + hooks_toml(port), encoding="utf-8")
        return path

    before = os.environ.get(SECRET_ENV)
    os.environ[SECRET_ENV] = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    run.write_config = with_hooks
    try:
        yield
    finally:
        run.write_config = original
        if before is None:
            del os.environ[SECRET_ENV]
        else:
            os.environ[SECRET_ENV] = before


def deliveries(database: Path) -> dict[str, int]:
    """The webhook deliveries the run queued, by status (pending ones go out later)."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        rows = connection.execute(
            "SELECT status, COUNT(*) FROM webhook_deliveries GROUP BY status"
        ).fetchall()
    finally:
        connection.close()
    return {status: count for status, count in rows}


def summary(phase: dict[str, Any]) -> dict[str, Any]:
    keys = ("phase", "messages", "failed", "msgs_per_s", "p50_ms", "p99_ms", "max_ms", "stop_s")
    found = {key: phase.get(key) for key in keys}
    for key in ("answered_by_stop", "deliveries", "error"):
        if key in phase:
            found[key] = phase[key]
    verification = phase.get("verify") or {}
    found["verified"] = verification.get("ok", None)
    return found


def one_round(
    corpus: list[Any], clients: int, delay: float, timeout: float, scratch: Path, n: int
) -> list[dict[str, Any]]:
    """One run without webhooks and one with them, each on a fresh data directory."""
    plain = scratch / f"plain-{n}"
    plain.mkdir()
    run.log(f"round {n}: SMTP intake, {clients} clients, {len(corpus)} mails, no webhooks")
    phases = [run.run_smtp(corpus, clients, plain, timeout, name="no-hooks")]
    shutil.rmtree(plain, ignore_errors=True)
    hooked = scratch / f"hooks-{n}"
    hooked.mkdir()
    run.log(f"round {n}: the same with {HOOKS} webhooks, the receiver taking {delay} s each")
    with SlowReceiver(delay) as receiver, webhooks_in_config(receiver.port):
        phase = run.run_smtp(corpus, clients, hooked, timeout, name=f"{HOOKS}-hooks")
        phase["answered_by_stop"] = receiver.answered
    phase["deliveries"] = deliveries(hooked / "data" / "maild.db")
    shutil.rmtree(hooked, ignore_errors=True)
    return [*phases, phase]


def medians(rows: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    found: dict[str, dict[str, float | None]] = {}
    for name in dict.fromkeys(row["phase"] for row in rows):
        mine = [row for row in rows if row["phase"] == name]
        found[name] = {
            key: statistics.median(row[key] for row in mine)
            if all(row[key] for row in mine)
            else None
            for key in ("msgs_per_s", "p50_ms", "p99_ms")
        }
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="corpus size (default 1000)")
    parser.add_argument("--clients", type=int, default=4, help="SMTP clients (default 4)")
    parser.add_argument("--delay", type=float, default=1.0, help="receiver seconds/request")
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs (default 3)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per phase")
    parser.add_argument("--out", type=Path, default=run.OUT_DIR / "webhooks.json")
    args = parser.parse_args(argv)

    corpus = generate(args.count, seed=1, mailbox=run.MAILBOX)
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="maild-bench-hooks-") as scratch:
        for n in range(1, args.rounds + 1):
            results += one_round(corpus, args.clients, args.delay, args.timeout, Path(scratch), n)

    rows = [summary(phase) for phase in results]
    for row in rows:
        print(json.dumps(row))
    middle = medians(rows)
    print(json.dumps({"medians": middle}))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {"delay_s": args.delay, "clients": args.clients, "medians": middle, "runs": rows}
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0 if all(row.get("verified") and not row.get("error") for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
