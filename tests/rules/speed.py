"""How fast the SLA code is over 100,000 open tickets (the sweep's budget is 1 s in all,
database included).

Run: ``PYTHONPATH=. python -m tests.rules.speed [TICKETS]``. Prints, asserts nothing.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import UTC, datetime, timedelta

from rules.businesstime import to_us
from rules.config import SlaConfig
from rules.model import TicketView
from rules.sla import due_events, sla_status

NOW = datetime(2025, 11, 20, 14, 7, tzinfo=UTC)
PRIORITIES = ("urgent", "high", "medium", "low")


def _tickets(count: int, max_age: timedelta) -> list[TicketView]:
    """Open tickets of every priority up to ``max_age`` old; one in five waited on the
    customer for a while, one in ten still does."""
    chance = random.Random(7)
    minutes = int(max_age.total_seconds() // 60)
    views = []
    for i in range(count):
        created = NOW - timedelta(minutes=chance.randrange(0, minutes))
        paused: tuple[tuple[datetime, datetime | None], ...] = ()
        responded = None
        if i % 5 == 0:
            responded = created + timedelta(minutes=chance.randrange(0, 600))
            paused = ((responded, None if i % 10 == 0 else responded + timedelta(hours=3)),)
        views.append(
            TicketView(
                priority=PRIORITIES[i % 4],
                created_at=created,
                first_response_at=responded,
                paused=paused,
            )
        )
    return views


def _measure(config: SlaConfig, views: list[TicketView]) -> None:
    calendar, policy = config.calendar, config.policy()
    reading = calendar.clock(to_us(NOW))
    fired = [
        frozenset(due.key for due in sla_status(view, policy, calendar, NOW).due) for view in views
    ]
    pairs = list(zip(views, fired, strict=True))

    started = time.perf_counter()
    for view, done in pairs:
        sla_status(view, policy, calendar, NOW, done, now_reading=reading)
    _report("sla_status: states, deadlines, what is due", started)

    started = time.perf_counter()
    for view in views:
        due_events(view, policy, calendar, NOW, now_reading=reading)
    _report("due_events, nothing fired yet", started)

    started = time.perf_counter()
    for view, done in pairs:
        due_events(view, policy, calendar, NOW, done, now_reading=reading)
    _report("due_events, steady state (earlier ones fired)", started)


def _report(label: str, started: float) -> None:
    print(f"  {label:<48} {time.perf_counter() - started:6.3f} s")


def main(count: int = 100_000) -> None:
    office = SlaConfig.model_validate(
        {
            "timezone": "Europe/Berlin",
            "holiday_country": "DE",
            "business_hours": {day: "09:00-17:00" for day in ("mon", "tue", "wed", "thu", "fri")},
        }
    )
    for name, config in (("24x7", SlaConfig()), ("Mon-Fri 09-17 Berlin, DE holidays", office)):
        for age in (timedelta(hours=8), timedelta(days=30)):
            print(f"{name}; {count:,} open tickets up to {age} old:")
            _measure(config, _tickets(count, age))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
