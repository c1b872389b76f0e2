"""The order ``maild import`` stores messages in, so that every reply finds its ticket.

``Date`` order, with the position in the archive as the tie-break (and for mail without a
date, the mbox ``From`` line or the file time). A date can lie (a wrong clock, a time zone
typed by hand), so on top of it a message never goes before a message of the same archive
that it answers (In-Reply-To, References): the order is a topological one, earliest first.
Pure: no I/O.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from datetime import UTC, datetime

from maild.importing.sources import Entry

_UNDATED = datetime.max.replace(tzinfo=UTC)


def _key(entry: Entry) -> tuple[datetime, int]:
    return (entry.sort_date or _UNDATED, entry.position)


def import_order(entries: Sequence[Entry]) -> list[Entry]:
    by_id: dict[str, int] = {}
    for index in sorted(range(len(entries)), key=lambda i: _key(entries[i])):
        message_id = entries[index].facts.message_id
        if message_id and message_id not in by_id:  # the earliest copy stands for the id
            by_id[message_id] = index
    waiting_for = [0] * len(entries)
    answers: list[list[int]] = [[] for _ in entries]
    for index, entry in enumerate(entries):
        parents = {by_id[p] for p in entry.facts.parent_ids if p in by_id} - {index}
        waiting_for[index] = len(parents)
        for parent in parents:
            answers[parent].append(index)

    ready = [(_key(entries[i]), i) for i, count in enumerate(waiting_for) if count == 0]
    heapq.heapify(ready)
    placed = [False] * len(entries)
    order: list[Entry] = []
    remaining = sorted(range(len(entries)), key=lambda i: _key(entries[i]), reverse=True)
    while len(order) < len(entries):
        if not ready:
            # A loop of messages answering each other (broken headers): take the earliest.
            while placed[remaining[-1]]:
                remaining.pop()
            index = remaining[-1]
            heapq.heappush(ready, (_key(entries[index]), index))
        _, index = heapq.heappop(ready)
        if placed[index]:
            continue
        placed[index] = True
        order.append(entries[index])
        for child in answers[index]:
            waiting_for[child] -= 1
            if waiting_for[child] == 0 and not placed[child]:
                heapq.heappush(ready, (_key(entries[child]), child))
    return order
