"""Code that ``bench.run`` starts in separate processes (multiprocessing, spawn).

Kept apart from the runner so that a spawned child imports only what it needs: the SMTP
clients import nothing of maild, and the in-process pipeline run imports maild in a child the
runner can kill when it overruns its time limit.
"""

from __future__ import annotations

import smtplib
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# One message of a client's share: corpus index, envelope sender, raw bytes.
Item = tuple[int, str, bytes]


@dataclass
class ClientResult:
    worker: int
    latencies: list[float] = field(default_factory=list)  # seconds per successful sendmail
    failures: list[tuple[int, str]] = field(default_factory=list)  # corpus index, reason
    unsent: int = 0  # left over after the connection broke
    error: str | None = None  # the client could not run at all


def send_share(
    worker: int,
    host: str,
    port: int,
    mailbox: str,
    items: list[Item],
    barrier: Any,
    results: Any,
    timeout: float,
) -> None:
    """Send ``items`` in order over ONE persistent SMTP connection, timing each ``sendmail``.

    Connects and says EHLO first, then waits at ``barrier`` so that every client starts
    sending at the same moment as the parent's clock. Puts one :class:`ClientResult` on
    ``results`` right after the last ``250`` (before QUIT).
    """
    result = ClientResult(worker)
    try:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
        smtp.ehlo(f"bench-client-{worker}.example")
    except (OSError, smtplib.SMTPException) as error:
        result.error = f"connect to {host}:{port}: {error!r}"
        barrier.abort()
        results.put(result)
        return
    try:
        barrier.wait(timeout)
    except threading.BrokenBarrierError:
        result.error = "start barrier broken (another client or the runner gave up)"
        results.put(result)
        smtp.close()
        return

    clock = time.perf_counter
    for position, (index, mail_from, raw) in enumerate(items):
        started = clock()
        try:
            smtp.sendmail(mail_from, [mailbox], raw)
        # Most specific first: every SMTPException is also an OSError.
        except smtplib.SMTPResponseException as error:  # refused (4xx/5xx), connection kept
            reason = error.smtp_error
            text = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
            result.failures.append((index, f"{error.smtp_code} {text}"))
            continue
        except smtplib.SMTPRecipientsRefused as error:
            result.failures.append((index, repr(error)))
            continue
        except OSError as error:  # SMTPServerDisconnected, reset, timeout
            result.failures.append((index, f"connection lost: {error!r}"))
            result.unsent = len(items) - position - 1
            break
        result.latencies.append(clock() - started)
    results.put(result)
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


@dataclass
class PipelineResult:
    messages: int = 0
    seconds: float = 0.0  # first submit to last result
    submit_seconds: float = 0.0  # the submit loop alone (parsing happens there)
    open_seconds: float = 0.0  # Runtime.open: schema upgrade, writer start
    failures: list[tuple[int, str]] = field(default_factory=list)
    error: str | None = None


def run_pipeline(
    config_path: str, mailbox: str, items: list[Item], results: Any, timeout: float
) -> None:
    """Feed ``items`` straight into the intake service (no SMTP), all submitted at once."""
    result = PipelineResult()
    try:
        from maild.config import load_config
        from maild.runtime import Delivery, Runtime
    except Exception as error:
        result.error = f"maild is not importable: {error!r}"
        results.put(result)
        return
    try:
        config = load_config(Path(config_path))
        opened = time.perf_counter()
        with Runtime.open(config) as runtime:
            started = time.perf_counter()
            result.open_seconds = started - opened
            futures = [
                runtime.intake.submit(
                    Delivery(raw=raw, mail_from=mail_from, rcpt_tos=(mailbox,), source="bench")
                )
                for _, mail_from, raw in items
            ]
            result.submit_seconds = time.perf_counter() - started
            deadline = started + timeout
            for (index, _, _), future in zip(items, futures, strict=True):
                try:
                    future.result(timeout=max(0.0, deadline - time.perf_counter()))
                except TimeoutError:
                    result.error = (
                        f"time limit: {result.messages} of {len(items)} messages committed "
                        f"within {timeout:.0f} s"
                    )
                    results.put(result)  # now: stopping the writer may take a while
                    return
                except Exception as error:
                    result.failures.append((index, repr(error)))
                else:
                    result.messages += 1
            result.seconds = time.perf_counter() - started
    except Exception:
        result.error = traceback.format_exc(limit=8)
    results.put(result)
