"""Business-time arithmetic on fixed instants: weekdays, closing time, weekends, holidays,
midnight, both DST changes, wall times the clocks skip or repeat, and pauses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from rules.businesstime import BusinessCalendar, WeeklyHours, parse_day_hours

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
OFFICE = WeeklyHours.parse({day: "09:00-17:00" for day in ("mon", "tue", "wed", "thu", "fri")})
ALL_DAY = WeeklyHours.parse(
    {day: "00:00-24:00" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
)
# A holiday far away keeps a 24-hour calendar on the interval index instead of the 24x7
# shortcut (business time == clock time), so the index is what these tests exercise.
FAR_HOLIDAY = frozenset({date(1999, 1, 1)})
H = timedelta(hours=1)


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)  # type: ignore[misc]


@pytest.fixture
def office() -> BusinessCalendar:
    # 2025-12-24 is an explicit holiday; the 25th and 26th are German public holidays.
    holidays = frozenset({date(2025, 12, 24), date(2025, 12, 25), date(2025, 12, 26)})
    return BusinessCalendar(OFFICE, "Europe/Berlin", holidays)


# --------------------------------------------------------------------------- office hours


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        (berlin(2025, 11, 17, 10), 2 * H, berlin(2025, 11, 17, 12)),  # within a Monday
        (berlin(2025, 11, 17, 16), 2 * H, berlin(2025, 11, 18, 10)),  # past closing
        (berlin(2025, 11, 17, 16), 1 * H, berlin(2025, 11, 17, 17)),  # due at closing time
        (berlin(2025, 11, 17, 7), 1 * H, berlin(2025, 11, 17, 10)),  # before opening
        (berlin(2025, 11, 17, 20), 1 * H, berlin(2025, 11, 18, 10)),  # evening
        (berlin(2025, 11, 21, 16), 2 * H, berlin(2025, 11, 24, 10)),  # over the weekend
        (berlin(2025, 11, 22, 12), 1 * H, berlin(2025, 11, 24, 10)),  # from a Saturday
        (berlin(2025, 11, 17, 9), 40 * H, berlin(2025, 11, 21, 17)),  # a whole week
        (berlin(2025, 11, 17, 9), 40 * H + timedelta(minutes=1), berlin(2025, 11, 24, 9, 1)),
        (berlin(2025, 11, 17, 10), timedelta(0), berlin(2025, 11, 17, 10)),
        (berlin(2025, 11, 22, 10), timedelta(0), berlin(2025, 11, 22, 10)),  # 0 stays put
    ],
)
def test_add_in_office_hours(
    office: BusinessCalendar, start: datetime, duration: timedelta, expected: datetime
) -> None:
    result = office.add(start, duration)
    assert result == expected
    assert result.tzinfo is UTC


def test_holidays_are_skipped(office: BusinessCalendar) -> None:
    # Tue 23 Dec, 16:00 + 2 h: Wed 24 (explicit), Thu 25, Fri 26 (public), the weekend.
    assert office.add(berlin(2025, 12, 23, 16), 2 * H) == berlin(2025, 12, 29, 10)
    assert office.between(berlin(2025, 12, 23, 17), berlin(2025, 12, 29, 9)) == timedelta(0)
    assert not office.is_open(berlin(2025, 12, 24, 10))
    assert office.next_open(berlin(2025, 12, 24, 10)) == berlin(2025, 12, 29, 9)


def test_between_counts_only_business_time(office: BusinessCalendar) -> None:
    assert office.between(berlin(2025, 11, 21, 16), berlin(2025, 11, 24, 10)) == 2 * H
    assert office.between(berlin(2025, 11, 22, 0), berlin(2025, 11, 23, 23)) == timedelta(0)
    assert office.between(berlin(2025, 11, 17, 0), berlin(2025, 11, 24, 0)) == 40 * H
    assert office.between(berlin(2025, 11, 24, 10), berlin(2025, 11, 21, 16)) == -2 * H


def test_is_open_and_next_open(office: BusinessCalendar) -> None:
    assert office.is_open(berlin(2025, 11, 17, 9))  # opening instant
    assert not office.is_open(berlin(2025, 11, 17, 17))  # closing instant
    assert office.next_open(berlin(2025, 11, 17, 12)) == berlin(2025, 11, 17, 12)
    assert office.next_open(berlin(2025, 11, 21, 17)) == berlin(2025, 11, 24, 9)


def test_minutes_and_seconds_are_exact(office: BusinessCalendar) -> None:
    start = datetime(2025, 11, 17, 16, 59, 30, 250, tzinfo=BERLIN)
    assert office.add(start, timedelta(minutes=1)) == datetime(
        2025, 11, 18, 9, 0, 30, 250, tzinfo=BERLIN
    )


def test_other_zones_are_converted() -> None:
    calendar = BusinessCalendar(OFFICE, "Europe/Berlin")
    start = datetime(2025, 11, 17, 15, 0, tzinfo=UTC)  # 16:00 in Berlin
    assert calendar.add(start, 2 * H) == datetime(2025, 11, 18, 9, 0, tzinfo=UTC)
    tokyo = datetime(2025, 11, 18, 0, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # Mon 16:00 Berlin
    assert calendar.add(tokyo, 2 * H) == datetime(2025, 11, 18, 9, 0, tzinfo=UTC)


def test_naive_datetimes_are_refused(office: BusinessCalendar) -> None:
    with pytest.raises(ValueError, match="naive"):
        office.add(datetime(2025, 11, 17, 10), H)
    with pytest.raises(ValueError, match="naive"):
        office.between(berlin(2025, 11, 17, 10), datetime(2025, 11, 18))


def test_negative_durations_are_refused(office: BusinessCalendar) -> None:
    with pytest.raises(ValueError, match="negative"):
        office.add(berlin(2025, 11, 17, 10), -H)


def test_a_calendar_that_is_never_open_is_refused() -> None:
    with pytest.raises(ValueError, match="closed every day"):
        BusinessCalendar(WeeklyHours.from_spans({}), "UTC")


# --------------------------------------------------------------------------- midnight


def test_twenty_four_hours_run_through_midnight() -> None:
    calendar = BusinessCalendar(ALL_DAY, "Europe/Berlin", FAR_HOLIDAY)
    assert not calendar.continuous
    assert calendar.add(berlin(2025, 11, 17, 23, 30), H) == berlin(2025, 11, 18, 0, 30)
    assert calendar.between(berlin(2025, 11, 17, 12), berlin(2025, 11, 20, 12)) == 72 * H


def test_a_night_shift_runs_past_midnight() -> None:
    night = BusinessCalendar(WeeklyHours.parse({"fri": "22:00-06:00"}), "Europe/Berlin")
    assert night.add(berlin(2025, 11, 21, 23), 2 * H) == berlin(2025, 11, 22, 1)
    assert night.add(berlin(2025, 11, 22, 5), 2 * H) == berlin(2025, 11, 28, 23)
    assert night.between(berlin(2025, 11, 21, 0), berlin(2025, 11, 23, 0)) == 8 * H


def test_a_holiday_at_midnight_stops_a_twenty_four_hour_desk() -> None:
    calendar = BusinessCalendar(ALL_DAY, "Europe/Berlin", frozenset({date(2025, 12, 25)}))
    assert calendar.add(berlin(2025, 12, 24, 23), 2 * H) == berlin(2025, 12, 26, 1)
    assert calendar.between(berlin(2025, 12, 24), berlin(2025, 12, 27)) == 48 * H


# --------------------------------------------------------------------------- DST


def test_spring_forward_day_has_23_hours() -> None:
    # Europe/Berlin, Sunday 2025-03-30: 02:00 CET becomes 03:00 CEST.
    calendar = BusinessCalendar(ALL_DAY, "Europe/Berlin", FAR_HOLIDAY)
    assert calendar.between(berlin(2025, 3, 30), berlin(2025, 3, 31)) == 23 * H
    assert calendar.add(berlin(2025, 3, 30, 1), H) == berlin(2025, 3, 30, 3)
    assert calendar.add(berlin(2025, 3, 29, 12), 24 * H) == berlin(2025, 3, 30, 13)


def test_fall_back_day_has_25_hours() -> None:
    # Europe/Berlin, Sunday 2025-10-26: 03:00 CEST becomes 02:00 CET.
    calendar = BusinessCalendar(ALL_DAY, "Europe/Berlin", FAR_HOLIDAY)
    assert calendar.between(berlin(2025, 10, 26), berlin(2025, 10, 27)) == 25 * H
    first_two = datetime(2025, 10, 26, 0, 0, tzinfo=UTC)  # 02:00 CEST, the first time
    second_two = datetime(2025, 10, 26, 1, 0, tzinfo=UTC)  # 02:00 CET, the second time
    assert calendar.add(first_two, H) == second_two
    assert calendar.add(berlin(2025, 10, 25, 12), 24 * H) == berlin(2025, 10, 26, 11)


def test_office_week_across_spring_forward() -> None:
    calendar = BusinessCalendar(OFFICE, "Europe/Berlin")
    friday = berlin(2025, 3, 28, 16)  # 15:00 UTC
    monday = calendar.add(friday, 2 * H)
    assert monday == berlin(2025, 3, 31, 10)
    assert monday == datetime(2025, 3, 31, 8, tzinfo=UTC)  # CEST now
    assert calendar.between(friday, monday) == 2 * H


def test_office_week_across_fall_back() -> None:
    calendar = BusinessCalendar(OFFICE, "Europe/Berlin")
    friday = berlin(2025, 10, 24, 16)  # 14:00 UTC
    monday = calendar.add(friday, 2 * H)
    assert monday == berlin(2025, 10, 27, 10)
    assert monday == datetime(2025, 10, 27, 9, tzinfo=UTC)  # CET now
    assert calendar.between(friday, monday) == 2 * H


def test_new_york_changes_on_other_dates() -> None:
    # America/New_York springs forward on 2025-03-09; Berlin three weeks later.
    calendar = BusinessCalendar(ALL_DAY, NEW_YORK, FAR_HOLIDAY)
    day = datetime(2025, 3, 9, tzinfo=NEW_YORK)
    assert calendar.between(day, day + timedelta(days=1)) == 23 * H
    fall = datetime(2025, 11, 2, tzinfo=NEW_YORK)
    assert calendar.between(fall, fall + timedelta(days=1)) == 25 * H


def test_span_opening_inside_the_skipped_hour_opens_at_the_jump() -> None:
    # 02:30 does not exist on 2025-03-30 in Berlin: the desk opens when the clocks jump.
    calendar = BusinessCalendar(WeeklyHours.parse({"sun": "02:30-05:00"}), BERLIN)
    saturday = berlin(2025, 3, 29)
    assert calendar.next_open(saturday) == datetime(2025, 3, 30, 1, 0, tzinfo=UTC)
    assert calendar.between(saturday, berlin(2025, 3, 31)) == 2 * H


def test_span_opening_inside_the_repeated_hour_opens_the_first_time() -> None:
    # 02:30 happens twice on 2025-10-26 in Berlin: the desk opens at the first one and
    # stays open until 04:00 CET, two and a half hours later.
    calendar = BusinessCalendar(WeeklyHours.parse({"sun": "02:30-04:00"}), BERLIN)
    saturday = berlin(2025, 10, 25)
    assert calendar.next_open(saturday) == datetime(2025, 10, 26, 0, 30, tzinfo=UTC)
    assert calendar.between(saturday, berlin(2025, 10, 27)) == 2 * H + 30 * timedelta(minutes=1)


def test_a_zone_that_skips_midnight() -> None:
    # America/Santiago jumps from 2024-09-07 24:00 to 2024-09-08 01:00: that day starts
    # at the jump and has 23 hours.
    santiago = ZoneInfo("America/Santiago")
    calendar = BusinessCalendar(ALL_DAY, santiago, FAR_HOLIDAY)
    day = datetime(2024, 9, 8, 1, tzinfo=santiago)
    assert calendar.between(datetime(2024, 9, 7, 12, tzinfo=santiago), day) == 12 * H
    sunday_only = BusinessCalendar(WeeklyHours.parse({"sun": "00:00-24:00"}), santiago)
    assert (
        sunday_only.between(
            datetime(2024, 9, 6, tzinfo=santiago), datetime(2024, 9, 10, tzinfo=santiago)
        )
        == 23 * H
    )


def test_a_zone_that_skipped_a_whole_day() -> None:
    # Samoa skipped Friday 2011-12-30 entirely.
    apia = ZoneInfo("Pacific/Apia")
    calendar = BusinessCalendar(WeeklyHours.parse({"fri": "09:00-17:00"}), apia)
    thursday = datetime(2011, 12, 29, 12, tzinfo=apia)
    assert calendar.add(thursday, H) == datetime(2012, 1, 6, 10, tzinfo=apia)


def test_continuous_calendar_is_clock_time() -> None:
    calendar = BusinessCalendar.always("Europe/Berlin")
    assert calendar.continuous
    assert calendar.between(berlin(2025, 3, 30), berlin(2025, 3, 31)) == 23 * H
    assert calendar.add(berlin(2025, 10, 26), 24 * H) == berlin(2025, 10, 26, 23)


# --------------------------------------------------------------------------- pauses


def test_elapsed_leaves_out_pauses(office: BusinessCalendar) -> None:
    start = berlin(2025, 11, 17, 9)
    now = berlin(2025, 11, 18, 17)  # 16 business hours later
    paused = [(berlin(2025, 11, 17, 12), berlin(2025, 11, 17, 14))]
    assert office.elapsed(start, now, paused) == 14 * H


def test_elapsed_with_overlapping_open_and_early_pauses(office: BusinessCalendar) -> None:
    start = berlin(2025, 11, 17, 9)
    now = berlin(2025, 11, 18, 17)
    paused = [
        (berlin(2025, 11, 14, 12), berlin(2025, 11, 17, 10)),  # began before the ticket
        (berlin(2025, 11, 17, 12), berlin(2025, 11, 17, 14)),
        (berlin(2025, 11, 17, 13), berlin(2025, 11, 17, 15)),  # overlaps the one before
        (berlin(2025, 11, 18, 16), None),  # still waiting on the customer
    ]
    # 16 h minus 1 h (09-10), 3 h (12-15) and 1 h (16-17).
    assert office.elapsed(start, now, paused) == 11 * H


def test_elapsed_before_start_is_zero(office: BusinessCalendar) -> None:
    assert office.elapsed(berlin(2025, 11, 17, 12), berlin(2025, 11, 17, 10)) == timedelta(0)


# --------------------------------------------------------------------------- far ranges


def test_index_grows_in_both_directions(office: BusinessCalendar) -> None:
    assert office.add(berlin(2025, 11, 17, 9), 8 * H * 1000) > berlin(2029, 1, 1)
    assert office.add(berlin(1990, 11, 19, 16), 2 * H) == berlin(1990, 11, 20, 10)
    # Readings taken before and after growing stay comparable.
    assert office.between(berlin(1990, 11, 19, 9), berlin(2030, 11, 18, 9)) == office.between(
        berlin(1990, 11, 19, 9), berlin(2010, 11, 19, 9)
    ) + office.between(berlin(2010, 11, 19, 9), berlin(2030, 11, 18, 9))


def test_adding_years_of_business_time() -> None:
    calendar = BusinessCalendar(ALL_DAY, "UTC", frozenset({date(2030, 6, 1)}))
    start = datetime(2025, 1, 1, tzinfo=UTC)
    # Ten years of 24-hour days, one of them a holiday.
    assert calendar.add(start, timedelta(days=3650)) == start + timedelta(days=3651)


# --------------------------------------------------------------------------- hours


def test_parse_day_hours() -> None:
    assert parse_day_hours("09:00-17:00") == (((540, 1020),), ())
    assert parse_day_hours("8:00-12:00, 13:00-17:30") == (((480, 720), (780, 1050)), ())
    assert parse_day_hours("22:00-06:00") == (((1320, 1440),), ((0, 360),))
    assert parse_day_hours("00:00-24:00") == (((0, 1440),), ())
    assert parse_day_hours("24x7") == (((0, 1440),), ())
    assert parse_day_hours("closed") == ((), ())


@pytest.mark.parametrize("text", ["9-5", "09:00", "09:00-25:00", "09:60-10:00", "10:00-10:00"])
def test_parse_day_hours_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_day_hours(text)


def test_weekly_hours_parse_and_describe() -> None:
    hours = WeeklyHours.parse({"Monday": "09:00-12:00", "mon": "11:00-17:00", "sun": "22:00-02:00"})
    assert hours.days[0] == ((0, 120), (540, 1020))  # Sunday night spills into Monday
    assert hours.days[6] == ((1320, 1440),)
    assert hours.describe() == "mon 00:00-02:00, 09:00-17:00; sun 22:00-24:00"
    assert WeeklyHours.parse("24x7").is_always
    with pytest.raises(ValueError, match="unknown weekday"):
        WeeklyHours.parse({"funday": "09:00-17:00"})


def test_weekly_hours_is_open_reads_the_wall_clock() -> None:
    hours = WeeklyHours.parse({"mon": "09:00-17:00"})
    assert hours.is_open(datetime(2025, 11, 17, 8, 30, tzinfo=UTC), BERLIN)  # 09:30 Berlin
    assert not hours.is_open(datetime(2025, 11, 17, 16, 0, tzinfo=UTC), BERLIN)  # 17:00
