"""SLA state: deadlines in business time, pauses, on track / at risk / breached / met, each
warning and breach due once, and the sweep's fast path agreeing with the full answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.businesstime import to_us
from rules.config import SlaConfig
from rules.model import TicketView
from rules.sla import (
    Kind,
    SlaState,
    SlaTargets,
    Target,
    due_events,
    sla_status,
)

BERLIN = ZoneInfo("Europe/Berlin")
H = timedelta(hours=1)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
OFFICE_SLA = SlaConfig.model_validate(
    {
        "timezone": "Europe/Berlin",
        "business_hours": {day: "09:00-17:00" for day in WEEKDAYS},
        "holidays": ["2025-12-24"],
    }
)
OFFICE = OFFICE_SLA.calendar
POLICY = OFFICE_SLA.policy()
FRIDAY_4PM = datetime(2025, 11, 21, 16, tzinfo=BERLIN)


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)  # type: ignore[misc]


def ticket(**changes: object) -> TicketView:
    fields: dict[str, object] = {"priority": "high", "created_at": FRIDAY_4PM}
    fields.update(changes)
    return TicketView(**fields)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- policy


def test_default_targets_are_the_seeds_table() -> None:
    policy = SlaConfig().policy()
    assert policy.targets_for("urgent", None, False) == SlaTargets(H, 4 * H)
    assert policy.targets_for("high", None, False) == SlaTargets(2 * H, 24 * H)
    assert policy.targets_for("medium", None, False) == SlaTargets(4 * H, 72 * H)
    assert policy.targets_for("low", None, False) == SlaTargets(8 * H, timedelta(weeks=1))
    assert policy.warn_at == 0.75


def test_vip_beats_category_beats_priority() -> None:
    config = SlaConfig.model_validate(
        {
            "policies": {"high": {"first_response": "90m"}},
            "categories": {"Billing": {"high": {"first_response": "45m"}}},
            "vip": {"high": {"first_response": "30m", "resolution": "8h"}},
        }
    )
    policy = config.policy()
    assert policy.targets_for("high", None, False) == SlaTargets(90 * timedelta(minutes=1), 24 * H)
    assert policy.targets_for("high", "billing", False).first_response == 45 * timedelta(minutes=1)
    assert policy.targets_for("high", "BILLING", False).resolution == 24 * H
    assert policy.targets_for("high", "billing", True) == SlaTargets(
        30 * timedelta(minutes=1), 8 * H
    )
    assert policy.targets_for("high", "other", True) == SlaTargets(30 * timedelta(minutes=1), 8 * H)
    assert policy.targets_for("low", "billing", False) == SlaTargets(8 * H, timedelta(weeks=1))


def test_a_priority_without_targets_has_no_sla() -> None:
    policy = SlaConfig().policy(["critical", "urgent", "high", "medium", "low"])
    status = sla_status(ticket(priority="critical"), policy, OFFICE, FRIDAY_4PM + 100 * H)
    assert status.targets == ()
    assert status.state is SlaState.ON_TRACK
    assert status.due == ()
    assert due_events(ticket(priority="critical"), policy, OFFICE, FRIDAY_4PM + 100 * H) == []


# --------------------------------------------------------------------------- deadlines


def test_deadlines_in_office_hours() -> None:
    status = sla_status(ticket(), POLICY, OFFICE, FRIDAY_4PM)
    first, resolution = status.targets
    assert first.target is Target.FIRST_RESPONSE
    assert first.deadline == berlin(2025, 11, 24, 10)  # 1 h Friday + 1 h Monday
    assert first.warn_at == berlin(2025, 11, 24, 9, 30)  # 75 % of 2 h
    # 24 business hours: Fri 1 h, Mon 8 h, Tue 8 h, Wed 7 h.
    assert resolution.deadline == berlin(2025, 11, 26, 16)
    assert resolution.warn_at == berlin(2025, 11, 26, 10)  # 18 h
    assert status.state is SlaState.ON_TRACK
    assert status.next_check_at == berlin(2025, 11, 24, 9, 30)
    assert first.deadline is not None and first.deadline.tzinfo is UTC


@pytest.mark.parametrize(
    ("now", "state", "elapsed"),
    [
        (berlin(2025, 11, 21, 16, 30), SlaState.ON_TRACK, 30),
        (berlin(2025, 11, 23, 12), SlaState.ON_TRACK, 60),  # the weekend does not count
        (berlin(2025, 11, 24, 9, 29), SlaState.ON_TRACK, 89),
        (berlin(2025, 11, 24, 9, 30), SlaState.AT_RISK, 90),
        (berlin(2025, 11, 24, 9, 59), SlaState.AT_RISK, 119),
        (berlin(2025, 11, 24, 10), SlaState.BREACHED, 120),  # breached at the deadline
        (berlin(2025, 11, 24, 12), SlaState.BREACHED, 240),
    ],
)
def test_first_response_state_over_time(now: datetime, state: SlaState, elapsed: int) -> None:
    first = sla_status(ticket(), POLICY, OFFICE, now).targets[0]
    assert first.state is state
    assert first.elapsed == elapsed * timedelta(minutes=1)
    assert first.remaining == (120 - elapsed) * timedelta(minutes=1)


def test_a_response_before_the_deadline_meets_the_target() -> None:
    view = ticket(first_response_at=berlin(2025, 11, 24, 9, 45))
    status = sla_status(view, POLICY, OFFICE, berlin(2025, 11, 25, 12))
    first, resolution = status.targets
    assert first.state is SlaState.MET
    assert first.elapsed == 105 * timedelta(minutes=1)
    assert first.met_at == view.first_response_at
    assert resolution.state is SlaState.ON_TRACK  # 13 of 24 h
    assert status.state is SlaState.ON_TRACK


def test_a_late_response_leaves_the_target_breached() -> None:
    view = ticket(first_response_at=berlin(2025, 11, 24, 10, 5))
    first = sla_status(view, POLICY, OFFICE, berlin(2025, 11, 24, 11)).targets[0]
    assert first.state is SlaState.BREACHED
    assert first.remaining == -5 * timedelta(minutes=1)


def test_all_targets_met() -> None:
    view = ticket(
        first_response_at=berlin(2025, 11, 24, 9, 10),
        resolved_at=berlin(2025, 11, 24, 15),
    )
    status = sla_status(view, POLICY, OFFICE, berlin(2025, 12, 1))
    assert status.state is SlaState.MET
    assert status.due == ()
    assert status.next_check_at is None


def test_twenty_four_by_seven_across_spring_forward() -> None:
    config = SlaConfig.model_validate({"timezone": "Europe/Berlin"})
    view = ticket(priority="urgent", created_at=berlin(2025, 3, 30, 1, 30))
    resolution = sla_status(view, config.policy(), config.calendar, berlin(2025, 3, 30, 2)).targets[
        1
    ]
    assert resolution.deadline == berlin(2025, 3, 30, 6, 30)  # 4 real hours: 01:30 CET → 06:30 CEST


# --------------------------------------------------------------------------- pauses


def test_a_closed_pause_moves_the_deadline() -> None:
    # Pending Monday 09:15 to Tuesday 11:00: 9 h 45 min of business time stood still.
    view = ticket(paused=((berlin(2025, 11, 24, 9, 15), berlin(2025, 11, 25, 11)),))
    status = sla_status(view, POLICY, OFFICE, berlin(2025, 11, 25, 11, 30))
    first = status.targets[0]
    assert first.deadline == berlin(2025, 11, 25, 11, 45)
    assert first.warn_at == berlin(2025, 11, 25, 11, 15)
    assert first.elapsed == 105 * timedelta(minutes=1)
    assert first.state is SlaState.AT_RISK
    assert status.paused_for == 9 * H + 45 * timedelta(minutes=1)
    assert not status.paused


def test_an_open_pause_freezes_the_clock() -> None:
    view = ticket(paused=((berlin(2025, 11, 24, 9, 15), None),))
    status = sla_status(view, POLICY, OFFICE, berlin(2025, 11, 28, 12))
    first = status.targets[0]
    assert status.paused
    assert first.elapsed == 75 * timedelta(minutes=1)
    assert first.deadline is None and first.warn_at is None
    assert first.state is SlaState.ON_TRACK
    assert status.due == ()
    assert status.next_check_at is None
    assert due_events(view, POLICY, OFFICE, berlin(2025, 11, 28, 12)) == []


def test_a_pause_after_the_warning_keeps_the_warning_but_not_the_breach() -> None:
    view = ticket(paused=((berlin(2025, 11, 24, 9, 40), None),))
    status = sla_status(view, POLICY, OFFICE, berlin(2025, 11, 26, 12))
    first = status.targets[0]
    assert first.warn_at == berlin(2025, 11, 24, 9, 30)
    assert first.deadline is None
    assert first.state is SlaState.AT_RISK
    assert [due.key for due in status.due] == [("first_response", "warning")]


def test_a_pause_after_the_breach_does_not_undo_it() -> None:
    view = ticket(paused=((berlin(2025, 11, 24, 11), None),))
    first = sla_status(view, POLICY, OFFICE, berlin(2025, 11, 26)).targets[0]
    assert first.deadline == berlin(2025, 11, 24, 10)
    assert first.state is SlaState.BREACHED


def test_overlapping_and_early_pauses_count_once() -> None:
    view = ticket(
        paused=(
            (berlin(2025, 11, 20, 12), berlin(2025, 11, 21, 16, 30)),  # began before creation
            (berlin(2025, 11, 24, 9, 0), berlin(2025, 11, 24, 10)),
            (berlin(2025, 11, 24, 9, 30), berlin(2025, 11, 24, 11)),
        )
    )
    first = sla_status(view, POLICY, OFFICE, berlin(2025, 11, 24, 12)).targets[0]
    # Runs Fri 16:30-17:00 and Mon 11:00-12:00.
    assert first.elapsed == 90 * timedelta(minutes=1)
    assert first.deadline == berlin(2025, 11, 24, 12, 30)


# --------------------------------------------------------------------------- firing


def test_warnings_and_breaches_fire_once() -> None:
    view = ticket()
    at_risk = berlin(2025, 11, 24, 9, 31)
    due = sla_status(view, POLICY, OFFICE, at_risk).due
    assert [(d.target, d.kind, d.at) for d in due] == [
        (Target.FIRST_RESPONSE, Kind.WARNING, berlin(2025, 11, 24, 9, 30))
    ]
    assert due[0].event == "sla.warning"
    fired = {due[0].key}
    assert sla_status(view, POLICY, OFFICE, at_risk, fired).due == ()
    breached = sla_status(view, POLICY, OFFICE, berlin(2025, 11, 24, 10), fired)
    assert [d.key for d in breached.due] == [("first_response", "breach")]
    assert breached.due[0].event == "sla.breached"
    assert breached.next_check_at == berlin(2025, 11, 26, 10)  # the resolution warning


def test_a_late_sweep_fires_warning_and_breach_together() -> None:
    due = sla_status(ticket(), POLICY, OFFICE, berlin(2025, 11, 27, 12)).due
    assert [d.key for d in due] == [
        ("first_response", "warning"),
        ("first_response", "breach"),
        ("resolution", "warning"),
        ("resolution", "breach"),
    ]
    assert [d.at for d in due] == [
        berlin(2025, 11, 24, 9, 30),
        berlin(2025, 11, 24, 10),
        berlin(2025, 11, 26, 10),
        berlin(2025, 11, 26, 16),
    ]


def test_nothing_fires_for_a_met_target() -> None:
    view = ticket(first_response_at=berlin(2025, 11, 24, 9, 45))
    due = due_events(view, POLICY, OFFICE, berlin(2025, 11, 24, 10, 30))
    assert [d.key for d in due] == []
    late = due_events(view, POLICY, OFFICE, berlin(2025, 11, 26, 10))
    assert [d.key for d in late] == [("resolution", "warning")]


def test_warn_at_zero_turns_warnings_off() -> None:
    config = SlaConfig.model_validate({"warn_at": 0})
    view = ticket(created_at=datetime(2025, 11, 21, 16, tzinfo=UTC))
    due = due_events(view, config.policy(), config.calendar, datetime(2025, 11, 21, 19, tzinfo=UTC))
    assert [d.key for d in due] == [("first_response", "breach")]
    status = sla_status(
        view, config.policy(), config.calendar, datetime(2025, 11, 21, 17, 45, tzinfo=UTC)
    )
    assert status.targets[0].state is SlaState.ON_TRACK
    assert status.targets[0].warn_at is None


def test_created_at_is_required() -> None:
    with pytest.raises(ValueError, match="created_at"):
        sla_status(ticket(created_at=None), POLICY, OFFICE, FRIDAY_4PM)


class Row(NamedTuple):
    """What a sweep's SELECT returns: no TicketView needed."""

    priority: str
    category: str | None
    vip: bool
    created_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    paused: tuple[tuple[datetime, datetime | None], ...]


def test_a_database_row_is_enough() -> None:
    row = Row("high", None, False, FRIDAY_4PM, None, None, ())
    now = berlin(2025, 11, 24, 9, 31)
    reading = OFFICE.clock(to_us(now))
    assert [d.key for d in due_events(row, POLICY, OFFICE, now, now_reading=reading)] == [
        ("first_response", "warning")
    ]


# --------------------------------------------------------------------------- agreement


moments = st.integers(0, 14 * 24 * 60).map(lambda m: FRIDAY_4PM + m * timedelta(minutes=1))
fired_keys = st.frozensets(
    st.sampled_from([(target.value, kind.value) for target in Target for kind in Kind])
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    priority=st.sampled_from(["urgent", "high", "medium", "low"]),
    vip=st.booleans(),
    responded=st.none() | moments,
    resolved=st.none() | moments,
    cuts=st.lists(moments, max_size=5),
    open_pause=st.booleans(),
    now=moments,
    fired=fired_keys,
)
def test_the_fast_path_agrees_with_the_full_status(
    priority: str,
    vip: bool,
    responded: datetime | None,
    resolved: datetime | None,
    cuts: list[datetime],
    open_pause: bool,
    now: datetime,
    fired: frozenset[tuple[str, str]],
) -> None:
    cuts.sort()
    paused: list[tuple[datetime, datetime | None]] = list(zip(cuts[::2], cuts[1::2], strict=False))
    if open_pause and len(cuts) % 2:
        paused.append((cuts[-1], None))
    view = ticket(
        priority=priority,
        vip=vip,
        first_response_at=responded,
        resolved_at=resolved,
        paused=tuple(paused),
    )
    status = sla_status(view, POLICY, OFFICE, now, fired)
    assert list(status.due) == due_events(view, POLICY, OFFICE, now, fired)
    for target in status.targets:
        assert target.elapsed >= timedelta(0)
        if target.deadline is not None:
            assert (target.state is SlaState.BREACHED) == (
                (target.met_at or now) >= target.deadline
            )
    if status.next_check_at is not None:
        assert status.next_check_at > now
        later = sla_status(view, POLICY, OFFICE, status.next_check_at, fired)
        assert later.due  # something is due exactly then


def test_resolving_without_a_response_ends_the_first_response_clock() -> None:
    on_time = ticket(resolved_at=berlin(2025, 11, 24, 9, 20))
    status = sla_status(on_time, POLICY, OFFICE, berlin(2025, 11, 28))
    assert [t.state for t in status.targets] == [SlaState.MET, SlaState.MET]
    assert due_events(on_time, POLICY, OFFICE, berlin(2025, 11, 28)) == []
    late = ticket(resolved_at=berlin(2025, 11, 24, 11))
    assert sla_status(late, POLICY, OFFICE, berlin(2025, 11, 28)).targets[0].state is (
        SlaState.BREACHED
    )
