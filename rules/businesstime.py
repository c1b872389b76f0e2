"""Business-time arithmetic: SLA clocks that only run during business hours.

Pure: imports nothing of the project, reads no clock, does no I/O. Aware datetimes in, aware
UTC datetimes out; a naive datetime is refused, because guessing its zone is how deadlines
end up an hour off twice a year.

Business hours are wall-clock spans per weekday in a named (zoneinfo) timezone. Each local
day's spans are turned into UTC instants once, so the arithmetic underneath is on a sorted
list of disjoint UTC intervals with running totals: ``add`` and ``between`` are a binary
search each, never a walk over minutes or days. Elapsed business time is real elapsed time:
a 00:00-24:00 day holds 23 hours on the spring-forward day and 25 on the fall-back day.

A wall time is the first instant whose local clock reads at least that time: a span that
opens at 02:30 on the spring-forward day opens when the clocks jump (02:00 becomes 03:00);
an ambiguous 02:30 on the fall-back day is its first occurrence.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

Span = tuple[int, int]
"""Minutes after local midnight, ``0 <= start < end <= 1440``."""

MINUTES_PER_DAY = 1440
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = {
    **{name: index for index, name in enumerate(WEEKDAYS)},
    **{
        name: index
        for index, name in enumerate(
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        )
    },
}
_ALWAYS_WORDS = frozenset({"24x7", "24/7", "24h", "always"})
_CLOSED_WORDS = frozenset({"", "closed", "off", "none"})
_SPAN = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
_US_PER_SECOND = 1_000_000
_US_PER_MINUTE = 60 * _US_PER_SECOND
_BUILD_MARGIN_DAYS = 400
_MAX_SPAN_DAYS = 200 * 366


def to_us(moment: datetime) -> int:
    """Microseconds since the Unix epoch; refuses a naive datetime."""
    try:
        return (moment - _EPOCH) // _ONE_US
    except TypeError:
        raise ValueError(
            f"naive datetime {moment.isoformat()}: business time needs a timezone"
        ) from None


def from_us(us: int) -> datetime:
    """The aware UTC datetime ``us`` microseconds after the Unix epoch."""
    return _EPOCH + timedelta(microseconds=us)


# --------------------------------------------------------------------------- weekly hours


def _minute(hour: str, minute: str, text: str) -> int:
    value = int(hour) * 60 + int(minute)
    if int(minute) > 59 or value > MINUTES_PER_DAY:
        raise ValueError(f"not a time of day in {text!r}")
    return value


def parse_day_hours(text: str) -> tuple[tuple[Span, ...], tuple[Span, ...]]:
    """One weekday's hours: ``"09:00-17:00"``, ``"08:00-12:00, 13:00-17:00"``, ``"24x7"``
    or ``"closed"``. A span that ends before it starts runs past midnight (``"22:00-06:00"``).

    Returns the spans on that day and the spans that spill into the next day.
    """
    cleaned = text.strip().lower()
    if cleaned in _ALWAYS_WORDS:
        return ((0, MINUTES_PER_DAY),), ()
    if cleaned in _CLOSED_WORDS:
        return (), ()
    today: list[Span] = []
    tomorrow: list[Span] = []
    for part in cleaned.split(","):
        found = _SPAN.match(part.strip())
        if not found:
            raise ValueError(
                f"expected 'HH:MM-HH:MM' (several separated by ','), '24x7' or 'closed', "
                f"got {text!r}"
            )
        start = _minute(found.group(1), found.group(2), text)
        end = _minute(found.group(3), found.group(4), text)
        if start == MINUTES_PER_DAY:
            raise ValueError(f"a span cannot start at 24:00 in {text!r}")
        if start == end:
            raise ValueError(f"empty span {part.strip()!r} in {text!r}")
        if start < end:
            today.append((start, end))
        else:
            today.append((start, MINUTES_PER_DAY))
            if end:
                tomorrow.append((0, end))
    return tuple(today), tuple(tomorrow)


def _merge(spans: Iterable[Span]) -> tuple[Span, ...]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


@dataclass(frozen=True, slots=True)
class WeeklyHours:
    """Open spans per weekday, Monday first; sorted, merged, each within its day."""

    days: tuple[tuple[Span, ...], ...]

    def __post_init__(self) -> None:
        if len(self.days) != 7:
            raise ValueError("weekly hours need exactly 7 days, Monday first")
        for spans in self.days:
            for start, end in spans:
                if not 0 <= start < end <= MINUTES_PER_DAY:
                    raise ValueError(f"span {(start, end)} is not within one day")

    @classmethod
    def always(cls) -> WeeklyHours:
        """24x7."""
        return cls(tuple(((0, MINUTES_PER_DAY),) for _ in range(7)))

    @classmethod
    def from_spans(cls, by_weekday: Mapping[int, Sequence[Span]]) -> WeeklyHours:
        """From ``{0: [(540, 1020)], …}`` (0 = Monday); missing days are closed."""
        days: list[list[Span]] = [[] for _ in range(7)]
        for weekday, spans in by_weekday.items():
            if not 0 <= weekday <= 6:
                raise ValueError(f"weekday {weekday} is not 0 (Monday) to 6 (Sunday)")
            days[weekday].extend(spans)
        return cls(tuple(_merge(spans) for spans in days))

    @classmethod
    def parse(cls, value: str | Mapping[str, str]) -> WeeklyHours:
        """``"24x7"`` or ``{"mon": "09:00-17:00", …}``; days not named are closed."""
        if isinstance(value, str):
            if value.strip().lower() in _ALWAYS_WORDS:
                return cls.always()
            raise ValueError(
                f"expected '24x7' or a table of weekdays (mon = \"09:00-17:00\"), got {value!r}"
            )
        days: list[list[Span]] = [[] for _ in range(7)]
        for key, text in value.items():
            weekday = WEEKDAY_NAMES.get(key.strip().lower())
            if weekday is None:
                raise ValueError(f"unknown weekday {key!r}: use {', '.join(WEEKDAYS)}")
            if not isinstance(text, str):
                raise ValueError(f"{key}: expected a string like '09:00-17:00', got {text!r}")
            try:
                today, tomorrow = parse_day_hours(text)
            except ValueError as error:
                raise ValueError(f"{key}: {error}") from None
            days[weekday].extend(today)
            days[(weekday + 1) % 7].extend(tomorrow)
        return cls(tuple(_merge(spans) for spans in days))

    @property
    def is_always(self) -> bool:
        return all(spans == ((0, MINUTES_PER_DAY),) for spans in self.days)

    @property
    def weekly_minutes(self) -> int:
        return sum(end - start for spans in self.days for start, end in spans)

    def is_open(self, moment: datetime, tz: ZoneInfo) -> bool:
        """Whether ``moment`` falls in these hours, read on the wall clock of ``tz``."""
        local = moment.astimezone(tz)
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self.days[local.weekday()])

    def describe(self) -> str:
        if self.is_always:
            return "24x7"
        parts = []
        for name, spans in zip(WEEKDAYS, self.days, strict=True):
            if spans:
                text = ", ".join(f"{_hhmm(s)}-{_hhmm(e)}" for s, e in spans)
                parts.append(f"{name} {text}")
        return "; ".join(parts) or "closed"


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


# --------------------------------------------------------------------------- local → UTC


def _wall_to_us(day: date, minute: int, tz: ZoneInfo) -> int:
    """The first instant whose wall clock in ``tz`` reads at least ``minute`` on ``day``."""
    if minute == MINUTES_PER_DAY:
        day, minute = day + timedelta(days=1), 0
    naive = datetime(day.year, day.month, day.day, minute // 60, minute % 60)
    first = naive.replace(tzinfo=tz)
    second = naive.replace(tzinfo=tz, fold=1)
    offset_first = first.utcoffset()
    offset_second = second.utcoffset()
    assert offset_first is not None and offset_second is not None
    if offset_first >= offset_second:
        # An ordinary wall time, or an ambiguous one (fall back): the first occurrence.
        return to_us(first)
    # A wall time the clocks skip (spring forward): the instant of the jump. It lies after
    # ``second`` (read with the new offset) and at or before ``first`` (the old offset).
    low = to_us(second) // _US_PER_SECOND
    high = to_us(first) // _US_PER_SECOND
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, tz).utcoffset() == offset_second:
            high = middle
        else:
            low = middle
    return high * _US_PER_SECOND


def _local_date(us: int, tz: ZoneInfo) -> date:
    return from_us(us).astimezone(tz).date()


# --------------------------------------------------------------------------- the calendar


@dataclass(frozen=True, slots=True)
class _Index:
    """Business intervals of the local days ``first_day <= ordinal < end_day``.

    ``starts``/``ends`` are disjoint UTC intervals in microseconds; ``before[k]`` is the
    business time from the index origin to ``starts[k]``, ``upto[k]`` the same to ``ends[k]``.
    The origin never moves when the index grows, so readings stay comparable.
    """

    first_day: int
    end_day: int
    low: int
    high: int
    clock_low: int
    clock_high: int
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    before: tuple[int, ...]
    upto: tuple[int, ...]


class BusinessCalendar:
    """Business hours per weekday in a named timezone, minus holidays.

    ``hours_by_weekday`` is a :class:`WeeklyHours` or ``{weekday: [(start_min, end_min)]}``
    with 0 = Monday; ``holidays`` are local dates on which the desk is closed all day.
    Immutable from the outside; the interval index inside grows on demand and is replaced
    atomically, so one calendar is safe to share between threads.
    """

    def __init__(
        self,
        hours_by_weekday: WeeklyHours | Mapping[int, Sequence[Span]],
        tz: ZoneInfo | str = "UTC",
        holidays: Container[date] = frozenset(),
    ) -> None:
        hours = (
            hours_by_weekday
            if isinstance(hours_by_weekday, WeeklyHours)
            else WeeklyHours.from_spans(hours_by_weekday)
        )
        if hours.weekly_minutes == 0:
            raise ValueError("business hours are closed every day: no deadline could be met")
        self.hours = hours
        self.tz = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        self.holidays = holidays
        has_holidays = not (isinstance(holidays, frozenset | set) and not holidays)
        self.continuous = hours.is_always and not has_holidays
        self._weekly_us = hours.weekly_minutes * _US_PER_MINUTE
        self._index: _Index | None = None
        self._lock = threading.Lock()

    @classmethod
    def always(cls, tz: ZoneInfo | str = "UTC") -> BusinessCalendar:
        """24x7 without holidays: business time is clock time."""
        return cls(WeeklyHours.always(), tz)

    def __repr__(self) -> str:
        return f"BusinessCalendar({self.hours.describe()!r}, {self.tz.key!r})"

    # ---------------------------------------------------------------- public arithmetic

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant at which ``duration`` of business time has passed since
        ``start``. A deadline falls at closing time rather than at the next opening."""
        if duration < timedelta(0):
            raise ValueError(f"negative business duration {duration}")
        return from_us(self.add_us(to_us(start), duration // _ONE_US))

    def between(self, a: datetime, b: datetime) -> timedelta:
        """Business time from ``a`` to ``b`` (negative when ``b`` is before ``a``)."""
        return timedelta(microseconds=self.between_us(to_us(a), to_us(b)))

    def elapsed(
        self,
        start: datetime,
        now: datetime,
        paused: Iterable[tuple[datetime, datetime | None]] = (),
    ) -> timedelta:
        """Business time from ``start`` to ``now`` outside the ``paused`` intervals.

        A pause without an end is still running at ``now``. Pauses may overlap, start
        before ``start`` or lie in the future; only their part inside ``start``-``now``
        counts, and only once.
        """
        return timedelta(
            microseconds=self.elapsed_us(to_us(start), to_us(now), pauses_to_us(paused))
        )

    def is_open(self, moment: datetime) -> bool:
        """Whether ``moment`` is business time (an opening instant is, a closing one not)."""
        us = to_us(moment)
        if self.continuous:
            return True
        index = self._covering(us, us)
        k = bisect_right(index.starts, us) - 1
        return k >= 0 and us < index.ends[k]

    def next_open(self, moment: datetime) -> datetime:
        """``moment`` if it is business time, else the next opening."""
        us = to_us(moment)
        if self.continuous:
            return from_us(us)
        index = self._covering(us, us)
        while True:
            k = bisect_right(index.starts, us)
            if k > 0 and us < index.ends[k - 1]:
                return from_us(us)
            if k < len(index.starts):
                return from_us(index.starts[k])
            index = self._grow(index.first_day, index.end_day + _BUILD_MARGIN_DAYS)

    # ---------------------------------------------------------------- microsecond layer
    # The SLA sweep calls these directly: integers in, integers out, no datetime objects.

    def clock(self, us: int) -> int:
        """The business clock's reading at instant ``us``: business microseconds since an
        arbitrary fixed origin. Differences of readings are business time."""
        if self.continuous:
            return us
        index = self._index
        if index is None or not index.low <= us <= index.high:
            index = self._covering(us, us)
        k = bisect_right(index.starts, us) - 1
        if k < 0:
            return index.clock_low
        if us >= index.ends[k]:
            return index.upto[k]
        return index.before[k] + us - index.starts[k]

    def at_clock(self, reading: int) -> int:
        """The earliest instant at which the business clock shows ``reading``."""
        if self.continuous:
            return reading
        index = self._index
        if index is None:
            raise ValueError("no reading has been taken: call clock() first")
        while reading <= index.clock_low:
            days = (index.clock_low - reading) * 7 // self._weekly_us + 14
            index = self._grow(index.first_day - max(days, _BUILD_MARGIN_DAYS), index.end_day)
        while reading > index.clock_high:
            days = (reading - index.clock_high) * 7 // self._weekly_us + 14
            index = self._grow(index.first_day, index.end_day + max(days, _BUILD_MARGIN_DAYS))
        k = bisect_left(index.upto, reading)
        return index.starts[k] + reading - index.before[k]

    def add_us(self, start: int, duration: int) -> int:
        if duration <= 0:
            return start
        if self.continuous:
            return start + duration
        return self.at_clock(self.clock(start) + duration)

    def between_us(self, a: int, b: int) -> int:
        if self.continuous:
            return b - a
        return self.clock(b) - self.clock(a)

    def elapsed_us(self, start: int, now: int, paused: Sequence[tuple[int, int | None]]) -> int:
        if now <= start:
            return 0
        total = self.between_us(start, now)
        for low, high in _clip_pauses(paused, start, now):
            total -= self.between_us(low, high)
        return total

    # ---------------------------------------------------------------- the index

    def _covering(self, low: int, high: int) -> _Index:
        """An index whose local days cover the instants ``low``..``high``."""
        index = self._index
        if index is not None and index.low <= low and high <= index.high:
            return index
        first = _local_date(low, self.tz).toordinal() - 1
        end = _local_date(high, self.tz).toordinal() + 2
        if index is None:
            return self._grow(first - _BUILD_MARGIN_DAYS, end + _BUILD_MARGIN_DAYS)
        if first < index.first_day:
            first -= _BUILD_MARGIN_DAYS
        if end > index.end_day:
            end += _BUILD_MARGIN_DAYS
        return self._grow(first, end)

    def _grow(self, first_day: int, end_day: int) -> _Index:
        """Replace the index by one that also covers the local days ``first_day`` to
        ``end_day`` (ordinals). Growth keeps the clock origin, and the lock keeps two
        threads from building first indexes with different origins."""
        with self._lock:
            old = self._index
            if old is not None:
                first_day = min(first_day, old.first_day)
                end_day = max(end_day, old.end_day)
            if end_day - first_day > _MAX_SPAN_DAYS:
                raise ValueError("business-time arithmetic over more than 200 years")
            if old is None:
                starts, ends = self._intervals(first_day, end_day)
                clock_low = 0
            else:
                starts, ends = list(old.starts), list(old.ends)
                clock_low = old.clock_low
                if first_day < old.first_day:
                    head_starts, head_ends = self._intervals(first_day, old.first_day)
                    clock_low -= sum(e - s for s, e in zip(head_starts, head_ends, strict=True))
                    starts, ends = _join(head_starts, head_ends, starts, ends)
                if end_day > old.end_day:
                    tail_starts, tail_ends = self._intervals(old.end_day, end_day)
                    starts, ends = _join(starts, ends, tail_starts, tail_ends)
            index = _accumulate(
                first_day,
                end_day,
                self._midnight(first_day),
                self._midnight(end_day),
                starts,
                ends,
                clock_low,
            )
            self._index = index
            return index

    def _midnight(self, ordinal: int) -> int:
        return _wall_to_us(date.fromordinal(ordinal), 0, self.tz)

    def _intervals(self, first_day: int, end_day: int) -> tuple[list[int], list[int]]:
        starts: list[int] = []
        ends: list[int] = []
        days = self.hours.days
        for ordinal in range(first_day, end_day):
            day = date.fromordinal(ordinal)
            spans = days[day.weekday()]
            if not spans or day in self.holidays:
                continue
            for start_minute, end_minute in spans:
                start = _wall_to_us(day, start_minute, self.tz)
                end = _wall_to_us(day, end_minute, self.tz)
                if end <= start:
                    continue
                if ends and ends[-1] >= start:
                    ends[-1] = max(ends[-1], end)
                else:
                    starts.append(start)
                    ends.append(end)
        return starts, ends


def _join(
    starts_a: list[int], ends_a: list[int], starts_b: list[int], ends_b: list[int]
) -> tuple[list[int], list[int]]:
    if ends_a and starts_b and ends_a[-1] >= starts_b[0]:
        ends_a = [*ends_a[:-1], max(ends_a[-1], ends_b[0])]
        starts_b, ends_b = starts_b[1:], ends_b[1:]
    return starts_a + starts_b, ends_a + ends_b


def _accumulate(
    first_day: int,
    end_day: int,
    low: int,
    high: int,
    starts: list[int],
    ends: list[int],
    clock_low: int,
) -> _Index:
    before: list[int] = []
    upto: list[int] = []
    running = clock_low
    for start, end in zip(starts, ends, strict=True):
        before.append(running)
        running += end - start
        upto.append(running)
    return _Index(
        first_day=first_day,
        end_day=end_day,
        low=low,
        high=high,
        clock_low=clock_low,
        clock_high=running,
        starts=tuple(starts),
        ends=tuple(ends),
        before=tuple(before),
        upto=tuple(upto),
    )


# --------------------------------------------------------------------------- pauses


def pauses_to_us(
    paused: Iterable[tuple[datetime, datetime | None]],
) -> tuple[tuple[int, int | None], ...]:
    return tuple((to_us(low), None if high is None else to_us(high)) for low, high in paused)


def _clip_pauses(
    paused: Sequence[tuple[int, int | None]], start: int, now: int
) -> list[tuple[int, int]]:
    """The pauses clipped to ``start``-``now``, sorted and merged; open ones end at ``now``."""
    clipped = []
    for low, high in paused:
        low = max(low, start)
        high = now if high is None else min(high, now)
        if high > low:
            clipped.append((low, high))
    clipped.sort()
    merged: list[tuple[int, int]] = []
    for low, high in clipped:
        if merged and low <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged
