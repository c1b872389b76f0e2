"""Outlook conversation headers: topics without prefixes or tags, Thread-Index layout."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest

from outbound.threadindex import continue_thread_index, thread_index, thread_topic

CREATED = datetime(2026, 3, 2, 9, 0, 30, tzinfo=UTC)
FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)


def decode(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


def header_time(index: bytes) -> datetime:
    ticks = int.from_bytes(index[1:6], "big") << 24
    return FILETIME_EPOCH + timedelta(microseconds=ticks // 10)


def child_delta(block: bytes) -> timedelta:
    value = int.from_bytes(block, "big")
    code, time_bits = value >> 39, (value >> 8) & 0x7FFF_FFFF
    ticks = time_bits << (23 if code else 18)
    return timedelta(microseconds=ticks // 10)


@pytest.mark.parametrize(
    ("subject", "topic"),
    [
        ("Printer on fire", "Printer on fire"),
        ("[ACME #1234] Printer on fire", "Printer on fire"),
        ("Re: [ACME #1234] Printer on fire", "Printer on fire"),
        ("RE: AW: Fwd: [ACME #1234] Printer on fire", "Printer on fire"),
        ("Re: [ACME #1234] WG: SV: VS: Printer", "Printer"),
        ("Antw: TR: RIF: Fw: Printer", "Printer"),
        ("Re[2]: AW(3): re : Printer", "Printer"),
        ("Printer [Helpdesk Team #42] on   fire", "Printer on fire"),
        ("Printer\r\n on\tfire\x00", "Printer on fire"),
        ("Theater: tickets", "Theater: tickets"),
        ("Preview: Re: draft", "Preview: Re: draft"),
        ("Re: [no tag] here", "[no tag] here"),
        ("Re: [ACME #1]", ""),
        ("AW: Drucker — 打印机坏了", "Drucker — 打印机坏了"),
    ],
)
def test_thread_topic_drops_prefixes_and_ticket_tag(subject: str, topic: str) -> None:
    assert thread_topic(subject) == topic


def test_thread_index_header_alone_is_22_bytes_with_reserved_byte() -> None:
    index = decode(thread_index("token-a", CREATED))
    assert len(index) == 22
    assert index[0] == 0x01


def test_thread_index_with_sent_at_adds_one_child_block() -> None:
    header_only = decode(thread_index("token-a", CREATED))
    index = decode(thread_index("token-a", CREATED, CREATED + timedelta(hours=3)))
    assert len(index) == 27
    assert index[:22] == header_only


def test_same_seed_shares_the_guid_and_another_seed_does_not() -> None:
    first = decode(thread_index("token-a", CREATED))
    later = decode(thread_index("token-a", CREATED, CREATED + timedelta(days=2)))
    other = decode(thread_index("token-b", CREATED))
    assert first[6:22] == later[6:22]
    assert first[6:22] != other[6:22]


def test_guid_is_a_well_formed_version_8_uuid() -> None:
    guid = decode(thread_index("token-a", CREATED))[6:22]
    assert guid[6] >> 4 == 8
    assert guid[8] >> 6 == 0b10


def test_header_filetime_round_trips_to_the_start_minute() -> None:
    decoded = header_time(decode(thread_index("token-a", CREATED)))
    # Only the high 40 bits are kept: the value is at most 2**24 * 100 ns (1.68 s) early.
    assert timedelta(0) <= CREATED - decoded < timedelta(seconds=1.7)
    assert decoded.replace(second=0, microsecond=0) == CREATED.replace(second=0)


def test_start_in_another_zone_gives_the_same_header() -> None:
    local = CREATED.astimezone(timezone(timedelta(hours=-5)))
    assert thread_index("token-a", local) == thread_index("token-a", CREATED)


@pytest.mark.parametrize(
    "elapsed", [timedelta(0), timedelta(minutes=5), timedelta(days=30), timedelta(days=800)]
)
def test_child_block_encodes_the_time_since_the_start(elapsed: timedelta) -> None:
    index = decode(thread_index("token-a", CREATED, CREATED + elapsed))
    decoded = header_time(index) + child_delta(index[22:])
    # The coarse code (beyond 1.78 years) loses 2**23 * 100 ns (0.84 s) of precision.
    assert timedelta(seconds=-1) < decoded - (CREATED + elapsed) <= timedelta(0)
    assert index[22] >> 7 == (1 if elapsed > timedelta(days=650) else 0)


def test_thread_index_is_deterministic() -> None:
    sent = CREATED + timedelta(minutes=7)
    assert thread_index("token-a", CREATED, sent) == thread_index("token-a", CREATED, sent)


def test_sent_before_start_counts_as_no_time() -> None:
    index = decode(thread_index("token-a", CREATED, CREATED - timedelta(hours=1)))
    assert child_delta(index[22:]) == timedelta(0)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        thread_index("token-a", datetime(2026, 3, 2, 9, 0))
    with pytest.raises(ValueError, match="naive"):
        thread_index("token-a", CREATED, datetime(2026, 3, 2, 10, 0))


def test_time_before_1601_is_refused() -> None:
    with pytest.raises(ValueError, match="1601"):
        thread_index("token-a", datetime(1500, 1, 1, tzinfo=UTC))


def test_continuing_a_customers_index_keeps_their_conversation() -> None:
    theirs = thread_index("outlook-user-conversation", CREATED)
    answered = CREATED + timedelta(hours=2)
    ours = decode(continue_thread_index(theirs, answered) or "")
    parent = decode(theirs)
    assert ours[:22] == parent  # the same header: the same conversation GUID and start
    assert len(ours) == 27
    assert abs(child_delta(ours[22:]) - timedelta(hours=2)) < timedelta(seconds=1)
    # and one level deeper for an answer to that
    deeper = decode(continue_thread_index(base64.b64encode(ours).decode(), answered) or "")
    assert deeper[:27] == ours and len(deeper) == 32


@pytest.mark.parametrize(
    "value",
    [
        "",
        "not base64!",
        base64.b64encode(b"\x01" * 21).decode(),
        base64.b64encode(b"\x01" * 25).decode(),
    ],
    ids=["empty", "garbage", "too short", "not a whole level"],
)
def test_a_malformed_parent_index_is_not_continued(value: str) -> None:
    assert continue_thread_index(value, CREATED) is None
