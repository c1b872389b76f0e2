"""When a scheduled report (``[[reports]]``) goes out, and what it covers.

``schedule`` reads as a person says it: ``"daily 06:00"``, ``"weekly mon 08:00"``,
``"monthly 1 07:00"``, or five cron fields (``"0 6 * * 1-5"``), always in the support
team's time zone (``[sla] timezone``). A daily report covers yesterday, a weekly one last
week, a monthly one last month; a cron schedule covers the day before unless ``period``
says otherwise.

Imports nothing heavy: the configuration checks schedules with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SECTIONS = ("tickets", "times", "sla", "satisfaction", "agents")
"""What a report shows, in this order; ``[[reports]] sections`` picks some."""

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = r"([01]?\d|2[0-3]):([0-5]\d)"
_DAILY = re.compile(rf"daily\s+{_TIME}")
_WEEKLY = re.compile(rf"weekly\s+({'|'.join(_DAYS)})\s+{_TIME}")
_MONTHLY = re.compile(rf"monthly\s+([1-9]|1\d|2[0-8])\s+{_TIME}")


@dataclass(frozen=True, slots=True)
class Schedule:
    """Cron fields (APScheduler's names) and the period a run reports on."""

    fields: tuple[tuple[str, str], ...]
    period: str
    text: str


def parse_schedule(text: str) -> Schedule:
    """Raises ValueError naming what was expected when ``text`` is no schedule."""
    spoken = " ".join(text.lower().split())
    if match := _DAILY.fullmatch(spoken):
        hour, minute = match.groups()
        return Schedule((("hour", hour), ("minute", minute)), "day", text)
    if match := _WEEKLY.fullmatch(spoken):
        day, hour, minute = match.groups()
        return Schedule((("day_of_week", day), ("hour", hour), ("minute", minute)), "week", text)
    if match := _MONTHLY.fullmatch(spoken):
        day, hour, minute = match.groups()
        return Schedule((("day", day), ("hour", hour), ("minute", minute)), "month", text)
    parts = spoken.split()
    if len(parts) == 5:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(spoken)
        except ValueError as error:
            raise ValueError(f"bad cron fields {text!r}: {error}") from None
        names = ("minute", "hour", "day", "month", "day_of_week")
        return Schedule(tuple(zip(names, parts, strict=True)), "day", text)
    raise ValueError(
        f"expected 'daily HH:MM', 'weekly DAY HH:MM', 'monthly DAY-OF-MONTH HH:MM' or five "
        f"cron fields, got {text!r}"
    )
