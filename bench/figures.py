"""Small pure helpers of the benchmark report: ratios, threads kept whole, a process's memory,
the rate of an import part by part.

No maild import and no I/O beyond reading ``/proc``, so the tests run them on plain values.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Protocol


class ThreadedMail(Protocol):
    """What the report needs of a corpus mail (``CorpusMail`` and ``MailFacts`` have it)."""

    @property
    def index(self) -> int: ...

    @property
    def thread(self) -> int: ...

    @property
    def parent_index(self) -> int | None: ...

    @property
    def message_id(self) -> str: ...


def ratio(value: float | None, reference: float | None) -> float | None:
    """``value / reference`` rounded to 2 places; None when either is missing or zero."""
    if value is None or reference is None or reference <= 0:
        return None
    return round(value / reference, 2)


def meets(value: float | None, target: float) -> bool | None:
    """Whether a ratio reaches its target; None when there is no ratio to judge."""
    if value is None:
        return None
    return value >= target


def whole_threads(
    mails: Iterable[ThreadedMail], ticket_of: Mapping[int, int | None]
) -> tuple[int, int]:
    """``(kept, own_reply_threads)`` over the threads of ``mails``.

    An own-reply thread is a thread with more than one mail: in the corpus every reply is the
    customer answering their own earlier mail of the thread. It is kept whole when every one
    of its mails is stored and all of them are on one ticket. ``ticket_of`` maps a corpus
    index to its ticket id (missing or None: not stored).
    """
    tickets: dict[int, set[int | None]] = defaultdict(set)
    sizes: dict[int, int] = defaultdict(int)
    for mail in mails:
        tickets[mail.thread].add(ticket_of.get(mail.index))
        sizes[mail.thread] += 1
    own = [thread for thread, size in sizes.items() if size > 1]
    kept = sum(1 for thread in own if len(tickets[thread]) == 1 and None not in tickets[thread])
    return kept, len(own)


def parse_proc_status(text: str) -> dict[str, int]:
    """The ``kB`` fields of a ``/proc/PID/status`` text, in KiB (``{"VmRSS": 94208, …}``)."""
    fields: dict[str, int] = {}
    for line in text.splitlines():
        name, sep, rest = line.partition(":")
        parts = rest.split()
        if sep and len(parts) == 2 and parts[1] == "kB" and parts[0].isdigit():
            fields[name.strip()] = int(parts[0])
    return fields


def process_memory(pid: int, proc: Path = Path("/proc")) -> dict[str, float] | None:
    """Resident memory of a live process in MiB: ``rss`` now and ``peak`` (VmHWM, the high
    water mark since it started); None when the process is gone or ``/proc`` is not there."""
    try:
        text = (proc / str(pid) / "status").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = parse_proc_status(text)
    if "VmRSS" not in fields or "VmHWM" not in fields:
        return None
    return {
        "rss_mib": round(fields["VmRSS"] / 1024, 1),
        "peak_mib": round(fields["VmHWM"] / 1024, 1),
    }


Sample = tuple[float, int]  # (seconds on a monotonic clock, messages stored so far)


def reached(samples: Sequence[Sample], count: int) -> float | None:
    """When the stored count reached ``count``, interpolated between two samples; for 0, the
    last sample before anything was stored. None when the samples never get there."""
    if count <= 0:
        before = [moment for moment, stored in samples if stored <= 0]
        return before[-1] if before else None
    previous: Sample | None = None
    for moment, stored in samples:
        if stored >= count:
            if previous is None or stored == previous[1]:
                return moment
            start, start_count = previous
            return start + (moment - start) * (count - start_count) / (stored - start_count)
        previous = (moment, stored)
    return None


def rates_by_part(samples: Sequence[Sample], total: int, parts: int = 10) -> list[float | None]:
    """Messages per second over each ``1/parts`` of ``total``, in the order they were stored:
    a cost that grows with history shows as rates that fall from part to part."""
    bounds = [round(total * n / parts) for n in range(parts + 1)]
    rates: list[float | None] = []
    for low, high in itertools.pairwise(bounds):
        start, end = reached(samples, low), reached(samples, high)
        if start is None or end is None or end <= start:
            rates.append(None)
        else:
            rates.append(round((high - low) / (end - start), 1))
    return rates
