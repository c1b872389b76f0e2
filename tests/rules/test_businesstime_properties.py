"""Properties of business-time arithmetic over random calendars, zones and instants,
with instants drawn near DST changes as often as anywhere else, and a minute-by-minute
oracle that shares no code with the implementation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.businesstime import WEEKDAYS, BusinessCalendar, WeeklyHours

ZONES = (
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "America/Santiago",  # changes at midnight
    "Australia/Lord_Howe",  # changes by 30 minutes
    "Asia/Kolkata",  # no DST, half-hour offset
)
DAY_HOURS = (
    "closed",
    "09:00-17:00",
    "00:00-24:00",
    "08:00-12:00, 13:00-17:30",
    "22:00-06:00",
    "02:30-05:00",
    "01:15-02:45",
    "23:59-24:00",
)
LOW = datetime(2024, 1, 1, tzinfo=UTC)
HIGH = datetime(2026, 12, 31, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
ONE_US = timedelta(microseconds=1)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def _transitions(zone: str) -> tuple[datetime, ...]:
    """The instants (UTC) where ``zone``'s offset changes, 2024-2026."""
    tz = ZoneInfo(zone)
    found = []
    moment = LOW
    previous = moment.astimezone(tz).utcoffset()
    while moment < HIGH:
        step = moment + timedelta(hours=6)
        offset = step.astimezone(tz).utcoffset()
        if offset != previous:
            low, high = moment, step
            while high - low > MINUTE:
                middle = low + (high - low) / 2
                middle = middle.replace(second=0, microsecond=0)
                if middle.astimezone(tz).utcoffset() == previous:
                    low = middle
                else:
                    high = middle
            found.append(high)
            previous = offset
        moment = step
    return tuple(found)


@cache
def _calendar(zone: str, days: tuple[str, ...], holidays: frozenset[date]) -> BusinessCalendar:
    hours = WeeklyHours.parse(dict(zip(WEEKDAYS, days, strict=True)))
    return BusinessCalendar(hours, zone, holidays)


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    zone = draw(st.sampled_from(ZONES))
    days = tuple(draw(st.sampled_from(DAY_HOURS)) for _ in range(7))
    if all(day in ("closed", "23:59-24:00") for day in days):
        # At least an hour a week: the longest drawn duration (60 days) then needs under
        # 30 years of calendar, inside the 200 the calendar indexes.
        days = ("09:00-17:00", *days[1:])
    holidays = frozenset(draw(st.lists(st.dates(date(2024, 1, 1), date(2026, 12, 31)), max_size=6)))
    return _calendar(zone, days, holidays)


@st.composite
def instants(draw: st.DrawFn, zone: str, minute_aligned: bool = False) -> datetime:
    transitions = _transitions(zone)
    if transitions and draw(st.booleans()):
        base = draw(st.sampled_from(transitions))
        moment = base + draw(st.timedeltas(-timedelta(days=3), timedelta(days=3)))
    else:
        moment = draw(st.datetimes(LOW.replace(tzinfo=None), HIGH.replace(tzinfo=None)))
        moment = moment.replace(tzinfo=UTC)
    if minute_aligned:
        moment = moment.replace(second=0, microsecond=0)
    return moment


durations = st.one_of(
    st.timedeltas(timedelta(0), timedelta(hours=12)),
    st.timedeltas(timedelta(0), timedelta(days=60)),
    st.integers(0, 24 * 60).map(lambda m: m * MINUTE),
)


@SETTINGS
@given(st.data())
def test_add_then_between_gives_the_duration_back(data: st.DataObject) -> None:
    calendar = data.draw(calendars())
    start = data.draw(instants(calendar.tz.key))
    duration = data.draw(durations)
    end = calendar.add(start, duration)
    assert end.tzinfo is UTC
    assert end >= start
    assert calendar.between(start, end) == duration


@SETTINGS
@given(st.data())
def test_between_then_add_lands_on_the_end_in_business_time(data: st.DataObject) -> None:
    calendar = data.draw(calendars())
    a = data.draw(instants(calendar.tz.key))
    b = data.draw(instants(calendar.tz.key))
    a, b = min(a, b), max(a, b)
    back = calendar.add(a, calendar.between(a, b))
    # Always: no later than b, with no business time in between.
    assert back <= b
    assert calendar.between(back, b) == timedelta(0)
    # In business time (and not at an opening instant): exactly b.
    if calendar.is_open(b) and calendar.is_open(b - ONE_US) and b > a:
        assert back == b


@SETTINGS
@given(st.data())
def test_add_is_monotonic(data: st.DataObject) -> None:
    calendar = data.draw(calendars())
    a1 = data.draw(instants(calendar.tz.key))
    a2 = data.draw(instants(calendar.tz.key))
    d1, d2 = data.draw(durations), data.draw(durations)
    a1, a2 = min(a1, a2), max(a1, a2)
    d1, d2 = min(d1, d2), max(d1, d2)
    assert calendar.add(a1, d1) <= calendar.add(a1, d2)
    assert calendar.add(a1, d1) <= calendar.add(a2, d1)


@SETTINGS
@given(st.data())
def test_adding_in_steps_equals_adding_at_once(data: st.DataObject) -> None:
    calendar = data.draw(calendars())
    start = data.draw(instants(calendar.tz.key))
    d1, d2 = data.draw(durations), data.draw(durations)
    assert calendar.add(calendar.add(start, d1), d2) == calendar.add(start, d1 + d2)


@SETTINGS
@given(st.data())
def test_between_is_additive_and_bounded_by_clock_time(data: st.DataObject) -> None:
    calendar = data.draw(calendars())
    a, b, c = sorted(data.draw(instants(calendar.tz.key)) for _ in range(3))
    assert calendar.between(a, b) + calendar.between(b, c) == calendar.between(a, c)
    assert timedelta(0) <= calendar.between(a, b) <= b - a
    assert calendar.between(b, a) == -calendar.between(a, b)


@SETTINGS
@given(st.data())
def test_elapsed_with_pauses_is_between_minus_paused_business_time(
    data: st.DataObject,
) -> None:
    calendar = data.draw(calendars())
    zone = calendar.tz.key
    start, now = sorted(data.draw(instants(zone)) for _ in range(2))
    cuts = sorted(data.draw(st.lists(instants(zone), min_size=2, max_size=6)))
    pauses = [(low, high) for low, high in zip(cuts[::2], cuts[1::2], strict=False)]
    elapsed = calendar.elapsed(start, now, pauses)
    paused = sum(
        (
            calendar.between(max(low, start), min(high, now))
            for low, high in pauses
            if min(high, now) > max(low, start)
        ),
        timedelta(0),
    )
    assert elapsed == calendar.between(start, now) - paused  # sorted cuts never overlap
    assert timedelta(0) <= elapsed <= calendar.between(start, now)


# --------------------------------------------------------------------------- the oracle


def _first_reach(tz: ZoneInfo, day: date, minute: int) -> datetime:
    """The first minute (UTC) whose wall clock in ``tz`` reads ``day``+``minute`` or later,
    found by stepping through every minute around it."""
    wall = datetime(day.year, day.month, day.day) + minute * MINUTE
    moment = wall.replace(tzinfo=UTC) - timedelta(hours=15)
    while moment.astimezone(tz).replace(tzinfo=None) < wall:
        moment += MINUTE
    return moment


def _oracle_between(
    hours: WeeklyHours, tz: ZoneInfo, holidays: frozenset[date], a: datetime, b: datetime
) -> timedelta:
    total = timedelta(0)
    day = a.astimezone(tz).date() - timedelta(days=1)
    while day <= b.astimezone(tz).date() + timedelta(days=1):
        if day not in holidays:
            for start, end in hours.days[day.weekday()]:
                low = max(_first_reach(tz, day, start), a)
                high = min(_first_reach(tz, day, end), b)
                if high > low:
                    total += high - low
        day += timedelta(days=1)
    return total


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_between_agrees_with_a_minute_by_minute_oracle(data: st.DataObject) -> None:
    calendar = data.draw(calendars())
    a = data.draw(instants(calendar.tz.key, minute_aligned=True))
    b = a + data.draw(st.integers(0, 3 * 24 * 60)) * MINUTE
    expected = _oracle_between(calendar.hours, calendar.tz, calendar.holidays, a, b)  # type: ignore[arg-type]
    assert calendar.between(a, b) == expected
