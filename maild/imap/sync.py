"""The bookkeeping of one folder's UIDs: pure functions, no I/O, tested without a server.

What is new is decided by UID, never by ``\\Seen`` (people and other clients change flags).
The stored position is the folder's UIDVALIDITY and ``last_uid``: every message up to it has
been committed. UIDs only mean something together with their UIDVALIDITY; when the server
reports another one, the folder is read again from the start, and deduplication keeps what
was stored before from being stored twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from storage.imap_state import FolderPosition

# At most this many messages, and about this many bytes, per FETCH and per group handed to
# the writer: big enough for group commit to pay, small enough to keep memory bounded.
FETCH_MESSAGES = 50
FETCH_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Start:
    """Where a check of the folder begins."""

    last_uid: int  # every UID up to this one is stored
    reset: bool  # the stored position was for another UIDVALIDITY


def start_from(stored: FolderPosition | None, uidvalidity: int) -> Start:
    if stored is None:
        return Start(0, reset=False)
    if stored.uidvalidity != uidvalidity:
        return Start(0, reset=True)
    return Start(stored.last_uid, reset=False)


def advance(last_uid: int, batch: Sequence[int], done: Iterable[int]) -> int:
    """The new ``last_uid`` after ``batch`` (ascending): it moves over the UIDs that are
    done and stops before the first one that is not, so that one is fetched again."""
    finished = set(done)
    for uid in sorted(batch):
        if uid <= last_uid:
            continue
        if uid not in finished:
            break
        last_uid = uid
    return last_uid


def batches(
    uids: Sequence[int],
    sizes: Mapping[int, int],
    *,
    max_messages: int = FETCH_MESSAGES,
    max_bytes: int = FETCH_BYTES,
) -> Iterator[list[int]]:
    """``uids`` in order, cut into groups of bounded count and size (a message bigger than
    ``max_bytes`` is a group of its own)."""
    group: list[int] = []
    total = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        if group and (len(group) >= max_messages or total + size > max_bytes):
            yield group
            group, total = [], 0
        group.append(uid)
        total += size
    if group:
        yield group
