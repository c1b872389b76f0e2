"""``maild report`` on a small history whose figures were worked out by hand.

The week reported is Monday 16 to Sunday 22 November 2026 in Europe/Berlin (UTC+1 then),
business hours Monday to Friday 09:00-17:00. Targets: high 2 h first response and 16 h
resolution; the defaults for the others (medium 4 h and 72 h, low 8 h and 1 w). All times
below are local.

#1001 high, alice: created Mon 10:00, answered 11:00 (1 h), resolved 15:00 (5 h): both met.
       Rated 5 on Tue.
#1002 high, bob: created Mon 16:00, answered Tue 10:00 (2 h business, 18 h wall: missed),
       resolved Wed 16:00 (1 + 8 + 7 = 16 h business, 48 h wall: missed). Two breaches.
       Rated 2 on Thu.
#1003 low, alice: created Fri 16:30, answered the next Monday (outside the week). Open.
#1004 low, nobody: created Sat 12:00. Open.
#1005 medium, bob: created Thu 12 Nov 10:00, answered then; resolved Mon 16 12:00,
       reopened 14:00, resolved Tue 12:00 (7 + 8 + 8 + 3 = 26 h business, 5 d 2 h wall);
       closed Sun 12:00. Resolution target met.
#1006 high: created Mon 10:30, merged into #1001 at 11:00: created, never resolved.
#1007 high, alice: created Fri 13 Nov, still open.
#1008 created Mon 23 Nov: after the week.

Hand-computed: created 5, resolved 3, closed 1, reopened 1, backlog 3 (#1003, #1004,
#1007). First response: 1 h and 2 h business (median 1 h 30 min, 90th 2 h), 1 h and 18 h
wall (median 9 h 30 min, 90th 18 h). Resolution: 5, 16, 26 h business (median 16 h, 90th
26 h); 5 h, 48 h, 122 h wall (median 2 d, 90th 5 d 2 h). SLA: first response 1 of 2,
resolution 2 of 3, 2 breaches. Satisfaction: 2 ratings, 1 satisfied, average 3.5.
Agents: alice assigned 2 (#1001, #1003), resolved 1, median first response 1 h, 1 of 1
satisfied; bob assigned 1 (#1002), resolved 2 (#1002, #1005), 2 h, 0 of 1.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from maild.config import config_from_mapping
from maild.database import open_engine
from storage.models import Event, Survey, Ticket, TicketStatus
from storage.schema import ensure_current
from tests.cli.conftest import invoke
from tests.conftest import config_data
from tests.support import write_toml

BERLIN = ZoneInfo("Europe/Berlin")
HOUR = 3600.0
WEEKDAYS = {day: "09:00-17:00" for day in ("mon", "tue", "wed", "thu", "fri")}
SLA = {
    "timezone": "Europe/Berlin",
    "business_hours": WEEKDAYS,
    "policies": {
        "high": {"first_response": "2h", "resolution": "16h"},
        "low": {"first_response": "8h"},
    },
}


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in November 2026, Berlin."""
    return datetime(2026, 11, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


def _ticket(number: int, **values: Any) -> Ticket:
    defaults: dict[str, Any] = {
        "number": number,
        "token": f"token{number}abcdefghijklmnop",
        "mailbox": "support@example.com",
        "subject": f"ticket {number}",
        "status": TicketStatus.OPEN,
        "priority": "high",
        "requester": f"customer{number}@example.org",
        "tags": [],
        "sla_paused": [],
        "sla_fired": [],
    }
    defaults.update(values)
    defaults.setdefault("updated_at", defaults["created_at"])
    return Ticket(**defaults)


def seed(session: Session) -> None:
    t1 = _ticket(
        1001,
        created_at=local(16, 10),
        assignee="alice@example.com",
        assigned_at=local(16, 10),
        first_response_at=local(16, 11),
        resolved_at=local(16, 15),
        resolved_assignee="alice@example.com",
        status=TicketStatus.RESOLVED,
        team="support",
    )
    t2 = _ticket(
        1002,
        created_at=local(16, 16),
        assignee="bob@example.com",
        assigned_at=local(16, 16),
        first_response_at=local(17, 10),
        resolved_at=local(18, 16),
        resolved_assignee="bob@example.com",
        status=TicketStatus.RESOLVED,
        team="support",
    )
    t3 = _ticket(
        1003,
        priority="low",
        created_at=local(20, 16, 30),
        assignee="alice@example.com",
        assigned_at=local(20, 16, 30),
        first_response_at=local(23, 9, 30),
    )
    t4 = _ticket(1004, priority="low", created_at=local(21, 12), status=TicketStatus.NEW)
    t5 = _ticket(
        1005,
        priority="medium",
        created_at=local(12, 10),
        assignee="bob@example.com",
        assigned_at=local(12, 10),
        first_response_at=local(12, 12),
        resolved_at=local(17, 12),
        closed_at=local(22, 12),
        resolved_assignee="bob@example.com",
        status=TicketStatus.CLOSED,
        team="billing",
    )
    session.add_all([t1, t2, t3, t4, t5])
    session.flush()
    t6 = _ticket(
        1006,
        created_at=local(16, 10, 30),
        merged_into_id=t1.id,
        resolved_at=local(16, 11),
        closed_at=local(16, 11),
        status=TicketStatus.CLOSED,
    )
    t7 = _ticket(
        1007, created_at=local(13, 10), assignee="alice@example.com", assigned_at=local(13, 10)
    )
    t8 = _ticket(1008, created_at=local(23, 9))
    session.add_all([t6, t7, t8])
    session.flush()

    def event(ticket: Ticket, at: datetime, kind: str, **data: Any) -> Event:
        return Event(ticket_id=ticket.id, at=at, actor="system", kind=kind, data=data)

    session.add_all(
        [
            event(t5, local(16, 12), "status.changed", **{"from": "open", "to": "resolved"}),
            event(t5, local(16, 14), "status.changed", **{"from": "resolved", "to": "open"}),
            event(t5, local(17, 12), "status.changed", **{"from": "open", "to": "resolved"}),
            # Not reopenings: pending is no finished state, and the week is over.
            event(t3, local(20, 17), "status.changed", **{"from": "open", "to": "pending"}),
            event(t1, local(24, 9), "status.changed", **{"from": "resolved", "to": "open"}),
            event(t2, local(16, 17, 30), "sla.warning", target="first_response"),
            event(t2, local(17, 10), "sla.breached", target="first_response"),
            event(t2, local(18, 16), "sla.breached", target="resolution"),
            event(t7, local(10, 10), "sla.breached", target="first_response"),
        ]
    )

    def rating(ticket: Ticket, value: str, at: datetime) -> Survey:
        return Survey(
            ticket_id=ticket.id,
            created_at=at - timedelta(hours=20),
            status="sent",
            scale="1-5",
            rating=value,
            first_rated_at=at,
            rated_at=at,
            rated_via="web",
        )

    session.add_all(
        [
            rating(t1, "5", local(17, 9)),
            rating(t2, "2", local(19, 10)),
            rating(t5, "1", local(23, 8)),  # after the week
        ]
    )
    session.commit()


@pytest.fixture
def history(tmp_path: Path, database_url: str) -> Path:
    data = config_data(tmp_path, database_url, sla=SLA)
    path = tmp_path / "config.toml"
    write_toml(data, path)
    engine = open_engine(config_from_mapping(data))
    try:
        ensure_current(engine)
        with Session(engine) as session:
            seed(session)
    finally:
        engine.dispose()
    return path


def report_json(config: Path, *args: str) -> dict[str, Any]:
    result = invoke(config, "report", "--at", "2026-11-25T10:00", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_the_week_in_figures(history: Path) -> None:
    report = report_json(history, "--period", "week")
    assert report["period"]["since"] == local(16, 0).isoformat()
    assert report["period"]["until"] == local(23, 0).isoformat()
    overall = report["overall"]
    assert {name: overall[name] for name in ("created", "resolved", "closed", "reopened")} == {
        "created": 5,
        "resolved": 3,
        "closed": 1,
        "reopened": 1,
    }
    assert overall["backlog"] == 3
    first = overall["first_response"]
    assert first["business"] == {"count": 2, "median_seconds": 1.5 * HOUR, "p90_seconds": 2 * HOUR}
    assert first["wall"] == {"count": 2, "median_seconds": 9.5 * HOUR, "p90_seconds": 18 * HOUR}
    resolution = overall["resolution"]
    assert resolution["business"] == {
        "count": 3,
        "median_seconds": 16 * HOUR,
        "p90_seconds": 26 * HOUR,
    }
    assert resolution["wall"] == {
        "count": 3,
        "median_seconds": 48 * HOUR,
        "p90_seconds": 122 * HOUR,
    }
    assert overall["sla"] == {
        "first_response": {"met": 1, "total": 2, "share": 0.5},
        "resolution": {"met": 2, "total": 3, "share": 2 / 3},
        "breaches": 2,
    }
    assert overall["satisfaction"] == {
        "responses": 2,
        "satisfied": 1,
        "share_satisfied": 0.5,
        "average": 3.5,
    }


def test_agents_are_credited_as_decided(history: Path) -> None:
    agents = {row["agent"]: row for row in report_json(history, "--period", "week")["agents"]}
    assert set(agents) == {"alice@example.com", "bob@example.com"}
    alice, bob = agents["alice@example.com"], agents["bob@example.com"]
    assert (alice["assigned"], alice["resolved"]) == (2, 1)
    assert alice["first_response_median_business_seconds"] == 1 * HOUR
    assert alice["satisfaction"]["responses"] == 1
    assert alice["satisfaction"]["satisfied"] == 1
    assert (bob["assigned"], bob["resolved"]) == (1, 2)
    assert bob["first_response_median_business_seconds"] == 2 * HOUR
    assert (bob["satisfaction"]["responses"], bob["satisfaction"]["satisfied"]) == (1, 0)


def test_by_agent_splits_every_figure(history: Path) -> None:
    groups = report_json(history, "--period", "week", "--by", "agent")["groups"]
    assert list(groups) == ["alice@example.com", "bob@example.com", "(none)"]
    alice, bob, nobody = groups.values()
    assert (alice["created"], alice["resolved"], alice["backlog"]) == (2, 1, 2)
    assert (bob["created"], bob["resolved"], bob["reopened"]) == (1, 2, 1)
    assert bob["sla"]["breaches"] == 2
    assert (nobody["created"], nobody["backlog"]) == (2, 1)
    assert sum(group["created"] for group in groups.values()) == 5


def test_sla_by_priority_and_days(history: Path) -> None:
    report = report_json(history, "--period", "week")
    assert report["sla_by_priority"] == [
        {
            "priority": "high",
            "first_response": {"met": 1, "total": 2, "share": 0.5},
            "resolution": {"met": 1, "total": 2, "share": 0.5},
        },
        {
            "priority": "medium",
            "first_response": {"met": 0, "total": 0, "share": None},
            "resolution": {"met": 1, "total": 1, "share": 1.0},
        },
    ]
    days = {day["day"]: (day["created"], day["resolved"]) for day in report["days"]}
    assert len(days) == 7
    assert days["2026-11-16"] == (3, 1)  # #1001, #1002, #1006; #1001 resolved
    assert days["2026-11-17"] == (0, 1)  # #1005
    assert days["2026-11-22"] == (0, 0)


def test_a_custom_period_takes_local_dates(history: Path) -> None:
    """Tuesday to Thursday: #1002 answered and resolved, #1005 resolved, nothing created."""
    report = report_json(history, "--since", "2026-11-17", "--until", "2026-11-20")
    overall = report["overall"]
    assert (overall["created"], overall["resolved"], overall["reopened"]) == (0, 2, 0)
    assert overall["first_response"]["business"]["count"] == 1
    assert overall["sla"]["breaches"] == 2


def test_text_and_csv_say_the_same(history: Path) -> None:
    result = invoke(history, "report", "--period", "week", "--at", "2026-11-25T10:00")
    assert result.exit_code == 0, result.output
    lines = {" ".join(line.split()) for line in result.output.splitlines()}
    assert "Report: 2026-11-16 – 2026-11-22 (week, Europe/Berlin)" in lines
    assert "First-response targets met: 50% (1 of 2)" in lines
    assert "Resolution targets met: 67% (2 of 3)" in lines
    assert "Breaches: 2" in lines
    assert "first response business 1 h 30 min 2 h 2" in lines
    assert "resolution business 16 h 26 h 3" in lines
    assert "wall 2 d 5 d 2 h 3" in lines
    assert "alice@example.com 2 1 1 h 100% 1" in lines
    csv = invoke(history, "report", "--period", "week", "--at", "2026-11-25T10:00", "--csv")
    header, row = csv.output.splitlines()[:2]
    assert header.startswith("group,created,resolved,closed,reopened,backlog,")
    assert row.startswith("all,5,3,1,1,3,5400.0,7200.0,")


def test_bad_bounds_are_named(history: Path) -> None:
    result = invoke(history, "report", "--since", "last tuesday")
    assert result.exit_code == 2
    assert "not an ISO date or date-time: 'last tuesday'" in result.output
    both = invoke(history, "report", "--period", "day", "--since", "2026-11-01")
    assert both.exit_code == 2
    assert "not both" in both.output
