"""The period a report covers, in the support team's time zone (``[sla] timezone``).

``day``, ``week`` and ``month`` are the last complete one before ``now``: a report read in
the morning is about yesterday, last week (weeks start on Monday), last month. The bounds
are local midnights, stored as UTC instants; the end is exclusive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

PERIODS = ("day", "week", "month")


@dataclass(frozen=True, slots=True)
class Period:
    since: datetime
    until: datetime
    timezone: str
    kind: str = "custom"  # day, week, month or custom

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def first_day(self) -> date:
        return self.since.astimezone(self.tz).date()

    @property
    def last_day(self) -> date:
        """The last local day the period touches (its end is exclusive)."""
        return (self.until - timedelta(microseconds=1)).astimezone(self.tz).date()

    def days(self) -> list[date]:
        first, last = self.first_day, self.last_day
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]

    @property
    def label(self) -> str:
        """``2026-11-23 – 2026-11-29``, or one date for one day; with the times when the
        bounds are not midnights."""
        tz = self.tz
        since, until = self.since.astimezone(tz), self.until.astimezone(tz)
        if since.time() == time(0) and until.time() == time(0):
            first, last = self.first_day, self.last_day
            return f"{first}" if first == last else f"{first} – {last}"
        return f"{since:%Y-%m-%d %H:%M} – {until:%Y-%m-%d %H:%M}"

    def midnight(self, day: date) -> datetime:
        """The start of local ``day``, as a UTC instant."""
        return _midnight(day, self.tz)

    def widened(self, days: int) -> Period:
        """The ``days`` local days ending with this period, or the period itself when it is
        longer: the window a trend chart shows."""
        start = self.last_day - timedelta(days=days - 1)
        if start >= self.first_day:
            return self
        return Period(_midnight(start, self.tz), self.until, self.timezone, self.kind)


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def last_complete(kind: str, now: datetime, timezone: str) -> Period:
    """The last complete ``day``, ``week`` or ``month`` before ``now``."""
    tz = ZoneInfo(timezone)
    today = now.astimezone(tz).date()
    if kind == "day":
        first, end = today - timedelta(days=1), today
    elif kind == "week":
        end = today - timedelta(days=today.weekday())
        first = end - timedelta(days=7)
    elif kind == "month":
        end = today.replace(day=1)
        first = (end - timedelta(days=1)).replace(day=1)
    else:
        raise ValueError(f"unknown period {kind!r}: use one of {', '.join(PERIODS)}")
    return Period(_midnight(first, tz), _midnight(end, tz), timezone, kind)


def parse_bound(value: str, timezone: str) -> datetime:
    """An ISO date (local midnight) or date-time (local unless it names an offset) as UTC.
    Raises ValueError with the value when it is neither."""
    tz = ZoneInfo(timezone)
    try:
        if len(value) == 10:
            return _midnight(date.fromisoformat(value), tz)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"not an ISO date or date-time: {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)


def between(since: datetime, until: datetime, timezone: str) -> Period:
    if until <= since:
        raise ValueError("the period ends before it starts")
    return Period(since, until, timezone)
