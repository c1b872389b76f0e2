"""The SLA sweep over 100,000 open tickets: ``python -m bench.sla_sweep`` (``make bench``).

A fresh SQLite database (the embedded default, ``synchronous=FULL``) is filled with open
tickets in one transaction of bulk Core inserts: priorities mixed, most old and answered
with their resolution warning and breach fired, some waiting on the customer (an open
SLA pause), some answered this morning with the resolution clock running, a few new, and
about 1 % due. The SLA runs in business hours (Mon-Fri 09:00-17:00, Europe/Berlin, with a holiday),
the slower calendar; ``--always`` measures 24x7.

The sweep runs three times at the same instant: the first fires what is due (one short
write transaction per ticket, with its mail queued), the next two find it all fired and
only read. Target: a sweep over 100,000 open tickets with few due takes at most 1 s.
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from maild.config import config_from_mapping
from maild.runtime import open_engine
from maild.sla.sweep import SlaSweep
from maild.ticketing.notify import Notifier
from outbound.templating import TemplateRenderer
from rules.businesstime import to_us
from storage.models import OutboxMessage, Ticket
from storage.schema import ensure_current

TARGET_SECONDS = 1.0
NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday, business hours in Berlin
PRIORITIES = ("urgent", "high", "medium", "low")
OUT = Path(__file__).resolve().parent / "out" / "sla_sweep.json"


def policy_data(always: bool) -> dict[str, Any]:
    sla: dict[str, Any] = {"warn_at": 0.75}
    if not always:
        sla.update(
            timezone="Europe/Berlin",
            business_hours={day: "09:00-17:00" for day in ("mon", "tue", "wed", "thu", "fri")},
            holidays=["2026-01-01", "2026-04-03"],
        )
    return {
        "sla": sla,
        "teams": [{"name": "support"}],
        "agents": [
            {"address": "alice@example.com", "name": "Alice", "teams": ["support"]},
            {"address": "bob@example.com", "name": "Bob", "teams": ["support"]},
        ],
    }


def ticket_rows(count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` open tickets; about 1 % are due at :data:`NOW`."""
    rng = random.Random(seed)
    rows = []
    for n in range(count):
        share = rng.random()
        priority = PRIORITIES[n % len(PRIORITIES)]
        first_response_at = None
        paused: list[list[int | None]] = []
        fired: list[str] = []
        status = "open"
        if share < 0.05:  # came in within the last half hour, nothing can be due yet
            created = NOW - timedelta(minutes=rng.uniform(0, 30))
            status = "new"
        elif share < 0.60:  # answered long ago, the resolution breach already fired
            created = NOW - timedelta(days=rng.uniform(10, 90))
            first_response_at = created + timedelta(minutes=rng.uniform(5, 60))
            fired = ["first_response.warning", "resolution.warning", "resolution.breach"]
            del fired[: rng.randrange(2)]
        elif share < 0.75:  # waiting on the customer since shortly after it came in
            created = NOW - timedelta(days=rng.uniform(1, 30))
            first_response_at = created + timedelta(minutes=5)
            paused = [[to_us(created + timedelta(minutes=6)), None]]
            status = "pending"
        elif share < 0.99:  # answered this morning, the resolution clock running
            created = NOW - timedelta(minutes=rng.uniform(30, 90))
            first_response_at = created + timedelta(minutes=10)
            fired = ["first_response.warning"] if rng.random() < 0.3 else []
        else:  # due: old, never answered, nothing fired
            created = NOW - timedelta(days=rng.uniform(3, 10))
        rows.append(
            {
                "number": 100_000 + n,
                "token": secrets.token_hex(12),
                "mailbox": "support@example.com",
                "subject": f"Bench ticket {n}",
                "status": status,
                "priority": priority,
                "requester": f"customer{n % 5000}@example.org",
                "requester_name": "",
                "team": "support",
                "tags": [],
                "created_at": created,
                "updated_at": created,
                "first_response_at": first_response_at,
                "sla_paused": paused,
                "sla_fired": fired,
            }
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--always", action="store_true", help="24x7 instead of business hours")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="maild-sla-bench-") as workdir:
        config = config_from_mapping(
            {
                "maild": {"data_dir": str(Path(workdir) / "data"), "ticket_prefix": "BENCH"},
                "mailboxes": [{"address": "support@example.com", "name": "Bench Support"}],
                **policy_data(args.always),
            }
        )
        engine = open_engine(config)
        ensure_current(engine)
        started = time.perf_counter()
        with engine.begin() as connection:
            connection.execute(insert(Ticket.__table__), ticket_rows(args.tickets, args.seed))
        print(
            f"created {args.tickets:,} open tickets in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        sweep = SlaSweep(engine, Notifier(config, TemplateRenderer()), lambda: config.policy)
        runs = []
        for run in range(1, args.runs + 1):
            report = sweep.run(NOW)
            runs.append(report)
            print(
                f"  run {run}: {report.open_tickets:,} open, {report.due_tickets:,} due, "
                f"{report.fired:,} fired; read {report.read_seconds:.2f} s, "
                f"total {report.seconds:.2f} s",
                file=sys.stderr,
            )
        with engine.connect() as connection:
            queued = connection.execute(
                OutboxMessage.__table__.select().with_only_columns(OutboxMessage.__table__.c.id)
            ).all()
        engine.dispose()
    first = runs[0]
    quiet = min(report.seconds for report in runs[1:]) if len(runs) > 1 else first.seconds
    calendar = "24x7" if args.always else "business hours"
    print(
        f"sla sweep: {first.open_tickets:,} open tickets, {first.due_tickets:,} due, "
        f"{first.read_seconds:.2f} s (target <= {TARGET_SECONDS:.0f} s) to find them; firing "
        f"them took {first.seconds - first.read_seconds:.2f} s more ({first.fired:,} "
        f"warnings/breaches, {len(queued):,} mails queued; {calendar})"
    )
    print(
        f"sla sweep: {first.open_tickets:,} open tickets, 0 due (all fired), {quiet:.2f} s "
        f"(target <= {TARGET_SECONDS:.0f} s)"
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps(
            {
                "tickets": args.tickets,
                "calendar": calendar,
                "runs": [
                    {
                        "due": report.due_tickets,
                        "fired": report.fired,
                        "read_seconds": round(report.read_seconds, 3),
                        "seconds": round(report.seconds, 3),
                    }
                    for report in runs
                ],
                "target_seconds": TARGET_SECONDS,
            },
            indent=2,
        )
    )
    ok = first.read_seconds <= TARGET_SECONDS and quiet <= TARGET_SECONDS
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
