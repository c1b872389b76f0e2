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
every reply is on its parent's ticket, and there are as many tickets as threads.

Figures are printed as a table and written to ``bench/out/results.json``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import queue
import random
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
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.corpus import CorpusMail, generate, summarize, write_mbox
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
    )
    path = workdir / "maild.toml"
    path.write_text(text, encoding="utf-8")
    return path


class Daemon:
    """``python -m maild serve`` in a subprocess; its output goes to ``<workdir>/daemon.log``."""

    def __init__(self, config: Path, workdir: Path, port: int) -> None:
        self.config = config
        self.port = port
        self.log_path = workdir / "daemon.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = dict(os.environ)
        paths = [p for p in (env.get("PYTHONPATH", ""), str(ROOT)) if p]
        env["PYTHONPATH"] = os.pathsep.join(paths)
        command = [sys.executable, "-m", "maild", "serve", "-c", str(self.config)]
        with self.log_path.open("wb") as output:
            self.proc = subprocess.Popen(
                command,
                cwd=self.config.parent,
                env=env,
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
    tickets: int = 0
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

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("missing", "duplicated", "misthreaded"):
            data[key] = data[key][:20]  # a sample is enough to start looking
        data["ok"] = self.ok
        return data


def verify(database: Path, corpus: Sequence[CorpusMail]) -> Verification:
    result = Verification(mails=len(corpus))
    result.replies = sum(1 for mail in corpus if mail.is_reply)
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
        ticket_of: dict[int, int] = {}
        for mail in corpus:
            (count,) = connection.execute(
                "SELECT count(*) FROM messages WHERE message_id = ?", (mail.message_id,)
            ).fetchone()
            if count == 0:
                result.missing.append(mail.index)
                continue
            if count > 1:
                result.duplicated.append(mail.index)
                continue
            result.stored_once += 1
            (ticket_of[mail.index],) = connection.execute(
                "SELECT ticket_id FROM messages WHERE message_id = ?", (mail.message_id,)
            ).fetchone()
        for mail in corpus:
            if mail.parent_index is None:
                continue
            mine = ticket_of.get(mail.index)
            if mine is not None and mine == ticket_of.get(mail.parent_index):
                result.threaded += 1
            else:
                result.misthreaded.append(mail.index)
        (result.tickets,) = connection.execute("SELECT count(*) FROM tickets").fetchone()
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
    corpus: Sequence[CorpusMail], clients: int, workdir: Path, timeout: float
) -> dict[str, Any]:
    phase: dict[str, Any] = {"phase": f"smtp-{clients}", "clients": clients}
    port = free_port()
    daemon = Daemon(write_config(workdir, port), workdir, port)
    context = multiprocessing.get_context("spawn")
    processes: list[multiprocessing.process.BaseProcess] = []
    started_phase = time.monotonic()
    try:
        daemon.start()
        phase["startup_s"] = round(daemon.wait_ready(), 2)
        log(f"  daemon ready on port {port} after {phase['startup_s']} s")

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
        phase["verify"] = verify(workdir / "data" / "maild.db", corpus).to_json()
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


def shuffled(corpus: Sequence[CorpusMail], seed: int) -> list[CorpusMail]:
    order = list(corpus)
    random.Random(seed).shuffle(order)
    return order


def replies_before_parent(order: Sequence[CorpusMail]) -> int:
    position = {mail.index: n for n, mail in enumerate(order)}
    return sum(
        1
        for mail in order
        if mail.parent_index is not None and position[mail.index] < position[mail.parent_index]
    )


def run_import(
    corpus: Sequence[CorpusMail], workdir: Path, timeout: float, seed: int
) -> dict[str, Any]:
    phase: dict[str, Any] = {"phase": "import"}
    config = write_config(workdir, None)
    order = shuffled(corpus, seed)
    mbox = workdir / "corpus.mbox"
    write_mbox(order, mbox)
    phase["replies_before_parent"] = replies_before_parent(order)
    phase["mbox_bytes"] = mbox.stat().st_size
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH", ""), str(ROOT)) if p)
    command = [sys.executable, "-m", "maild", "-c", str(config), "import", "--json", str(mbox)]
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        phase["error"] = f"time limit: maild import did not finish within {timeout:.0f} s"
        return phase
    phase["wall_s"] = round(time.perf_counter() - started, 3)
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
                ", ".join(f"{k} {'ok' if v else 'MISS'}" for k, v in targets.items()) or "",
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
            notes.append(f"{name}: VERIFY FAILED: " + "; ".join(problems))
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
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for number, row in enumerate(rows):
        cells = [
            cell.ljust(widths[i]) if i in (0, len(row) - 1) else cell.rjust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
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
    lines.append(f"result: {'PASSED' if results['ok'] else 'FAILED'}")
    return "\n".join(lines)


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
    parser.add_argument("--out", type=Path, default=OUT_DIR / "results.json", help="JSON output")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directories")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")

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
    finally:
        results["ok"] = bool(results["phases"]) and all(p["ok"] for p in results["phases"])
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
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(render(results))
    print(f"figures written to {_display_path(args.out)}")
    return 0 if results["ok"] else 1


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
