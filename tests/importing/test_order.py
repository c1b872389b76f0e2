"""The import order: by Date, file order breaking ties, never a reply before what it answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from maild.importing.order import import_order
from maild.importing.sources import Entry
from parsing.envelope import HeaderFacts

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def entry(
    position: int, minutes: int | None, name: str, *answers: str, received: int | None = None
) -> Entry:
    facts = HeaderFacts(
        date=None if minutes is None else T0 + timedelta(minutes=minutes),
        message_id=f"<{name}@x>",
        parent_ids=tuple(f"<{a}@x>" for a in answers),
        return_path=None,
        from_address="ada@x",
        recipients=(),
    )
    when = None if received is None else T0 + timedelta(minutes=received)
    return Entry(position, 0, 0, Path("archive"), facts, received=when)


def names(entries: list[Entry]) -> list[str]:
    return [e.facts.message_id.strip("<>").removesuffix("@x") for e in entries]  # type: ignore[union-attr]


def test_date_order_with_file_order_breaking_ties() -> None:
    archive = [entry(0, 30, "c"), entry(1, 10, "a"), entry(2, 30, "d"), entry(3, 20, "b")]
    assert names(import_order(archive)) == ["a", "b", "c", "d"]


def test_reply_first_in_the_file_goes_after_its_original() -> None:
    archive = [entry(0, 50, "reply", "original"), entry(1, 10, "original")]
    assert names(import_order(archive)) == ["original", "reply"]


def test_reply_dated_before_its_original_still_goes_after_it() -> None:
    """A sender's clock an hour behind must not make the reply open a ticket of its own."""
    archive = [
        entry(0, 60, "original"),
        entry(1, 5, "reply", "original"),
        entry(2, 30, "other"),
        entry(3, 70, "reply-to-reply", "reply", "original"),
    ]
    assert names(import_order(archive)) == ["other", "original", "reply", "reply-to-reply"]


def test_undated_mail_uses_the_received_time_or_goes_last() -> None:
    archive = [
        entry(0, None, "undated"),
        entry(1, None, "received", received=15),
        entry(2, 10, "a"),
        entry(3, 20, "b"),
    ]
    assert names(import_order(archive)) == ["a", "received", "b", "undated"]


def test_messages_answering_each_other_do_not_stall_the_import() -> None:
    """Broken headers can make a loop; it is cut at its earliest message."""
    archive = [entry(0, 20, "b", "a"), entry(1, 10, "a", "b"), entry(2, 30, "c")]
    order = names(import_order(archive))
    assert sorted(order) == ["a", "b", "c"]
    assert order.index("a") < order.index("b")


def test_unknown_parents_and_repeated_ids_are_harmless() -> None:
    archive = [entry(0, 10, "a", "not-in-archive"), entry(1, 20, "a"), entry(2, 5, "b", "a")]
    assert names(import_order(archive)) == ["a", "b", "a"]
